"""The step timeline (issues 21 and 22): the calibration asks for one more squeeze when its
three disagree, and a session ends when its last step ends, however long its
as-long-as-possible holds took.

Known truth: the simulated patient's own calibration squeezes (plateaus chosen in µV above her
rest) and the protocol's steps. Every outcome is judged on the sample clock (cue times, file
lengths), never on how fast anything ran."""

import subprocess

import numpy as np
import pytest
from bbfeedback.gui.controller import LiveController
from conftest import BB

from bbfeedback.app.analyze import analyze
from bbfeedback.app.recorder import SessionRecorder
from bbfeedback.app.replay import recorded_calibration_cues
from bbfeedback.app.rescore_setup import recorded_protocol_itself
from bbfeedback.app.run import BlockList, run
from bbfeedback.app.simulated import SimulatedSource
from bbfeedback.app.sources import SIM_FULL_SCALE
from bbfeedback.detect.calibration import confirmed_max
from bbfeedback.exercise import protocols
from bbfeedback.exercise.calibrator import (
    GENTLE_FRACTION,
    MORE_SECTION,
    SQUEEZE_REST_S,
    SQUEEZE_S,
    calibration_steps,
)
from bbfeedback.exercise.protocols import CUES
from bbfeedback.exercise.session import Session
from bbfeedback.exercise.simulate import Behaviour, Patient, simulate_protocol
from bbfeedback.recording import read_recording
from bbfeedback.recording.repair import marker_path
from bbfeedback.signal.blocks import split_blocks

FS_HZ = 500.0
REST_UV, MVC_UV = 3.0, 40.0
PATIENT = Patient(rest_uV=REST_UV, mvc_uV=MVC_UV)
ONE_MORE_S = SQUEEZE_S + SQUEEZE_REST_S
AGAIN = {"max": "squeeze_max_again", "gentle": "squeeze_gentle_again"}


def fraction(uv: float) -> float:
    """The effort (fraction of MVC) whose plateau is ``uv`` µV for this patient."""
    return (uv - REST_UV) / (MVC_UV - REST_UV)


def squeezing(*uv: float) -> Behaviour:
    """A patient whose calibration squeezes (1, 2, 3 and, when asked, 4) reach these µV."""
    return Behaviour(calibration_levels={n: fraction(v) for n, v in enumerate(uv, 1)})


AGREE = squeezing(40.0, 42.0, 41.0, 41.0)
AGREEISH = squeezing(20.0, 42.0, 44.0, 43.0)  # one odd squeeze: 42 and 44 confirm each other
DISAGREE = squeezing(20.0, 30.0, 45.0, 43.0)  # none confirms another: one more, it confirms 45
STILL_APART = squeezing(20.0, 30.0, 45.0, 12.0)  # one more, and it confirms none


def live(pid: str, behaviour: Behaviour, block_n: int = 20):
    """A session calibrating itself, fed a simulated patient ``block_n`` samples at a time."""
    proto = protocols.load(pid)
    ps = simulate_protocol(proto, behaviour, FS_HZ, seed=5, calibrate=True, patient=PATIENT)
    block = ps.sim.recording.blocks()[0]
    session = Session(proto, block.channels, FS_HZ, start_s=ps.session_start_s)
    for b in split_blocks(block, block_n):
        session.process(b)
    session.finish()
    return session, ps


def same_calibration(a: dict, b: dict) -> bool:
    """Equal calibrations (their numbers to 1e-9: an envelope streamed in other blocks may
    differ in the last digit)."""
    return a.keys() == b.keys() and all(
        a[k] == pytest.approx(b[k], rel=1e-9) if isinstance(a[k], (float, list))
        else a[k] == b[k] for k in a)


def first_protocol_work(session: Session) -> int:
    return next(s.index for s in session.steps if s.rep is not None)


def planned_starts(session: Session) -> dict[int, float]:
    """The start of every step as planned before issue 21 (one step after the other, no
    4th squeeze), up to the first as-long-as-possible hold (whose end the patient decides):
    the optional steps sit at the time they would have begun, taking none."""
    out, t = {}, session.origin_s
    for s in session.steps:
        out[s.index] = t
        if s.phase.until_fail:
            break
        if s.section != MORE_SECTION:
            t += s.phase.duration_s
    return out


