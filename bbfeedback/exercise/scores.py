"""Scores of a repetition as frozen records, and the flags a repetition can carry.

The records are what the engine works with; ``to_dict`` gives the JSON users see (results,
the ``bbfeedback:rep`` annotation, reports), with the keys in the documented order and the
flags as their strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

RELAX_LIMIT_PCT = 10.0  # rest residual above this (% MVC) is incomplete relaxation


class Flag(StrEnum):
    """Why a repetition needs a look; the value is the string in the JSON."""

    NO_CONTRACTION = "no_contraction"
    LATE_ONSET = "late_onset"
    SHORT_HOLD = "short_hold"
    INCOMPLETE_RELAXATION = "incomplete_relaxation"
    SLOW_RELEASE = "slow_release"
    CO_CONTRACTION = "co_contraction"
    SIGNAL_GAP = "signal_gap"
    SATURATION = "saturation"
    TOO_STRONG = "too_strong"

    @property
    def description(self) -> str:
        return FLAG_DESCRIPTIONS[self]


FLAG_DESCRIPTIONS = {
    Flag.NO_CONTRACTION: "no contraction reached the detector threshold during the work phase",
    Flag.LATE_ONSET: "75 % of the work average reached more than 2 s after the cue",
    Flag.SHORT_HOLD: "held inside the target band for less than the target time "
                     "(minus tolerance)",
    Flag.INCOMPLETE_RELAXATION: f"mean rest level > {RELAX_LIMIT_PCT:g} % MVC above baseline",
    Flag.SLOW_RELEASE: "37.5 % of the work average reached more than 2 s after the relax cue",
    Flag.CO_CONTRACTION: "accessory (abdominal) channel active during the work phase",
    Flag.SIGNAL_GAP: "samples were lost during this repetition",
    Flag.SATURATION: "the raw signal was clipped (flat at the extreme) during this repetition",
    Flag.TOO_STRONG: "a gentle exercise was done too strongly",
}


@dataclass(frozen=True)
class LiftScore:
    """The lift's extra scores: three steady floors, each above the one before; quick let-go."""

    floors_pct_mvc: tuple[float | None, ...]  # None: a floor never reached
    floors_cv_pct: tuple[float | None, ...]
    floors_distinct: bool
    release_quick: bool

    def to_dict(self) -> dict:
        return {"floors_pct_mvc": list(self.floors_pct_mvc),
                "floors_cv_pct": list(self.floors_cv_pct),
                "floors_distinct": self.floors_distinct, "release_quick": self.release_quick}


@dataclass(frozen=True)
class RepScore:
    """One scored repetition (times on the recording clock, levels in ``unit``)."""

    index: int
    cue_s: float
    onset_s: float | None
    offset_s: float | None
    target_hold_s: float
    hold_s: float
    step_holds_s: tuple[float, ...]
    met: bool
    rise_s: float | None
    release_s: float | None
    peak: float
    peak_pct_mvc: float | None
    mean: float
    mean_pct_mvc: float | None
    rest_residual_pct: float | None
    unit: str
    flags: tuple[Flag, ...]
    section: str
    posture: str | None
    lift: LiftScore | None = None

    def has(self, flag: Flag) -> bool:
        return flag in self.flags

    def to_dict(self) -> dict:
        out = {
            "index": self.index, "cue_s": self.cue_s, "onset_s": self.onset_s,
            "offset_s": self.offset_s, "target_hold_s": self.target_hold_s,
            "hold_s": self.hold_s, "step_holds_s": list(self.step_holds_s), "met": self.met,
            "rise_s": self.rise_s, "release_s": self.release_s, "peak": self.peak,
            "peak_pct_mvc": self.peak_pct_mvc, "mean": self.mean,
            "mean_pct_mvc": self.mean_pct_mvc, "rest_residual_pct": self.rest_residual_pct,
            "unit": self.unit, "flags": [f.value for f in self.flags],
            "section": self.section, "posture": self.posture,
        }
        if self.lift is not None:
            out.update(self.lift.to_dict())
        return out
