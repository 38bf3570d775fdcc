"""A scored session as one typed value: what ran, its calibrations, its repetitions, its
summary, the samples lost and the artefacts marked.

The run loop hands this to every sink (the recorder, the window, the LSL outlet), and re-scoring
and reports read it; ``to_dict`` is the JSON users see (``analyze`` output, the
``bbfeedback:*`` annotations), in its documented shape, and ``from_dict`` reads that JSON
back, so the JSON is only made at the edge.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bbfeedback.detect.calibration import Calibration
from bbfeedback.exercise.scores import RepScore
from bbfeedback.exercise.signal_quality import Gap, Mark, MarkKind


@dataclass(frozen=True)
class RunInfo:
    """The protocol a session ran and how it met the recording."""

    id: str
    name: Mapping[str, str]  # by language
    source: str | None
    origin_s: float
    main_channel: str
    accessory_channel: str | None
    # set when a recording is re-scored (``app.rescoring``): how its repetitions met the
    # recording (by cue annotations, or by the patient's own contractions) and where it began
    alignment: str | None = None
    start_s: float | None = None

    def to_dict(self) -> dict:
        out = {"id": self.id, "name": dict(self.name), "source": self.source,
               "origin_s": round(self.origin_s, 4), "main_channel": self.main_channel,
               "accessory_channel": self.accessory_channel}
        if self.alignment is not None:
            out["alignment"] = self.alignment
        if self.start_s is not None:
            out["start_s"] = round(self.start_s, 4)
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunInfo:
        start = d.get("start_s")
        name = d.get("name")
        names = dict(name) if isinstance(name, Mapping) else dict.fromkeys(("nl", "en"),
                                                                          str(name or d["id"]))
        return cls(str(d["id"]), names, d.get("source"),
                   float(d.get("origin_s", 0.0)), str(d.get("main_channel", "")),
                   d.get("accessory_channel"), d.get("alignment"),
                   None if start is None else float(start))


@dataclass(frozen=True)
class ResultMark:
    """An artefact span of one channel, by the channel's name (``Mark`` holds its column)."""

    kind: MarkKind
    channel: str
    start_s: float
    end_s: float

    @classmethod
    def of(cls, mark: Mark, names: list[str]) -> ResultMark:
        return cls(mark.kind, names[mark.channel], mark.start_s, mark.end_s)

    def to_dict(self) -> dict:
        return {"kind": self.kind.value, "channel": self.channel,
                "start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ResultMark:
        return cls(MarkKind(d["kind"]), str(d["channel"]), float(d["start_s"]),
                   float(d["end_s"]))


@dataclass(frozen=True)
class SessionResult:
    """Everything a session scored. ``summary`` keeps the JSON shape of
    ``exercise.summary.summarise`` (its parts depend on the protocol's kinds)."""

    protocol: RunInfo
    calibrations: Mapping[str, Calibration]
    reps: tuple[RepScore, ...]
    summary: Mapping[str, Any]
    gaps: tuple[Gap, ...] = ()
    marks: tuple[ResultMark, ...] = field(default=())

    @property
    def calibration(self) -> Calibration | None:
        """The scored (main) channel's calibration."""
        return self.calibrations.get(self.protocol.main_channel)

    def text(self, lang: str) -> str:
        """The therapist's summary sentences in ``lang``."""
        return str(self.summary.get(f"text_{lang}") or "")

    def to_dict(self) -> dict:
        return {
            "protocol": self.protocol.to_dict(),
            "calibration": {k: v.to_dict() for k, v in self.calibrations.items()},
            "reps": [r.to_dict() for r in self.reps],
            "summary": dict(self.summary),
            "gaps": [{"t_s": round(g.t_s, 4), "lost_samples": g.lost_samples}
                     for g in self.gaps],
            "marks": [m.to_dict() for m in self.marks],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SessionResult:
        """From ``to_dict`` output (an ``analyze`` document holds one). ValueError when it is
        not one."""
        try:
            return cls(RunInfo.from_dict(d["protocol"]),
                       {k: Calibration.from_dict(v) for k, v in d["calibration"].items()},
                       tuple(RepScore.from_dict(r) for r in d["reps"]), dict(d["summary"]),
                       tuple(Gap(float(g["t_s"]), int(g["lost_samples"]))
                             for g in d.get("gaps") or ()),
                       tuple(ResultMark.from_dict(m) for m in d.get("marks") or ()))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a session result: {exc}") from None