# --- A: one more squeeze when the three disagree ---------------------------------------------
@pytest.mark.parametrize("pid", protocols.builtin_ids())
def test_squeezes_that_agree_keep_the_old_timeline(pid):
    for behaviour in (AGREE, AGREEISH):
        session, ps = live(pid, behaviour)
        clock = session.clock
        more = [s.index for s in session.steps if s.section == MORE_SECTION]
        assert len(more) == 2 and clock.optional == set(more)
        assert clock.skipped == set(more)
        assert all(clock.span(i) == (clock.starts[i], clock.starts[i]) for i in more)
        assert not {c.step for c in session.cues} & set(more)  # never cued
        said = {c.cue for c in session.cues}
        assert not said & set(AGAIN.values())
        for i, t in planned_starts(session).items():
            assert clock.starts[i] == pytest.approx(t, abs=1e-9), (pid, i)
        # the simulated patient was cued at the same times (her plan: the steps before 21)
        sim_cues = [a.onset_s for a in ps.cues]
        assert [c.t_s for c in session.cues][:len(planned_starts(session)) - 2] == \
            pytest.approx(sim_cues[:len(planned_starts(session)) - 2], abs=1e-3)
        cal = session.result()["calibration"]["pfm"]
        assert "one_more" not in cal and len(cal["squeezes"]) == 3
        check = session.result()["summary"]["signal_check"]
        assert check["one_more_asked"] is False and check["one_more_confirmed"] is None
        assert session.result()["reps"], pid


@pytest.mark.parametrize("pid", protocols.builtin_ids())
def test_squeezes_that_disagree_get_one_more_and_the_mvc_from_four(pid):
    mode = protocols.load(pid).calibration
    session, ps = live(pid, DISAGREE)
    clock = session.clock
    sq4, rest4 = [s.index for s in session.steps if s.section == MORE_SECTION]
    assert not clock.skipped
    cue4 = next(c for c in session.cues if c.step == sq4)
    assert cue4.cue == AGAIN[mode] and cue4.calibration
    assert (cue4.cue_nl, cue4.cue_en) == (CUES[AGAIN[mode]]["nl"], CUES[AGAIN[mode]]["en"])
    assert cue4.t_s == pytest.approx(planned_starts(session)[sq4], abs=1e-9)  # after rest 3
    assert clock.span(sq4) == pytest.approx((cue4.t_s, cue4.t_s + SQUEEZE_S))
    assert clock.span(rest4) == pytest.approx((cue4.t_s + SQUEEZE_S, cue4.t_s + ONE_MORE_S))
    # the protocol starts when the 4th squeeze's rest ends: that much later than planned
    first = first_protocol_work(session)
    assert clock.starts[first] == pytest.approx(session.start_s + ONE_MORE_S, abs=1e-9)
    assert clock.starts[first] == pytest.approx(ps.start_s, abs=1e-3)  # as she was cued
    result = session.result()
    cal = result["calibration"]["pfm"]
    levels = cal["squeezes"]
    assert len(levels) == 4 and cal["one_more"] is True
    assert levels == pytest.approx([20.0, 30.0, 45.0, 43.0], rel=0.2)
    best = confirmed_max(levels)  # the strongest one another confirms: 45 by the 4th
    assert best == pytest.approx(max(levels[2:]))
    mvc = best if mode == "max" else cal["baseline_mean"] + (
        best - cal["baseline_mean"]) / GENTLE_FRACTION
    assert cal["mvc"] == pytest.approx(mvc, rel=1e-3)
    check = result["summary"]["signal_check"]
    assert check["one_more_asked"] is True and check["one_more_confirmed"] is True
    assert "een vierde keer knijpen kwam overeen met een van de drie" in \
        result["summary"]["text_nl"]
    assert "a fourth squeeze matched one of the three" in result["summary"]["text_en"]
    assert "Kalibreer opnieuw" not in result["summary"]["text_nl"]  # the fourth settled it
    # review: a gentle calibration's half squeezes are not called maximal
    what = "rustige" if mode == "gentle" else "maximale"
    assert f"De {what} aanspanningen van de kalibratie" in result["summary"]["text_nl"]


def test_a_fourth_that_confirms_none_gives_the_median_of_four_and_says_so():
    session, _ = live("a1-strength", STILL_APART)
    result = session.result()
    cal = result["calibration"]["pfm"]
    assert cal["one_more"] is False and len(cal["squeezes"]) == 4
    assert cal["mvc"] == pytest.approx(float(np.median(cal["squeezes"])))
    check = result["summary"]["signal_check"]
    assert check["one_more_asked"] is True and check["one_more_confirmed"] is False
    assert "ook een vierde keer knijpen bevestigde er geen" in result["summary"]["text_nl"]


