"""The built-in calibration before a protocol, in the protocol's mode (``calibration``).

- ``max``: 10 s rest for the baseline, then three maximal squeezes; MVC = the best 0.5 s
  plateau of the squeezes.
- ``gentle`` (leaflet B: "rustig uit en bouw langzaam op"; b1, b2 after a total rupture): the
  rest, then three comfortable squeezes at about half strength ("Rustig aanspannen, ongeveer
  half") and no maximal one. MVC is *estimated*: the patient's half squeeze is taken as 50 %
  MVC (``GENTLE_FRACTION``), so MVC = rest + (best plateau - rest) / 0.5. The estimate is marked
  (``source = "session-gentle"``); it is as good as the patient's idea of "half", which is why
  no maximal target should lean on it.
- ``none``: the rest only; no MVC (``source = "session-rest"``). Scores are in µV, every
  % MVC is None; a work phase's % MVC band becomes "above the channel's contraction *on*
  level" (``targets``).
- ``previous`` (a therapist's choice, not a protocol's): the rest only, and the MVC of the
  patient's previous session (``source = "session-previous"``; µV compare only within one
  device and electrode placement).

A session without a calibration for every channel puts these steps before the protocol and,
when the protocol's first step begins, calibrates each channel from them: baseline = mean and
SD of the rest (without its first 2 s). The rest cue follows the session's posture (a seated
patient is not told to lie).
The accessory (abdominal) channel is judged on its own rest only: its "MVC" here is its level
during pelvic-floor squeezes, not an abdominal maximum, and no rule reads it (``scoring``).
"""

from __future__ import annotations

import numpy as np

from bbfeedback.detect.calibration import Calibration, baseline_from_rest, plateau_max
from bbfeedback.exercise.clock import ProtocolClock
from bbfeedback.exercise.protocols import (
    BASELINE,
    CALIBRATION_MODES,
    CUES,
    REST,
    WORK,
    Phase,
    Step,
)
from bbfeedback.exercise.trace_store import TraceStore
from bbfeedback.signal.blocks import Channel

CALIBRATION = "calibration"  # the scoring kind of the calibration steps
REST_SECTION, MVC_SECTION = "calibration-rest", "calibration-mvc"
CALIBRATION_REST_S = 10.0
CALIBRATION_SQUEEZES = 3
SETTLE_S = 2.0  # the first seconds of the calibration rest are not part of the baseline


MODES = (*CALIBRATION_MODES, "previous")  # "previous": the MVC of the patient's last session
GENTLE_FRACTION = 0.5  # a comfortable "half" squeeze, taken as this fraction of MVC
SOURCES = {"max": "session", "gentle": "session-gentle", "none": "session-rest",
           "previous": "session-previous"}
NO_MVC_SOURCES = ("session-rest", "session-previous")  # may have no MVC, as scored live
# the session's posture (``record --posture``) or a protocol section's (b1 sits) -> its words
SEATED = ("sitting", "upright", "rounded back", "hollow back")


def rest_cue(posture: str | None) -> str:
    """The calibration rest's cue name for a posture: lying, sitting, standing or neutral."""
    if posture in SEATED:
        return "baseline_sitting"
    if posture in ("lying", "standing"):
        return f"baseline_{posture}"
    return "baseline"


def calibration_steps(mode: str = "max", posture: str | None = None) -> list[Step]:
    """The rest for the baseline, then (``max``) three maximal or (``gentle``) three
    comfortable squeezes; ``none`` and ``previous``: the rest only (not scored)."""
    if mode not in MODES:
        raise ValueError(f"calibration must be one of {', '.join(MODES)} (got {mode!r})")
    rest = rest_cue(posture)
    words = {k: (CUES[k]["nl"], CUES[k]["en"])
             for k in (rest, "squeeze_max", "squeeze_gentle", "relax")}
    steps = [Step(0, 0.0, Phase(BASELINE, rest, *words[rest], CALIBRATION_REST_S),
                  REST_SECTION, CALIBRATION, None)]
    if mode not in ("max", "gentle"):
        return steps
    cue, pct = ("squeeze_max", 100.0) if mode == "max" else ("squeeze_gentle", 50.0)
    for _ in range(CALIBRATION_SQUEEZES):
        steps.append(Step(0, 0.0, Phase(WORK, cue, *words[cue], 3.0, 3.0,
                                        0.0, pct, (0.6 * pct, 3 * pct)),
                          MVC_SECTION, CALIBRATION, None))
        steps.append(Step(0, 0.0, Phase(REST, "relax", *words["relax"], 5.0),
                          MVC_SECTION, CALIBRATION, None))
    return steps


class Calibrator:
    """The calibrations of a session's channels: given, or made from the calibration steps.

    ``calibrations`` (channel name -> Calibration) is the one dict the session, its targets
    and its results read; it is filled in place."""

    def __init__(self, channels: tuple[Channel, ...],
                 calibrations: dict[str, Calibration] | None = None, mode: str = "max",
                 previous: dict[str, Calibration] | None = None, posture: str | None = None):
        if mode not in MODES:
            raise ValueError(f"calibration must be one of {', '.join(MODES)} (got {mode!r})")
        if mode == "previous" and not previous:
            raise ValueError("calibration 'previous' needs the previous session's calibration")
        self.channels = channels
        self.calibrations: dict[str, Calibration] = dict(calibrations or {})
        self.mode, self.previous, self.posture = mode, dict(previous or {}), posture

    def calibrated(self) -> bool:
        return all(c.name in self.calibrations for c in self.channels)

    def steps_before(self, protocol_steps: list[Step]) -> list[Step]:
        """The protocol's steps, with the calibration steps first when they are needed."""
        if self.calibrated():
            return protocol_steps
        return calibration_steps(self.mode, self.posture) + protocol_steps

    def calibrate(self, clock: ProtocolClock, store: TraceStore,
                  first_protocol_step: int) -> None:
        """Baseline from the calibration rest; MVC as the mode says (see the module)."""
        rest = next(s.index for s in clock.steps if s.section == REST_SECTION)
        squeezes = [s.index for s in clock.steps if s.section == MVC_SECTION]
        for c, ch in enumerate(self.channels):
            tr = store.trace(c)
            seg, _ = tr.window(clock.starts[rest] + SETTLE_S, clock.step_end(rest))
            mean, sd = baseline_from_rest(seg if seg.size else np.zeros(1))
            self.calibrations[ch.name] = Calibration(mean, sd, self._mvc(
                ch, mean, tr, clock, squeezes, first_protocol_step), ch.unit, SOURCES[self.mode])

    def _mvc(self, ch: Channel, mean: float, tr, clock: ProtocolClock, squeezes: list[int],
             first_protocol_step: int) -> float | None:
        if self.mode == "none":
            return None
        if self.mode == "previous":
            before = self.previous.get(ch.name)
            mvc = None if before is None else before.mvc
            return mvc if mvc is not None and mvc > mean else None
        sq, _ = tr.window(clock.starts[squeezes[0]], clock.starts[first_protocol_step])
        if not sq.size:
            return None
        best = plateau_max(sq, tr.rate_hz)
        return best if self.mode == "max" else mean + max(best - mean, 0.0) / GENTLE_FRACTION
