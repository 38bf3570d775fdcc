"""The built-in calibration: 10 s rest for the baseline, then three maximal squeezes for MVC.

A session without a calibration for every channel puts these steps before the protocol and,
when the protocol's first step begins, calibrates each channel from them: baseline = mean and
SD of the rest (without its first 2 s), MVC = the best 0.5 s plateau of the squeezes.
The accessory (abdominal) channel is judged on its own rest only: its "MVC" here is its level
during pelvic-floor squeezes, not an abdominal maximum, and no rule reads it (``scoring``).
"""

from __future__ import annotations

import numpy as np

from bbfeedback.detect.calibration import Calibration, baseline_from_rest, plateau_max
from bbfeedback.exercise.clock import ProtocolClock
from bbfeedback.exercise.protocols import BASELINE, CUES, REST, WORK, Phase, Step
from bbfeedback.exercise.trace_store import TraceStore
from bbfeedback.signal.blocks import Channel

CALIBRATION = "calibration"  # the scoring kind of the calibration steps
REST_SECTION, MVC_SECTION = "calibration-rest", "calibration-mvc"
CALIBRATION_REST_S = 10.0
CALIBRATION_SQUEEZES = 3
SETTLE_S = 2.0  # the first seconds of the calibration rest are not part of the baseline


def calibration_steps() -> list[Step]:
    """Rest for the baseline, then three maximal squeezes for MVC (not scored)."""
    words = {k: (CUES[k]["nl"], CUES[k]["en"]) for k in ("baseline", "squeeze_max", "relax")}
    steps = [Step(0, 0.0, Phase(BASELINE, "baseline", *words["baseline"], CALIBRATION_REST_S),
                  REST_SECTION, CALIBRATION, None)]
    for _ in range(CALIBRATION_SQUEEZES):
        steps.append(Step(0, 0.0, Phase(WORK, "squeeze_max", *words["squeeze_max"], 3.0, 3.0,
                                        0.0, 100.0, (60.0, 300.0)),
                          MVC_SECTION, CALIBRATION, None))
        steps.append(Step(0, 0.0, Phase(REST, "relax", *words["relax"], 5.0),
                          MVC_SECTION, CALIBRATION, None))
    return steps


class Calibrator:
    """The calibrations of a session's channels: given, or made from the calibration steps.

    ``calibrations`` (channel name -> Calibration) is the one dict the session, its targets
    and its results read; it is filled in place."""

    def __init__(self, channels: tuple[Channel, ...],
                 calibrations: dict[str, Calibration] | None = None):
        self.channels = channels
        self.calibrations: dict[str, Calibration] = dict(calibrations or {})

    def calibrated(self) -> bool:
        return all(c.name in self.calibrations for c in self.channels)

    def steps_before(self, protocol_steps: list[Step]) -> list[Step]:
        """The protocol's steps, with the calibration steps first when they are needed."""
        return protocol_steps if self.calibrated() else calibration_steps() + protocol_steps

    def calibrate(self, clock: ProtocolClock, store: TraceStore,
                  first_protocol_step: int) -> None:
        """Baseline from the calibration rest, MVC from the best squeeze plateau."""
        rest = next(s.index for s in clock.steps if s.section == REST_SECTION)
        squeezes = [s.index for s in clock.steps if s.section == MVC_SECTION]
        for c, ch in enumerate(self.channels):
            tr = store.trace(c)
            seg, _ = tr.window(clock.starts[rest] + SETTLE_S, clock.step_end(rest))
            mean, sd = baseline_from_rest(seg if seg.size else np.zeros(1))
            sq, _ = tr.window(clock.starts[squeezes[0]], clock.starts[first_protocol_step])
            mvc = plateau_max(sq, tr.rate_hz) if sq.size else None
            self.calibrations[ch.name] = Calibration(mean, sd, mvc, ch.unit, "session")