@pytest.mark.parametrize("block_n", [7, 50, 500])
def test_the_decision_does_not_depend_on_the_blocks(block_n):
    """Asked when the envelope reaches the 4th squeeze's start: any cut of the signal into
    blocks gives the same cues, at the same times, and the same calibration."""
    ref, _ = live("a1-strength", DISAGREE, 20)
    session, _ = live("a1-strength", DISAGREE, block_n)
    assert [(c.step, c.t_s) for c in session.cues] == [(c.step, c.t_s) for c in ref.cues]
    got, want = session.result()["calibration"], ref.result()["calibration"]
    assert got.keys() == want.keys()
    assert all(same_calibration(got[k], want[k]) for k in got)


def test_the_window_draws_the_fourth_only_once_it_is_asked_for():
    """What the patient follows ahead of the trace: during the 3rd squeeze's rest the 4th is
    not drawn (not asked for yet: the protocol's lead-in follows); once asked for, it is."""
    proto = protocols.load("a1-strength")
    ps = simulate_protocol(proto, DISAGREE, FS_HZ, seed=5, calibrate=True, patient=PATIENT)
    block = ps.sim.recording.blocks()[0]
    session = Session(proto, block.channels, FS_HZ, start_s=ps.session_start_s)
    sq4 = next(s.index for s in session.steps if s.section == MORE_SECTION)
    blocks = split_blocks(block, 20)
    words = CUES["squeeze_max_again"]["en"]
    seen_before = seen_after = None
    for b in blocks:
        session.process(b)
        t = b.end_sample / FS_HZ
        ahead = session.template(t, t + 8.0)
        if sq4 - 1 in session.clock.starts and sq4 - 1 == session.clock.cue_step and \
                seen_before is None:
            seen_before = [i.cue_en for i in ahead]
            assert all(i.end_s > i.start_s for i in ahead)
        if sq4 == session.clock.cue_step and seen_after is None:
            seen_after = [i.cue_en for i in ahead]
    assert seen_before is not None and words not in seen_before
    assert CUES["rest"]["en"] in seen_before  # the protocol's lead-in, next as planned
    assert seen_after is not None and words in seen_after


@pytest.mark.parametrize("pid", ["a1-strength", "b2-contract-relax", "a2-endurance"])
def test_recorded_then_analysed_the_fourth_squeeze_is_the_same(pid, tmp_path):
    """The recording carries the 4th cue and the calibration made from four squeezes;
    ``analyze`` of the file gives the same calibration and scores, and a session calibrating
    itself from the file (no recorded calibration) asks for the 4th again, at the same time."""
    proto = protocols.load(pid)
    src = SimulatedSource(proto, FS_HZ, behaviour=DISAGREE, seed=3, patient=PATIENT)
    session = Session(proto, src.channels, src.fs_hz, start_s=src.start_s)
    path = tmp_path / f"{pid}.edf"
    rec = SessionRecorder(path, src.channels, src.fs_hz, SIM_FULL_SCALE, session,
                          {"name": "sim", "fs_hz": src.fs_hz})
    end = run(BlockList(src.blocks), session, [rec], until_ended=True)
    assert end.reason == "ended"
    live_result = end.result.to_dict()
    assert live_result["calibration"]["pfm"]["one_more"] is True
    recording = read_recording(path)
    again = AGAIN[proto.calibration]
    calib = [c for c in recording.meta.cues if c.calibration]
    assert [c.cue for c in calib].count(again) == 1
    shown = recorded_calibration_cues(recording)  # a replay shows it as the live window did
    assert CUES[again]["en"] in [c.cue_en for c in shown]
    offline = analyze(recording, protocol=recorded_protocol_itself(recording))
    assert offline["calibration"] == live_result["calibration"]
    assert offline["reps"] == live_result["reps"]
    assert offline["summary"] == live_result["summary"]
    # from the signal alone (the recorded calibration not used): the same decision
    block = recording.blocks()[0]
    again_session = Session(proto, block.channels, FS_HZ, start_s=src.start_s)
    for b in split_blocks(block, 64):
        again_session.process(b)
    again_session.finish()
    assert [(c.t_s, c.cue) for c in again_session.cues if c.calibration] == \
        [(c.t_s, c.cue) for c in session.cues if c.calibration]
    assert same_calibration(again_session.calibrations["pfm"].to_dict(),
                            session.calibrations["pfm"].to_dict())


