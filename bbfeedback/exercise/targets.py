"""Target levels and bands of work phases in the scored channel's unit, and the template the
patient follows (drawn ahead of the trace)."""

from __future__ import annotations

from bbfeedback.detect.calibration import Calibration
from bbfeedback.detect.contractions import DetectorConfig, thresholds
from bbfeedback.exercise import matching
from bbfeedback.exercise.protocols import WORK, Phase
from bbfeedback.exercise.scoring import QUICK_HOLD_S

NO_BAND = (float("inf"), float("inf"))  # no calibration yet: nothing is inside


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

    def template(self, clock, a_s: float, b_s: float) -> list[dict]:
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
            item = {"start_s": start, "end_s": end, "kind": s.phase.kind, "cue_nl":
                    s.phase.cue_nl, "cue_en": s.phase.cue_en, "rep": s.rep}
            if s.phase.kind == WORK:
                item["band"] = self.band(s.phase)
                item["target"] = self.level(s.phase)
                item["target_pct"] = s.phase.target_pct_mvc  # (the building's box)
                item["band_pct"] = s.phase.band_pct_mvc
                item["box_end_s"] = end + _reaction_tail(clock.steps, i)
            out.append(item)
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
