"""Scores of a repetition as frozen records, and the flags a repetition can carry.

The records are what the engine works with; ``to_dict`` gives the JSON users see (results,
the ``bbfeedback:rep`` annotation, reports), with the keys in the documented order and the
flags as their strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bbfeedback import texts

RELAX_LIMIT_PCT = 10.0  # rest residual above this (% MVC) is incomplete relaxation


class Flag(StrEnum):
    """Why a repetition needs a look; the value is the string in the JSON."""

    NO_CONTRACTION = "no_contraction"
    LATE_ONSET = "late_onset"
    EARLY_ONSET = "early_onset"
    SHORT_HOLD = "short_hold"
    INCOMPLETE_RELAXATION = "incomplete_relaxation"
    SLOW_RELEASE = "slow_release"
    CO_CONTRACTION = "co_contraction"
    SIGNAL_GAP = "signal_gap"
    SATURATION = "saturation"
    TOO_STRONG = "too_strong"
    TOO_WEAK = "too_weak"
    STOPPED = "stopped"
    TENSE_REST = "tense_rest"
    STRAINING = "straining"
    # the signal-quality stage (``signal_quality``): a repetition on an artefact is not judged,
    # never met or missed, and carries its cause
    NOT_JUDGED = "not_judged"
    LEAD_OFF = "lead_off"
    SPIKES = "spikes"
    BURST = "burst"
    MAINS = "mains"
    MOTION = "motion"
    POSSIBLE_STRAINING = "possible_straining"
    # a cough phase (``knack``): the pelvic floor came on only after the cough's abdominal or
    # pressure rise (the Knack, Miller 1998)
    KNACK_LATE = "knack_late"

    @property
    def description(self) -> str:
        """Why a repetition has this flag, in English (``bbfeedback.texts.FLAGS`` has its
        Dutch and English name and why: a new flag needs its row there)."""
        return texts.flag_why(self.value, "en")


@dataclass(frozen=True)
class LiftScore:
    """The lift's extra scores: three steady floors, each above the one before; quick let-go."""

    floors_pct_mvc: tuple[float | None, ...]  # None: a floor never reached
    floors_cv_pct: tuple[float | None, ...]
    floors_distinct: bool
    release_quick: bool
    # from her own contraction (``exercise/lift.py``): each floor's plateau (start, end) on the
    # recording clock, None for a floor not found; None for the whole: not known (scored by
    # the protocol's windows)
    floors_s: tuple[tuple[float, float] | None, ...] | None = None
    # last moment at 90 % of the top floor -> back at 10 % MVC (s); None: not seen. Not
    # ``release_s``: the rep's own release_s (relax cue -> 37.5 % of the work average) is
    # another measure, and to_dict merges both into the rep's dict
    let_go_s: float | None = None

    def to_dict(self) -> dict:
        out = {"floors_pct_mvc": list(self.floors_pct_mvc),
               "floors_cv_pct": list(self.floors_cv_pct),
               "floors_distinct": self.floors_distinct, "release_quick": self.release_quick}
        if self.floors_s is not None:  # as before for a lift scored without them
            out["floors_s"] = [None if f is None else list(f) for f in self.floors_s]
            out["let_go_s"] = self.let_go_s
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LiftScore | None:
        """The lift's part of a repetition's dict; None when it has none."""
        if "floors_pct_mvc" not in d:
            return None
        floors_s = d.get("floors_s")
        return cls(tuple(_opt(x) for x in d["floors_pct_mvc"]),
                   tuple(_opt(x) for x in d.get("floors_cv_pct") or ()),
                   bool(d.get("floors_distinct")), bool(d.get("release_quick")),
                   None if floors_s is None else tuple(
                       None if f is None else (float(f[0]), float(f[1])) for f in floors_s),
                   _opt(d.get("let_go_s")))


@dataclass(frozen=True)
class RepScore:
    """One scored repetition (times on the recording clock, levels in ``unit``)."""

    index: int
    cue_s: float
    onset_s: float | None
    offset_s: float | None
    target_hold_s: float
    hold_s: float | None  # None: not judged (an artefact): no measure is shown or counted
    step_holds_s: tuple[float, ...]
    met: bool
    rise_s: float | None
    release_s: float | None
    peak: float | None
    peak_pct_mvc: float | None
    mean: float | None
    mean_pct_mvc: float | None
    rest_residual_pct: float | None
    rest_level: float | None  # median of the rest after it (without its first second), in unit
    rest_ratio: float | None  # rest_level / the pre-session rest (EMG only)
    unit: str
    flags: tuple[Flag, ...]
    section: str
    posture: str | None
    lift: LiftScore | None = None

    def has(self, flag: Flag) -> bool:
        return flag in self.flags

    @property
    def counted(self) -> bool:
        """Judged and counted: not cut off by Stop, not on an artefact."""
        return not (self.has(Flag.STOPPED) or self.has(Flag.NOT_JUDGED))

    def to_dict(self) -> dict:
        out = {
            "index": self.index, "cue_s": self.cue_s, "onset_s": self.onset_s,
            "offset_s": self.offset_s, "target_hold_s": self.target_hold_s,
            "hold_s": self.hold_s, "step_holds_s": list(self.step_holds_s), "met": self.met,
            "rise_s": self.rise_s, "release_s": self.release_s, "peak": self.peak,
            "peak_pct_mvc": self.peak_pct_mvc, "mean": self.mean,
            "mean_pct_mvc": self.mean_pct_mvc, "rest_residual_pct": self.rest_residual_pct,
            "rest_level": self.rest_level, "rest_ratio": self.rest_ratio, "unit": self.unit,
            "flags": [f.value for f in self.flags],
            "section": self.section, "posture": self.posture,
        }
        if self.lift is not None:
            out.update(self.lift.to_dict())
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RepScore:
        """From ``to_dict`` output (a results file, a history row, an annotation); fields a
        file of an older version lacks read as not measured. ValueError when it is not one."""
        try:
            return cls(
                int(d["index"]), float(d.get("cue_s") or 0.0), _opt(d.get("onset_s")),
                _opt(d.get("offset_s")), float(d.get("target_hold_s") or 0.0),
                _opt(d.get("hold_s")), tuple(_opt(x) for x in d.get("step_holds_s") or ()),
                bool(d["met"]), _opt(d.get("rise_s")), _opt(d.get("release_s")),
                _opt(d.get("peak")), _opt(d.get("peak_pct_mvc")), _opt(d.get("mean")),
                _opt(d.get("mean_pct_mvc")), _opt(d.get("rest_residual_pct")),
                _opt(d.get("rest_level")), _opt(d.get("rest_ratio")), str(d.get("unit") or "uV"),
                tuple(Flag(f) for f in d.get("flags") or ()), str(d.get("section") or ""),
                d.get("posture"), LiftScore.from_dict(d))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a repetition score: {exc}") from None


def _opt(x: Any) -> float | None:
    return None if x is None else float(x)
