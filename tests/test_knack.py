"""The cough (b3-cough, issue 22): the cue says when to cough, the abdominals may fire with
the cough, and what is scored is whether the pelvic floor was on before the cough's rise (the
Knack, Miller, Ashton-Miller & DeLancey 1998). The signals come from the independent truth
model (``tests/truth/model.py``), not from the package's simulator."""

from __future__ import annotations

import numpy as np
import pytest
from truth import model
from truth.model import Squeeze

from bbfeedback.detect.calibration import Calibration
from bbfeedback.exercise import protocols
from bbfeedback.exercise.session import Session
from bbfeedback.signal.blocks import Block, Channel

CHANNELS = (Channel("pfm", "emg", "uV"), Channel("abd", "emg", "uV"))
CAL = {"pfm": Calibration(3.0, 0.4, 42.0), "abd": Calibration(3.0, 0.4, 30.0)}


def cough_session(pfm_lead_s: float, seed: int = 3) -> dict:
    """b3-cough's cough section: on each "hoest nu" cue she coughs 0.4 s later (abdominals up
    to 25 µV for 0.3 s); her pelvic floor comes on ``pfm_lead_s`` before that cough (negative:
    after it; 2.1 s: 0.8 s after the "knijp aan" cue) and stays on to the cough phase's end."""
    proto = protocols.load("b3-cough")
    session = Session(proto, CHANNELS, model.FS_HZ, calibrations=dict(CAL))
    steps = proto.timeline()
    t0 = session.start_s - steps[next(i for i, s in enumerate(steps)
                                       if s.phase.kind == "work")].start_s
    pfm, abd = [], []
    for i, s in enumerate(steps):
        if s.phase.knack:
            cough = t0 + s.start_s + 0.4
            on = cough - pfm_lead_s
            end = t0 + s.start_s + s.phase.duration_s
            pfm.append(Squeeze(on, 30.0, max(end - on - 0.2, 0.3), 0.1, 0.2))
            abd.append(Squeeze(cough, 25.0, 0.3, 0.05, 0.1))
        elif s.phase.kind == "work" and not (i + 1 < len(steps) and steps[i + 1].phase.knack):
            start = t0 + s.start_s + 0.5  # the long holds before the coughs: squeezed as asked
            pfm.append(Squeeze(start, 30.0, s.phase.hold_s + 0.3, 0.2, 0.2))
    duration = t0 + steps[-1].start_s + steps[-1].phase.duration_s + 2.0
    rng = np.random.default_rng(seed)
    raw_pfm, _ = model.emg(duration, 3.0, pfm, rng)
    raw_abd, _ = model.emg(duration, 3.0, abd, rng)
    data = np.column_stack([raw_pfm, raw_abd])
    n = int(0.1 * model.FS_HZ)
    for a in range(0, data.shape[0], n):
        session.process(Block(data[a:a + n], model.FS_HZ, CHANNELS, a))
    session.finish()
    return session.result()


def coughs(result: dict) -> list[dict]:
    return [r for r in result["reps"] if r["section"] == "cough"]


def test_the_cue_says_when_to_cough():
    steps = [s for s in protocols.load("b3-cough").timeline() if s.section == "cough"]
    assert [s.phase.cue for s in steps[:3]] == ["cough_ready", "cough_now", "relax"]
    assert "Hoest nu" in steps[1].phase.cue_nl and steps[1].phase.knack


def test_squeeze_before_the_cough_is_right_and_the_abdominals_may_fire():
    reps = coughs(cough_session(pfm_lead_s=2.1))
    assert len(reps) == 3
    for r in reps:
        assert "knack_late" not in r["flags"] and "co_contraction" not in r["flags"], r
        assert r["met"], r


@pytest.mark.parametrize("lead_s", [-0.3, -0.6])
def test_squeeze_after_the_cough_is_the_knack_late(lead_s):
    reps = coughs(cough_session(pfm_lead_s=lead_s))
    assert [("knack_late" in r["flags"]) for r in reps] == [True, True, True], reps
    assert not any("co_contraction" in r["flags"] for r in reps)


def test_the_knack_round_trips_through_the_protocol_file():
    proto = protocols.load("b3-cough")
    again = protocols.loads(protocols.to_toml(proto), "b3-cough.toml")
    assert [s.phase.knack for s in again.timeline()] == [s.phase.knack for s in proto.timeline()]
