"""Target levels and bands of work phases in the scored channel's unit, and the template the
patient follows (drawn ahead of the trace)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from bbfeedback.detect.calibration import Calibration
from bbfeedback.detect.contractions import DetectorConfig, thresholds
from bbfeedback.exercise import matching
from bbfeedback.exercise.protocols import WORK, Phase
from bbfeedback.exercise.scoring import QUICK_HOLD_S

NO_BAND = (float("inf"), float("inf"))  # no calibration yet: nothing is inside


@dataclass(frozen=True)
class TemplateBox:
    """One step of what the patient follows, on the recording clock; a work step has its
    band and target in the channel's unit (``band`` None: not a work step)."""

    start_s: float
    end_s: float
    kind: str  # the phase's kind (``protocols.WORK``, rest, ...)
    cue_nl: str
    cue_en: str
    rep: int | None
    band: tuple[float, float] | None = None  # NO_BAND before a calibration
    target: float | None = None
    target_pct: float | None = None  # the protocol's % MVC (the lift's floor boxes)
    band_pct: tuple[float, float] | None = None
    box_end_s: float | None = None  # a quick squeeze's box reaches over a normal reaction

    @property
    def drawn_band(self) -> tuple[float, float] | None:
        """The band to draw: a work step's, once it is known (finite)."""
        if self.band is None or not math.isfinite(self.band[0]):
            return None
        return self.band

    @property
    def drawn_end_s(self) -> float:
        return self.end_s if self.box_end_s is None else self.box_end_s


class Targets:
    """Phase targets of one channel, from its calibration once there is one.

    ``calibrations`` is the session's dict (name -> Calibration), filled in by the calibrator:
    the targets follow it as it is filled."""

    def __init__(self, calibrations: dict[str, Calibration], channel: str, kind: str = "emg",
                 detector: DetectorConfig | None = None):
        self.calibrations = calibrations
        self.channel = channel
        self.kind = kind
        self.detector = detector or DetectorConfig()

    def band(self, phase: Phase) -> tuple[float, float]:
        """Target band of a work phase in the channel's physical unit."""
        cal = self.calibrations.get(self.channel)
        if phase.band_abs is not None:
            return phase.band_abs
        if cal is None or phase.band_pct_mvc is None:
            return NO_BAND
        if cal.mvc is None:  # calibrated without MVC ("none"): a contraction is on target
            return thresholds(cal, self.detector, self.kind)[0], float("inf")
        return cal.level(phase.band_pct_mvc[0]), cal.level(phase.band_pct_mvc[1])

    def level(self, phase: Phase) -> float | None:
        """Target level of a work phase in the channel's physical unit, if it has one."""
        cal = self.calibrations.get(self.channel)
        if phase.target_abs is not None:
            return phase.target_abs
        if phase.target_pct_mvc is None or cal is None or cal.mvc is None:
            return None
        return cal.level(phase.target_pct_mvc)

    def template(self, clock, a_s: float, b_s: float) -> list[TemplateBox]:
        """What the patient should follow between two times: the steps of ``clock`` (a
        ``ProtocolClock``) as they ran or are planned, work steps with their band and target
        (a skipped step, or an optional one not asked for yet, takes no time: not drawn)."""
        out, t = [], clock.origin_s
        for i, s in enumerate(clock.steps):
            start = clock.starts.get(i, t)
            end = clock.step_end(i) if i in clock.starts else None
            end = start + clock.planned_s(i) if end is None else end
            t = end
            if end < a_s or (end <= start and i in clock.optional):
                continue
            if start > b_s:
                break
            ph = s.phase
            if ph.kind == WORK:
                out.append(TemplateBox(start, end, ph.kind, ph.cue_nl, ph.cue_en, s.rep,
                                       self.band(ph), self.level(ph), ph.target_pct_mvc,
                                       ph.band_pct_mvc, end + _reaction_tail(clock.steps, i)))
            else:
                out.append(TemplateBox(start, end, ph.kind, ph.cue_nl, ph.cue_en, s.rep))
        return out


def _reaction_tail(steps, i: int) -> float:
    """How far the drawn target box reaches past a quick work step's end: over a normal
    reaction (``matching.LATE_S``) and the squeeze begun at its end (its hold, at least
    0.5 s, with its ramps), so a patient who reacts in a normal time sees her whole squeeze
    inside its box; never into the next cue's early window; 0 for a hold (its box is its
    work phase)."""
    ph = steps[i].phase
    if not 0 < ph.hold_s <= QUICK_HOLD_S or ph.until_fail:
        return 0.0
    nxt = steps[i + 1].phase if i + 1 < len(steps) else None
    rest_after = nxt.duration_s if nxt is not None and nxt.kind != WORK else None
    # a normal reaction (``LATE_S``), not the whole matching window (which tiles the rest)
    end = max(matching.LATE_S, ph.duration_s) + max(ph.hold_s, SQUEEZE_S) + RAMPS_S
    if rest_after is not None:
        end = min(end, ph.duration_s + rest_after - min(matching.EARLY_S, rest_after / 2))
    return max(0.0, end - ph.duration_s)


SQUEEZE_S = 0.5  # a quick squeeze lasts at least this in the box (at its top) ...
RAMPS_S = 0.3  # ... plus its rise and fall