# --- B: the session ends when its last step ends -----------------------------------------------
UNTIL_FAIL = ["a2-endurance", "a-daily"]


def at_the_maximum_s(proto: protocols.Protocol, first_cue_s: float) -> float:
    """Where the session would end if every as-long-as-possible hold lasted its maximum."""
    calibration = sum(s.phase.duration_s for s in calibration_steps(proto.calibration)
                      if s.section != MORE_SECTION)
    return first_cue_s + calibration + proto.duration_s


def assert_ends_with_its_last_rest(path, pid: str) -> None:
    """The file ends when the protocol's last step (a rest) ends, plus at most the
    envelope's delay and a block: not at the simulated patient's end (3 s later) and far
    from where holds at their maximum would have put it."""
    proto = protocols.load(pid)
    recording = read_recording(path)
    cues = recording.meta.cues
    last = proto.timeline()[-1].phase
    assert last.kind == "rest" and cues[-1].kind == "rest"
    end_s = cues[-1].onset_s + last.duration_s
    assert end_s <= recording.duration_s <= end_s + 1.0, (recording.duration_s, end_s)
    assert recording.duration_s < at_the_maximum_s(proto, cues[0].onset_s) - 30.0
    summary = recording.meta.last("summary")
    assert summary is not None and not summary.get("incomplete")


@pytest.mark.parametrize("pid", UNTIL_FAIL)
def test_the_run_loop_ends_a_live_session_with_its_last_rest(pid):
    proto = protocols.load(pid)
    src = SimulatedSource(proto, FS_HZ, seed=2)  # holds of about 18 s, of at most 60
    blocks = list(src.blocks)
    sim_end_s = blocks[-1].end_sample / FS_HZ
    session = Session(proto, src.channels, FS_HZ, start_s=src.start_s)
    end = run(BlockList(blocks), session, [], until_ended=True)
    assert end.reason == "ended" and end.result is not None
    clock_end = session.clock.ended_at()
    assert clock_end is not None and session.available_s >= clock_end
    assert clock_end <= end.end_sample / FS_HZ <= clock_end + 1.0
    # the simulated patient herself stops soon after her last rest, not at the holds' limit
    assert clock_end < sim_end_s <= clock_end + 4.0
    assert sim_end_s < at_the_maximum_s(proto, 2.0) - 30.0
    # offline (no until_ended) the whole source is read
    again = Session(proto, src.channels, FS_HZ, start_s=src.start_s)
    assert run(BlockList(blocks), again, []).end_sample == blocks[-1].end_sample


@pytest.mark.parametrize("pid", UNTIL_FAIL)
@pytest.mark.parametrize("seconds", [None, "3600"])
def test_record_ends_with_the_last_rest(pid, seconds, tmp_path):
    """``record --device sim --protocol`` without --seconds (or with more than needed) ends
    when the last rest ends and finalises the file as on a normal end."""
    path = tmp_path / f"{pid}.edf"
    args = [*BB, "record", "--device", "sim", "--protocol",
            pid, "--speed", "50", "--out", str(path)]
    if seconds:
        args += ["--seconds", seconds]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    assert proc.returncode == 0, err
    assert "stopped early" not in out and "recorded" in out
    assert path.exists() and not marker_path(path).exists()  # finalised
    assert_ends_with_its_last_rest(path, pid)


def test_record_without_seconds_needs_a_protocol(tmp_path):
    proc = subprocess.run([*BB, "record", "--device", "sim",
                           "--out", str(tmp_path / "x.edf")], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode != 0 and "--seconds" in proc.stderr
    assert not (tmp_path / "x.edf").exists()


@pytest.mark.parametrize("pid", UNTIL_FAIL)
def test_the_window_ends_a_live_session_with_its_last_rest(qtbot, pid, tmp_path):
    """The live window's controller: the session finishes by itself when its last rest
    ends (no Stop pressed), with its result, and its recording ends there."""
    ctl = LiveController(window_s=10.0)
    path = tmp_path / f"{pid}.edf"
    try:
        ctl.start_live("sim", None, protocols.load(pid), record_path=path, speed=50.0)
        qtbot.waitUntil(lambda: ctl.frame().status == "finished", timeout=300_000)
        qtbot.waitUntil(lambda: ctl.result is not None, timeout=10_000)
        assert not ctl.frame().running
        assert not ctl.result.summary.get("incomplete")
    finally:
        ctl.stop()
    assert_ends_with_its_last_rest(path, pid)
