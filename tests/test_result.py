"""A scored session is one typed value (issue 24): the run loop hands ``SessionResult`` to
its sinks, and JSON is made only at the edge. Its JSON keeps the documented shape
(``recording.schemas``), reads back to the same value, and re-scoring makes a new value
rather than changing the session's own."""

import json
from dataclasses import FrozenInstanceError, replace

import pytest

from bbfeedback.app.analyze import stream
from bbfeedback.app.rescoring import rescored
from bbfeedback.app.run import BlockList
from bbfeedback.app.run import run as run_loop
from bbfeedback.exercise import protocols
from bbfeedback.exercise.result import SessionResult
from bbfeedback.exercise.scores import Flag, RepScore
from bbfeedback.exercise.session import Session
from bbfeedback.exercise.simulate import Behaviour, simulate_protocol
from bbfeedback.recording import schemas

FS_HZ = 250.0
# a patient with something to say about: late once, short once, tense after one
FLAWED = Behaviour(late={2: 2.2}, hold_s={3: 1.0}, tense_after={1: 0.3})


def scored(pid: str) -> SessionResult:
    """``pid`` scored through the run loop, the blocks that start in 30-30.5 s lost."""
    proto = protocols.load(pid)
    ps = simulate_protocol(proto, FLAWED, FS_HZ, seed=3, calibrate=True)
    block = ps.sim.recording.blocks()[0]
    session = Session(proto, block.channels, FS_HZ, start_s=ps.start_s)
    lost = range(int(30 * FS_HZ), int(30.5 * FS_HZ))
    blocks = list(stream(block, 0.25))
    arrived = [b for b in blocks if b.start_sample not in lost]
    end = run_loop(BlockList(arrived), session, [])
    assert end.result is not None
    dropped = sum(b.n_samples for b in blocks if b.start_sample in lost)
    assert [g.lost_samples for g in end.result.gaps] == [dropped] and dropped > 0
    return end.result


@pytest.fixture(scope="module", params=protocols.builtin_ids())
def result(request) -> SessionResult:
    return scored(request.param)


def test_the_run_loop_hands_a_typed_result(result):
    assert isinstance(result, SessionResult) and result.reps
    assert all(isinstance(r, RepScore) and all(isinstance(f, Flag) for f in r.flags)
               for r in result.reps)
    assert result.calibration is result.calibrations[result.protocol.main_channel]
    assert result.gaps and 29.5 < result.gaps[0].t_s < 30.5
    with pytest.raises(FrozenInstanceError):
        result.reps = ()  # type: ignore[misc]


def test_its_json_has_the_documented_shape_and_reads_back(result):
    doc = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert list(doc) == ["protocol", "calibration", "reps", "summary", "gaps", "marks"]
    for rep in doc["reps"]:
        assert schemas.problem("rep", rep) is None, rep
    assert schemas.problem("calibration", doc["calibration"]) is None
    assert schemas.problem("summary", doc["summary"]) is None
    again = SessionResult.from_dict(doc)
    assert again.reps == result.reps  # every measure and flag, as typed values
    assert again.calibrations == result.calibrations and again.protocol == result.protocol
    assert json.loads(json.dumps(again.to_dict())) == doc


def test_a_lift_keeps_its_floors_through_json():
    result = scored("b5-lift")
    lifts = [r.lift for r in result.reps]
    assert all(lift is not None and len(lift.floors_pct_mvc) == 3 for lift in lifts)
    back = SessionResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert [r.lift for r in back.reps] == lifts


def test_rescoring_makes_a_new_value():
    result = scored("a1-strength")
    moved = rescored(result, "contractions (no cue annotations)", 12.5)
    assert moved is not result and result.protocol.alignment is None
    assert moved.protocol.alignment.startswith("contractions") and moved.protocol.start_s == 12.5
    assert all(r.rise_s is None and r.release_s is None and not r.has(Flag.LATE_ONSET)
               for r in moved.reps)
    assert any(r.has(Flag.LATE_ONSET) for r in result.reps)  # the session's own: as scored
    assert moved.to_dict()["protocol"]["start_s"] == 12.5


@pytest.mark.parametrize("bad", [
    {"reps": 3},
    {"protocol": {"id": "a1-strength"}, "calibration": {}, "reps": [{"index": 1}],
     "summary": {}},
    {"protocol": {"id": "a1-strength"}, "calibration": {}, "summary": {},
     "reps": [{"index": 1, "met": True, "flags": ["not_a_flag"]}]},
])
def test_what_is_not_a_result_is_said(bad):
    with pytest.raises(ValueError):
        SessionResult.from_dict(bad)


def test_an_older_files_repetition_reads_as_not_measured():
    """A repetition written before a measure existed reads it as None, not as zero."""
    rep = RepScore.from_dict({"index": 4, "met": False, "flags": ["short_hold"]})
    assert rep.hold_s is None and rep.peak_pct_mvc is None and rep.flags == (Flag.SHORT_HOLD,)
    assert replace(rep, met=True).met and not rep.met
