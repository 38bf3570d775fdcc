"""Every bundled protocol through every path: one live session (the run loop on the simulated
sensor, recorded), then its file analysed, replayed in the GUI (offscreen) and reported.
Each path must give the live session's repetitions and summary exactly."""

import html
import json

import pytest
from bbfeedback.gui.therapist import TherapistWindow

from bbfeedback.app.analyze import analyze
from bbfeedback.app.recorder import SessionRecorder
from bbfeedback.app.report import session_report
from bbfeedback.app.rescore_setup import recorded_protocol_itself
from bbfeedback.app.run import BlockList, run
from bbfeedback.app.simulated import SimulatedSource
from bbfeedback.app.sources import SIM_FULL_SCALE
from bbfeedback.exercise import protocols
from bbfeedback.exercise.session import Session
from bbfeedback.recording import read_recording

PROTOCOLS = protocols.builtin_ids()
FS_HZ = 500.0


def same(a: dict) -> dict:
    """As a JSON document gives it back (tuples become lists, floats stay exact)."""
    return json.loads(json.dumps(a))


@pytest.fixture(scope="module", params=PROTOCOLS)
def live(request, tmp_path_factory):
    """A live session of one protocol, recorded as ``record`` does (same run loop, sinks)."""
    pid = request.param
    src = SimulatedSource(pid, FS_HZ, seed=3)  # not started: its blocks fed without waiting
    session = Session(protocols.load(pid), src.channels, src.fs_hz, start_s=src.start_s)
    path = tmp_path_factory.mktemp(pid) / f"{pid}.edf"
    rec = SessionRecorder(path, src.channels, src.fs_hz, SIM_FULL_SCALE, session,
                          {"name": "sim", "fs_hz": src.fs_hz})
    end = run(BlockList(src.blocks), session, [rec])
    assert end.reason == "stopped" and end.result is not None
    return pid, path, same(end.result.to_dict())


def test_the_live_session_scored_every_repetition(live):
    pid, _, result = live
    expected = sum(1 for _ in protocols.load(pid).timeline() if _.rep is not None)
    assert 0 < result["summary"]["reps"] <= expected
    assert result["summary"]["text_nl"] and result["summary"]["text_en"]


def test_record_then_analyze(live):
    pid, path, result = live
    offline = same(analyze(read_recording(path), protocol=protocols.load(pid)))
    assert offline["reps"] == result["reps"]
    assert offline["summary"] == result["summary"]
    assert offline["protocol"]["alignment"] == "cue annotations"


def test_record_then_recorded_annotations(live):
    _, path, result = live
    meta = read_recording(path).meta
    assert meta.warnings == []
    assert meta.all("rep") == result["reps"]
    assert meta.last("summary") == result["summary"]


def test_record_then_gui_replay(live, qtbot, tmp_path):
    pid, path, result = live
    win = TherapistWindow("sim", None, pid, "en", tmp_path, speed=1000.0)
    qtbot.addWidget(win)
    win.open_recording(str(path), 1000.0)
    qtbot.waitUntil(lambda: win.controller.frame().status == "finished", timeout=60000)
    frame = win.controller.frame()
    replayed = same(win.controller.result.to_dict())
    win.close()
    assert replayed["reps"] == result["reps"]
    assert replayed["summary"] == result["summary"]
    assert same([r.to_dict() for r in frame.recorded_reps]) == result["reps"]


def test_record_then_report(live):
    pid, path, result = live
    for lang in ("nl", "en"):
        page = session_report(path, lang)
        assert html.escape(result["summary"][f"text_{lang}"]) in page
        assert page.count("<tr") >= len(result["reps"])


def gui_session(qtbot, tmp_path, pid: str, hold_s: float | None = None):
    """A session run from the therapist's window at 100x: (live result, its recording)."""
    win = TherapistWindow("sim", None, pid, "en", tmp_path, speed=100.0)
    qtbot.addWidget(win)
    if hold_s is not None:
        for place, box in win.phases.boxes.items():
            if place.field == "hold_s":
                box.setValue(hold_s)
    win.start()
    qtbot.waitUntil(lambda: win.controller.frame().status == "finished", timeout=120000)
    live, path = same(win.controller.result.to_dict()), win.recording_path
    win.close()
    return live, read_recording(path)


@pytest.mark.parametrize("pid", PROTOCOLS)
def test_live_gui_session_then_analyze(pid, qtbot, tmp_path):
    """The therapist's window, form untouched: the bundled protocol runs as it is, and the
    recording re-analyses to what the window showed."""
    live, rec = gui_session(qtbot, tmp_path, pid)
    assert recorded_protocol_itself(rec).timeline() == protocols.load(pid).timeline()
    offline = same(analyze(rec, protocol=recorded_protocol_itself(rec)))
    assert offline["reps"] == live["reps"] and offline["summary"] == live["summary"]


def test_a_changed_form_is_the_protocol_the_file_carries(qtbot, tmp_path):
    live, rec = gui_session(qtbot, tmp_path, "a1-strength", hold_s=7.0)
    ran = recorded_protocol_itself(rec)
    assert [s.phase.hold_s for s in ran.timeline() if s.phase.kind == "work"] == [7.0] * 5
    assert all(r["target_hold_s"] == 7.0 for r in live["reps"])
    offline = same(analyze(rec, protocol=ran))
    assert offline["reps"] == live["reps"] and offline["summary"] == live["summary"]
