"""The known-truth corpus through every path (issue 22): one live case of each protocol the
corpus has, played through the run loop as a device would deliver it and recorded as
``record`` records it; the file is then analysed and replayed in the window (offscreen).
Every path must give the live session's repetitions and summary exactly, and each path's
result must pass the case's own known-truth checks (so agreeing is not agreeing on a wrong
judgement)."""

from __future__ import annotations

import json

import pytest
from bbfeedback.gui.therapist import TherapistWindow
from truth.cases import CASES, Case

from bbfeedback.app.analyze import analyze
from bbfeedback.app.recorder import SessionRecorder
from bbfeedback.app.run import BlockList, run
from bbfeedback.exercise import protocols
from bbfeedback.exercise.session import Session
from bbfeedback.recording import read_recording
from bbfeedback.signal.blocks import Block, Channel

BLOCK_S = 0.1


def _one_live_case_per_protocol() -> list[Case]:
    seen: dict[str, Case] = {}
    for case in CASES:
        if case.path == "live" and case.protocol not in seen:
            seen[case.protocol] = case
    return list(seen.values())


LIVE = _one_live_case_per_protocol()


def same(a: dict) -> dict:
    """As a JSON document gives it back (tuples become lists, floats stay exact)."""
    return json.loads(json.dumps(a))


def failed_checks(case: Case, result: dict) -> list[str]:
    bad = []
    for check in case.checks:
        try:
            ok = bool(check.test(result))
        except (KeyError, IndexError, TypeError, StopIteration):
            ok = False
        if not ok:
            bad.append(check.name)
    return bad


@pytest.fixture(scope="module", params=LIVE, ids=[c.name for c in LIVE])
def recorded(request, tmp_path_factory):
    """The case's truth recording through the run loop, recorded as ``record`` does."""
    case: Case = request.param
    rec = case.make().recording
    chans = tuple(Channel(s.name, s.kind, s.unit) for s in rec.signals)
    scale = {s.kind: s.range for s in rec.signals}
    session = Session(protocols.load(case.protocol), chans, rec.fs_hz, start_s=None,
                      ranges={s.name: s.range for s in rec.signals})
    path = tmp_path_factory.mktemp("truth") / f"{case.name}.edf"
    sink = SessionRecorder(path, chans, rec.fs_hz, scale, session,
                           {"name": "truth", "fs_hz": rec.fs_hz})
    data = rec.matrix()
    n = int(round(BLOCK_S * rec.fs_hz))
    blocks = [Block(data[a:a + n], rec.fs_hz, chans, a) for a in range(0, data.shape[0], n)]
    end = run(BlockList(blocks), session, [sink])
    assert end.reason == "stopped" and end.result is not None
    return case, path, same(end.result.to_dict())


def test_the_run_loop_judges_as_the_truth_says(recorded):
    case, _, live = recorded
    assert failed_checks(case, live) == []


def test_record_then_analyze_agrees(recorded):
    case, path, live = recorded
    offline = same(analyze(read_recording(path), protocol=protocols.load(case.protocol)))
    assert offline["reps"] == live["reps"]
    assert offline["summary"] == live["summary"]
    assert failed_checks(case, offline) == []


def test_gui_replay_agrees(recorded, qtbot, tmp_path):
    case, path, live = recorded
    win = TherapistWindow("sim", None, case.protocol, "nl", tmp_path, speed=12.0)
    qtbot.addWidget(win)
    try:
        win.open_recording(str(path), speed=200.0)
        qtbot.waitUntil(lambda: win.controller.frame().status == "finished", timeout=300000)
        qtbot.waitUntil(lambda: win.controller.result is not None, timeout=60000)
        replayed = same(win.controller.result.to_dict())
        assert replayed["reps"] == live["reps"]
        assert replayed["summary"] == live["summary"]
    finally:
        win.close()
