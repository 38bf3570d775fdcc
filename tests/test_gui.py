"""The windows, offscreen: a whole live session, unplugging a device, replay, languages.
Screenshots go to docs/ (shown in the README and the documentation pages)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from bbfeedback.drivers.devices import make_device
from bbfeedback.drivers.emulator import PtyEmulator, make_packets
from bbfeedback.gui.therapist import TherapistWindow
from conftest import BB, ROOT, SAMPLES

from bbfeedback.app.analyze import analyze
from bbfeedback.exercise import protocols
from bbfeedback.exercise.scores import RepScore
from bbfeedback.exercise.simulate import Behaviour, simulate_protocol
from bbfeedback.exercise.targets import TemplateBox
from bbfeedback.recording import read_recording


def docs_dir(tmp_path):
    """docs/ when asked (BBFEEDBACK_SCREENSHOTS=1), else a temporary folder: a test run
    must not change tracked files."""
    return ROOT / "docs" if os.environ.get("BBFEEDBACK_SCREENSHOTS") else tmp_path


@pytest.fixture
def window(qtbot, tmp_path):
    win = TherapistWindow("sim", None, "a1-strength", "en", tmp_path, speed=12.0)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()


def test_live_session_runs_to_the_end_and_scores_match_analyze(qtbot, window, tmp_path):
    docs = docs_dir(tmp_path)
    qtbot.mouseClick(window.start_button, __import__("PySide6").QtCore.Qt.LeftButton)
    assert window.controller.frame().running
    qtbot.waitUntil(lambda: len(window.controller.frame().reps) >= 2, timeout=60000)
    window.patient_view.show()
    qtbot.wait(300)
    assert window.grab().save(str(docs / "therapist.png"))
    assert window.patient_view.grab().save(str(docs / "patient.png"))
    assert window.cue.text() in {c["en"] for c in protocols.CUES.values()}  # a cue, in English
    assert "Calibration" in window.calibration.text() and "MVC" in window.calibration.text()
    qtbot.waitUntil(lambda: window.controller.frame().status == "finished", timeout=60000)
    qtbot.waitUntil(lambda: window.table.rowCount() == 5, timeout=5000)
    qtbot.waitUntil(lambda: window.summary.text().startswith("Held"), timeout=5000)
    frame = window.controller.frame()  # the last frame, drawn as it is
    window.redraw()
    x, y = window.plot.env_curves[0].getData()
    assert np.array_equal(y, frame.env[:, frame.main]) and y.size > 1000
    assert np.allclose(x, frame.env_t - frame.t_s) and x[-1] <= 0.0
    assert window.table.item(4, 0).text() == "5"
    assert window.table.item(0, 2).text() == ("yes" if frame.reps[0].met else "no")
    assert window.start_button.text() == "Start" and window.cue.text() == "Session finished"
    result = window.controller.result.to_dict()
    offline = analyze(read_recording(window.recording_path),
                      protocol=protocols.load("a1-strength"))
    assert offline["reps"] == result["reps"]
    assert offline["summary"] == result["summary"]
    assert window.grab().save(str(docs / "therapist-finished.png"))


def test_unplugged_device_keeps_the_window_and_shows_it(qtbot, tmp_path):
    spec = make_device("p2")
    ps = simulate_protocol(protocols.load("a1-strength"), Behaviour(), spec.fs_hz,
                           accessory=True)
    values = __import__("numpy").column_stack([s.data for s in ps.sim.recording.signals])
    emu = PtyEmulator(spec, make_packets(spec, values), speed=1.0, unplug_after_s=2.0).start()
    win = TherapistWindow("p2", emu.port, "a1-strength", "en", tmp_path)
    qtbot.addWidget(win)
    win.show()
    try:
        win.start()
        qtbot.waitUntil(lambda: "reconnecting" in win.status.text(), timeout=15000)
        assert win.isVisible() and win.controller.frame().status == "reconnecting"
        win.grab().save(str(tmp_path / "unplugged.png"))
    finally:
        win.close()
        emu.stop()
    assert (tmp_path / "unplugged.png").exists()
    saved = list(tmp_path.glob("*.edf"))
    assert saved and read_recording(saved[0]).signals[0].data.size > 200  # kept, and saved


def test_emulated_device_from_the_window(qtbot, tmp_path):
    win = TherapistWindow("p2", "emulated", "a1-strength", "en", tmp_path)
    qtbot.addWidget(win)
    win.show()
    try:
        win.start()
        qtbot.waitUntil(lambda: win.controller.frame().status == "connected"
                        and win.controller.frame().t_s > 1.0, timeout=15000)
        assert win.controller.emulator is not None
    finally:
        win.close()
    assert win.controller.emulator is None  # stopped with the session


def test_window_start_offers_to_recover_a_crashed_recording(qtbot, tmp_path):
    from bbfeedback.recording.repair import marker_path

    crashed = tmp_path / "P-1-a1-strength-crash.edf"
    crashed.write_bytes((SAMPLES / "lift.edf").read_bytes())
    marker_path(crashed).write_text('{"pid": 999999999}')
    win = TherapistWindow("sim", None, "a1-strength", "en", tmp_path)
    qtbot.addWidget(win)
    win.show()
    assert win.recover_button.isVisible() and "Recover" in win.recover_button.text()
    win.recover_all()
    assert not win.recover_button.isVisible() and not marker_path(crashed).exists()
    win.close()


def test_replay_of_a_sample_recording(qtbot, window):
    window.open_recording(str(SAMPLES / "a1_strength_emg.edf"), speed=60.0)
    qtbot.waitUntil(lambda: window.controller.frame().status == "finished", timeout=60000)
    qtbot.waitUntil(lambda: window.table.rowCount() == 5, timeout=5000)
    snap = window.controller.frame()
    assert list(snap.reps) == list(snap.recorded_reps)  # re-scored exactly as recorded
    assert [window.table.item(i, 1).text() for i in range(5)] == [
        f"{r.hold_s:.1f}" for r in snap.recorded_reps]
    window.redraw()
    shown = window.summary.text()  # issue 13: the file's own facts, not the form's
    assert "Recording a1_strength_emg.edf: patient SAMPLE-01, sim, Strength" in shown
    assert "re-scored: same as recorded" in shown


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_patient_view_ends_with_her_own_sentences(qtbot, tmp_path, lang):
    """Issue 22: at the end the patient reads what she did and one thing to do next time,
    in her language, without numbers (the summary's patient text)."""
    win = TherapistWindow("sim", None, "a1-strength", lang, tmp_path, speed=12.0)
    qtbot.addWidget(win)
    win.show()
    win.patient_view.show()
    try:
        assert not win.patient_view.advice.isVisible()
        win.open_recording(str(SAMPLES / "a1_strength_emg.edf"), speed=60.0)
        qtbot.waitUntil(lambda: win.controller.frame().status == "finished", timeout=60000)
        said = win.controller.frame().summary[f"patient_text_{lang}"]
        qtbot.waitUntil(lambda: win.patient_view.advice.text() == said, timeout=10000)
        assert win.patient_view.advice.isVisible() and said
        assert not any(ch.isdigit() for ch in said) and "µV" not in said
        assert win.patient_view.grab().save(str(docs_dir(tmp_path)
                                                / f"patient-finished-{lang}.png"))
    finally:
        win.close()


def test_a_port_that_does_not_exist_is_shown_not_fatal(qtbot, tmp_path):
    win = TherapistWindow("p2", "/dev/nonexistent-port", "a1-strength", "en", tmp_path)
    qtbot.addWidget(win)
    win.show()
    win.start()
    qtbot.waitUntil(lambda: "cannot open" in win.status.text(), timeout=10000)
    assert win.isVisible()
    win.close()


def test_languages_switch(qtbot, window):
    window.set_language("nl")
    assert window._labels["protocol"].text() == "Oefening"
    assert window.windowTitle().startswith("bbfeedback - bekkenbodem")
    window.set_language("en")
    assert window._labels["protocol"].text() == "Exercise"


def test_protocol_parameters_are_editable_before_start(window):
    window.select_protocol("b3-long-hold")
    boxes = window.phases.boxes
    hold = next(b for p, b in boxes.items() if p.field == "hold_s")
    rest = next(b for p, b in boxes.items() if p.field == "duration_s")
    reps = next(b for p, b in boxes.items() if p.field == "repetitions")
    target = next(b for p, b in boxes.items() if p.field == "target_pct_mvc")
    assert (hold.value(), rest.value(), reps.value(), target.value()) == (5.0, 6.0, 5, 60)
    hold.setValue(8.0)
    reps.setValue(6)
    target.setValue(70)
    p = window.chosen_protocol()
    work = [s for s in p.timeline() if s.phase.kind == "work"]
    assert len(work) == 6 and work[0].phase.hold_s == 8.0 and work[0].phase.duration_s > 8.0
    assert work[0].phase.target_pct_mvc == 70.0


@pytest.mark.parametrize("pid", protocols.builtin_ids())
def test_every_protocol_is_shown_per_phase_and_unchanged_when_left_alone(window, pid):
    """Issue 13: the form collapsed the lift's floors into one target (25 % for all three).
    Every work/rest phase is its own row; left alone, the protocol is the bundled one."""
    window.select_protocol(pid)
    proto = protocols.load(pid)
    phases = [ph for sec in proto.sections for ph in sec.phases
              if ph.kind in ("work", "rest", "baseline")]
    assert window.phases.rowCount() == len(phases)
    assert window.chosen_protocol() == proto


def test_one_lift_floor_is_edited_alone(window):
    window.select_protocol("b5-lift")
    targets = {p: b for p, b in window.phases.boxes.items() if p.field == "target_pct_mvc"}
    assert sorted(b.value() for b in targets.values()) == [25, 50, 75]
    floor2 = next(p for p, b in targets.items() if b.value() == 50)
    targets[floor2].setValue(55)
    work = [ph for sec in window.chosen_protocol().sections for ph in sec.phases
            if ph.kind == "work"]
    assert [ph.target_pct_mvc for ph in work] == [25, 55, 75]
    base = [ph for sec in protocols.load("b5-lift").sections for ph in sec.phases
            if ph.kind == "work"][1]
    assert work[1].band_pct_mvc == pytest.approx(tuple(b * 55 / 50 for b in base.band_pct_mvc))


def test_without_a_display_it_says_so_in_one_line():
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    out = subprocess.run([sys.executable, "-m", "bbfeedback.app.cli", "gui"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "no display" in out.stderr
    assert "QT_QPA_PLATFORM=offscreen" in out.stderr and len(out.stderr.splitlines()) == 1


def work_box(target_pct: float, band_pct: tuple[float, float]) -> TemplateBox:
    """A work step of the template at its % MVC target and band (the lift's boxes read
    these)."""
    return TemplateBox(0.0, 5.0, "work", "Knijp", "Squeeze", 1, target_pct=target_pct,
                       band_pct=band_pct)

def test_gui_entry_point_smoke_run(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-m", "bbfeedback.app.cli", "gui", "--device", "sim",
                          "--protocol", "a1-strength", "--out-dir", str(tmp_path),
                          "--quit-after", "1.5"], env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0 and "Traceback" not in out.stderr


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_calibration_mode_is_chosen_in_the_window(qtbot, tmp_path, lang):
    """Issue 12: the therapist picks "rest only, no MVC" (or "MVC of the previous session",
    which needs an earlier session of this patient: one line in the status bar, no start)."""
    win = TherapistWindow("sim", None, "a1-strength", lang, tmp_path, speed=12.0)
    qtbot.addWidget(win)
    box = win.calibration_mode
    assert box.itemText(box.findData("none")) == (
        "alleen rust, geen MVC (µV)" if lang == "nl" else "rest only, no MVC (µV)")
    box.setCurrentIndex(box.findData("previous"))
    win.patient.setText("P-917")
    assert win.start() is None and not win.controller.frame().running
    assert "P-917" in win.status.text() and "\n" not in win.status.text()
    box.setCurrentIndex(box.findData("none"))
    win.start()
    try:
        qtbot.waitUntil(lambda: bool(win.controller.frame().calibration), timeout=60000)
        cal = next(iter(win.controller.frame().calibration.values()))
        assert cal.mvc is None and cal.source == "session-rest"
        assert win.controller.frame().cue.cue != "squeeze_max"  # no maximal squeezes
    finally:
        win.controller.stop()
        win.close()


@pytest.mark.parametrize(("floors", "distinct"), [((25, 50, 75), 3), ((25, 25, 25), 0)])
def test_lift_floors_set_in_the_window_are_scored(qtbot, tmp_path, floors, distinct):
    """Issue 13: floors at 25/50/75 % give floors_distinct on every lift; at 25/25/25 on
    none (the simulated patient follows the floors the window gives it)."""
    win = TherapistWindow("sim", None, "b5-lift", "nl", tmp_path, speed=40.0)
    qtbot.addWidget(win)
    win.record.setChecked(False)
    targets = sorted(((b.value(), b) for p, b in win.phases.boxes.items()
                      if p.field == "target_pct_mvc"), key=lambda vb: vb[0])
    for (_, box), value in zip(targets, floors, strict=True):
        box.setValue(value)
    win.start()
    try:
        qtbot.waitUntil(lambda: win.controller.frame().status == "finished", timeout=90000)
        summary = win.controller.result.summary
        assert summary["floors_distinct"] == distinct and summary["reps"] == 3
    finally:
        win.controller.stop()
        win.close()


@pytest.mark.parametrize("pid", protocols.builtin_ids())
def test_patient_view_is_drawn_from_the_protocol(qtbot, pid):
    """Issue 13: four floors for a three-floor lift, and the level line in floor 2 while
    floor 1 was lit. As many boxes as targets; the lit box is the one the line is in."""
    from bbfeedback.gui.patient import PatientView, floors_of

    view = PatientView("nl")
    qtbot.addWidget(view)
    proto = protocols.load(pid)
    view.set_protocol(proto)
    targets = {ph.target_pct_mvc for s in proto.sections for ph in s.phases
               if ph.kind == "work" and ph.target_pct_mvc is not None}
    floors = floors_of(proto, "nl")
    assert len(floors) == len(targets)
    if pid == "b5-lift":
        assert [f.label for f in floors] == ["Verdieping 1", "Verdieping 2", "Verdieping 3"]
    for k, f in enumerate(floors):
        view.lift.set_level(f.target)  # each target lights its own box, its line inside it
        assert view.lift.lit() == k
        assert view.lift.y_of(f.hi) <= view.lift.y_of(f.target) <= view.lift.y_of(f.lo)
    view.lift.set_level(0.0)
    assert view.lift.lit() is None  # at rest: nothing lit
    for sec in proto.sections:  # inside the band of the step it is in: that step's box
        for ph in sec.phases:
            if ph.kind != "work" or ph.band_pct_mvc is None or ph.target_pct_mvc is None:
                continue
            now = work_box(ph.target_pct_mvc, ph.band_pct_mvc)
            own = [f.target for f in floors].index(ph.target_pct_mvc)
            for pct in (ph.band_pct_mvc[0], ph.target_pct_mvc,
                        min(ph.band_pct_mvc[1], view.lift.top)):
                view.lift.set_level(pct, now)
                assert view.lift.lit() == own, (ph.target_pct_mvc, pct)


def test_glazer_building_lights_the_maximal_box_for_a_squeeze_in_its_band(qtbot):
    """Walkthrough: Glazer's 100 % band starts at 50 % MVC; a squeeze at 60 % was inside
    the green band and scored "ja" while the building lit its "50 %" box."""
    from bbfeedback.gui.patient import PatientView

    view = PatientView("nl")
    qtbot.addWidget(view)
    view.set_protocol(protocols.load("glazer"))
    labels = [f.label for f in view.lift.floors]
    view.lift.set_level(60.0, work_box(100.0, (50.0, 300.0)))
    assert labels[view.lift.lit()] == "100 %"
    view.lift.set_level(60.0, work_box(50.0, (25.0, 80.0)))
    assert labels[view.lift.lit()] == "50 %"
    view.lift.set_level(60.0)  # between steps: by the level alone
    assert labels[view.lift.lit()] == "50 %"


@pytest.mark.parametrize("args, starts", [
    (["--device", "sim", "--protocol", "b5-lift"], True),
    (["--protocol", "b5-lift"], False),  # interactive: waits for Start
])
def test_gui_with_device_and_protocol_starts_at_once(tmp_path, args, starts):
    """Issue 13: the README's main command opened an idle window at t = 0.0 s. Without a
    patient code the file is recorded without a patient (never under a default code)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "BBFEEDBACK_DB": str(tmp_path / "h")}
    run = subprocess.run([*BB, "gui", *args, "--speed", "10", "--lang", "nl",
                          "--out-dir", str(tmp_path / "out"), "--quit-after", "4"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    files = list((tmp_path / "out").glob("*.edf")) if (tmp_path / "out").exists() else []
    assert bool(files) == starts
    if starts:
        assert files[0].name.startswith("X-b5-lift-")
        assert read_recording(files[0]).meta.settings["protocol"] == "b5-lift"
    assert not (tmp_path / "h").exists()  # no history without a patient code


@pytest.mark.parametrize("pid", protocols.builtin_ids())
def test_every_protocol_through_the_window_equals_analyze_of_its_file(qtbot, tmp_path, pid):
    """Issue 13: for every bundled protocol a session on the simulated sensor: the table, the
    patient view's floors and the summary are those `analyze` gives for the saved file."""
    from bbfeedback.gui.patient import floors_of

    win = TherapistWindow("sim", None, pid, "nl", tmp_path, speed=60.0)
    qtbot.addWidget(win)
    win.patient.setText("P-100")
    win.start()
    try:
        qtbot.waitUntil(lambda: win.controller.frame().status == "finished", timeout=120000)
        qtbot.waitUntil(lambda: win.controller.result is not None, timeout=10000)
        win.redraw()
        result = win.controller.result.to_dict()
        offline = analyze(read_recording(win.recording_path), protocol=protocols.load(pid))
        assert offline["reps"] == result["reps"] and offline["summary"] == result["summary"]
        assert win.table.rowCount() == len(result["reps"]) > 0
        assert [win.table.item(i, 0).text() for i in range(win.table.rowCount())] == [
            str(r["index"]) for r in result["reps"]]
        assert result["summary"]["text_nl"] in win.summary.text()
        assert "Opgeslagen in de geschiedenis van de patiënt." in win.summary.text()
        assert f"opgeslagen in {win.recording_path}" in win.summary.text()  # where it went
        assert win.patient_view.lift.floors == floors_of(protocols.load(pid), "nl")
    finally:
        win.controller.stop()
        win.close()


def test_sound_switches_and_a_chime_at_every_cue(qtbot, tmp_path, monkeypatch):
    """Issue 13: a tone and cue chimes, on/off and volume in the window. No sound device
    here: switching on says so in the status line; the chimes are counted instead."""
    win = TherapistWindow("sim", None, "a1-strength", "nl", tmp_path, speed=30.0)
    qtbot.addWidget(win)
    assert win.tone_box.text() == "Toon volgt het aanspannen"
    if not win.sound.start():  # no device (CI): one Dutch line that stays, boxes unticked
        win.tone_box.setChecked(True)
        win.redraw()  # (walkthrough: the next redraw wiped it, the box stayed ticked)
        assert "Geen geluid op deze computer (" in win.status.text()
        assert "\n" not in win.status.text() and not win.tone_box.isChecked()
    monkeypatch.setattr(win.sound, "start", lambda: True)
    chimes = []
    monkeypatch.setattr(win.sound.synth, "chime", lambda: chimes.append(1))
    win.chime_box.setChecked(True)
    win.tone_box.setChecked(True)
    win.volume.setValue(55)
    assert win.sound.synth.volume == 0.55
    win.record.setChecked(False)
    win.start()
    try:
        qtbot.waitUntil(lambda: len(win.controller.frame().reps) >= 2, timeout=60000)
        assert win.sound.synth.tone_on  # follows the level while the session runs
        assert len(chimes) >= 4  # calibration and exercise cues, each once
    finally:
        win.controller.stop()
        win.close()


@pytest.mark.parametrize("lang", ["nl", "en"])
@pytest.mark.parametrize("pid", ["a1-strength", "a3-quick", "b5-lift", "glazer"])
def test_screenshots_of_therapist_and_patient_views(qtbot, tmp_path, pid, lang):
    """Issue 13/24: both views for a1, a3, b5 and glazer in Dutch and English, mid-session (into
    docs/ with BBFEEDBACK_SCREENSHOTS=1). The patient view shows the protocol's floors."""
    from bbfeedback.gui.patient import floors_of

    docs = docs_dir(tmp_path)
    win = TherapistWindow("sim", None, pid, lang, tmp_path, speed=12.0)
    qtbot.addWidget(win)
    win.record.setChecked(False)
    win.resize(1400, 860)
    win.show()
    win.patient_view.show()
    win.start()
    try:
        qtbot.waitUntil(lambda: len(win.controller.frame().reps) >= 2, timeout=90000)
        qtbot.wait(200)
        assert win.patient_view.lift.floors == floors_of(protocols.load(pid), lang)
        assert win.rep.text().startswith("herhaling " if lang == "nl" else "repetition ")
        assert win.grab().save(str(docs / f"therapist-{pid}-{lang}.png"))
        assert win.patient_view.grab().save(str(docs / f"patient-{pid}-{lang}.png"))
    finally:
        win.controller.stop()
        win.close()


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_no_cue_is_cut_off_and_the_window_keeps_its_width(qtbot, tmp_path, lang):
    """Walkthrough finding: the lift's floor-3 cue was cut off in the patient view and made
    the therapist window 1926 px wide. Every cue of every protocol fits, in both views."""
    from bbfeedback.gui.patient import PatientView
    from PySide6 import QtCore, QtGui

    win = TherapistWindow("sim", None, "b5-lift", lang, tmp_path)
    view = PatientView(lang)
    qtbot.addWidget(win)
    qtbot.addWidget(view)
    win.show()
    view.show()
    width = win.width()
    cues = {ph.cue_nl if lang == "nl" else ph.cue_en for pid in protocols.builtin_ids()
            for s in protocols.load(pid).sections for ph in s.phases}
    for cue in cues:
        for label in (view.cue, win.cue):
            label.setText(cue)
            box = label.contentsRect()
            need = QtGui.QFontMetrics(label.font()).boundingRect(
                box, int(QtCore.Qt.AlignCenter | QtCore.Qt.TextWordWrap), cue)
            assert need.height() <= box.height() and need.width() <= box.width(), cue
        qtbot.wait(1)
        assert win.width() == width, cue
    # the patient's plot has no axes or units; "now" is a marked line in her language
    assert not view.plot.getPlotItem().getAxis("left").isVisible()
    assert not view.plot.getPlotItem().getAxis("bottom").isVisible()
    assert view.plot.now_line.label.textItem.toPlainText() == ("nu" if lang == "nl" else "now")


def test_replay_shows_the_files_protocol_and_patient_in_the_form(qtbot, window, tmp_path):
    """Walkthrough finding: replaying a Glazer file left "a1-strength" and its steps in the
    form (Start would have run a1)."""
    window.open_recording(str(SAMPLES / "lift.edf"), speed=60.0)
    assert window.protocol_id == "b5-lift"
    assert window.patient.text() == "SAMPLE-01"
    assert window.phases.rowCount() == 4
    window.controller.stop()


def test_a_session_stopped_early_does_not_say_finished(qtbot, window):
    """Walkthrough finding: a session stopped after one rep read "Session finished"."""
    window.record.setChecked(False)
    window.start()
    qtbot.waitUntil(lambda: len(window.controller.frame().reps) >= 1, timeout=60000)
    window.controller.stop()
    qtbot.waitUntil(lambda: window.controller.frame().status == "finished", timeout=10000)
    window.redraw()
    assert window.cue.text() == "Session stopped before its end"
    assert "Session not finished: " in window.summary.text()


def test_exercises_are_listed_by_name_in_the_language(qtbot, window, tmp_path):
    """Walkthrough finding: the list showed ids ("b5-lift"). Names, in the window's language;
    a therapist's own protocol file is listed too."""
    window.select_protocol("b5-lift")
    window.set_language("nl")
    assert window.protocol.currentText() == "Liftoefening (b5-lift)"
    window.set_language("en")
    assert window.protocol.currentText() == "The lift (b5-lift)"
    mine = tmp_path / "my-a1.toml"
    mine.write_text((protocols.HERE / "a1-strength.toml").read_text().replace(
        'id = "a1-strength"', 'id = "my-a1"'))
    window.select_protocol(str(mine))
    assert window.protocol_id == str(mine) and window.protocol.currentText() == "my-a1"
    assert window.chosen_protocol().id == "my-a1"


def test_sigterm_closes_the_window_and_saves_the_recording(tmp_path):
    """Found in the fresh-clone check: SIGTERM (a desktop logging out, `kill`) killed the
    window mid-session and left its recording to `bbfeedback recover`."""
    import os
    import signal
    import subprocess
    import time

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.Popen([*BB, "gui", "--device", "sim",
                             "--protocol", "a1-strength", "--out-dir", str(tmp_path),
                             "--speed", "5"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob("*.edf")) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert "Traceback" not in err, err
    (edf,) = list(tmp_path.glob("*.edf"))
    assert not list(tmp_path.glob("*.recording"))  # finished, not left to recover
    assert read_recording(edf).duration_s > 1


def test_a_closed_window_is_freed_with_its_session(qtbot, tmp_path):
    """Found measuring memory: two slots were lambdas holding the window, which Qt kept
    alive, so every closed window kept its session buffers (17 MB each at 2 kHz)."""
    import gc
    import weakref

    from PySide6 import QtWidgets

    win = TherapistWindow("sim", None, "a1-strength", "en", tmp_path, speed=60.0)
    win.show()
    win.record.setChecked(False)
    win.start()
    frame = win.controller.frame
    qtbot.waitUntil(lambda: frame().t_s > 5.0, timeout=30000)
    win.volume.setValue(40)  # the slots once held by lambdas still work
    assert win.sound.synth.volume == 0.4
    win.select_protocol("b5-lift")
    assert win.phases.rowCount() == 4
    gone = weakref.ref(win)
    win.close()
    del win
    QtWidgets.QApplication.processEvents()
    gc.collect()
    assert gone() is None


def test_a_problem_stays_in_the_status_line_until_the_next_action(qtbot, window, tmp_path):
    """Attacker: an error shown by Start or Open was wiped by the next redraw (16 ms)."""
    empty = tmp_path / "empty.edf"
    empty.write_bytes(b"")
    window.open_recording(str(empty))
    for _ in range(3):
        window.redraw()
    assert "Cannot open the recording: " in window.status.text()
    assert "empty file" in window.status.text()
    window.record.setChecked(False)
    window.start()  # a new action clears it
    window.redraw()
    assert "empty file" not in window.status.text()
    window.controller.stop()


def test_a_start_whose_recording_cannot_be_made_leaves_the_window_idle(
        qtbot, window, monkeypatch):
    """Attacker: a recording that could not be created (its name taken, a folder not
    writable) left the sensor running and the window on "connecting…" for good."""
    import threading

    from bbfeedback.gui import controller as ctl

    from bbfeedback.errors import InputError

    def refuse(*args, **kwargs):
        raise InputError("exists already; give another name or --force", "x.edf")

    monkeypatch.setattr(ctl, "SafeRecorder", refuse)
    assert window.start() is None
    window.redraw()
    assert "exists already" in window.status.text()
    assert not window.controller.frame().running and window.start_button.text() == "Start"
    assert "simulated" not in [t.name for t in threading.enumerate()]
    monkeypatch.undo()
    assert window.start() is not None  # and it starts again
    qtbot.waitUntil(lambda: window.controller.frame().t_s > 1.0, timeout=20000)
    window.controller.stop()
    assert window.controller.recorder is not None


def test_a_stop_while_starting_ends_the_session_and_closes_its_file(qtbot, window, monkeypatch):
    """Attacker: Ctrl-C handled inside Start (the window closing) left the worker on no
    source (AttributeError); the run now ends at once and the file is closed."""
    ctl = window.controller
    made = ctl._live_sinks

    def sinks_then_stop(*args):
        out = made(*args)
        ctl.stop()  # what the window's close does, between two lines of start_live
        return out

    monkeypatch.setattr(ctl, "_live_sinks", sinks_then_stop)
    path = window.start()
    qtbot.waitUntil(lambda: ctl.frame().status == "finished", timeout=10000)
    from bbfeedback.recording.repair import marker_path

    assert not marker_path(path).exists()
    assert read_recording(path).signals[0].data.size == 0


def test_an_own_protocol_file_that_breaks_is_said_and_not_run(qtbot, window, tmp_path):
    """Attacker: re-selecting a therapist's own file that no longer read raised in a slot,
    and Start ran it as it was before."""
    mine = tmp_path / "my-a1.toml"
    mine.write_text((protocols.HERE / "a1-strength.toml").read_text().replace(
        'id = "a1-strength"', 'id = "my-a1"'))
    window.select_protocol(str(mine))
    mine.write_text("this is [not toml")
    window.select_protocol("a1-strength")
    window.select_protocol(str(mine))
    window.redraw()
    assert "my-a1.toml" in window.status.text() and window.phases.rowCount() == 0
    assert window.start() is None and not window.controller.frame().running


def _ended(win: TherapistWindow) -> bool:
    """The session is over for the window: the history answered and the last frame is out."""
    hist = win.controller.history
    return hist is not None and hist.added is not None \
        and win.controller.frame().status == "finished"


def _redrawn(win: TherapistWindow) -> bool:
    win.redraw()
    return True


def test_the_same_session_twice_is_said_in_dutch(qtbot, tmp_path, monkeypatch):
    """Walkthrough: a second simulated session (the same samples) was refused by the
    history in English ("a copy of ..., which is in the history already")."""
    monkeypatch.setenv("BBFEEDBACK_DB", str(tmp_path / "h.sqlite3"))
    win = TherapistWindow("sim", None, "b4-wink", "nl", tmp_path, speed=60.0)
    qtbot.addWidget(win)
    win.patient.setText("P-9")
    # calibrated anew each time (else the second takes this visit's MVC: another session)
    win.calibration_mode.setCurrentIndex(win.calibration_mode.findData("gentle"))
    first = None
    for _ in range(2):
        path = win.start()
        first = first or path
        qtbot.waitUntil(lambda: _ended(win), timeout=60000)
    # the history answers before the last frame is published (the sinks finish in turn):
    # wait for what the window shows, not for the worker's state (failed once under load)
    said = f"dezelfde meting staat er al in (als {Path(first).name})"
    qtbot.waitUntil(lambda: _redrawn(win) and said in win.summary.text(), timeout=30000)
    assert "Opgeslagen in de geschiedenis" not in win.summary.text()
    win.close()


def test_two_try_outs_on_the_simulated_sensor_are_two_sessions(qtbot, tmp_path, monkeypatch):
    """Walkthrough: the README's quick start, a second patient on the simulated sensor, was
    refused by the history as "a copy of" the first (the sensor gave the same samples each
    time). ``bbfeedback gui`` (seed None) simulates another patient each session."""
    monkeypatch.setenv("BBFEEDBACK_DB", str(tmp_path / "h.sqlite3"))
    win = TherapistWindow("sim", None, "b4-wink", "nl", tmp_path, speed=60.0, seed=None)
    qtbot.addWidget(win)
    win.calibration_mode.setCurrentIndex(win.calibration_mode.findData("gentle"))
    for code in ("P-11", "P-12"):
        win.patient.setText(code)
        win.start()
        qtbot.waitUntil(lambda: _ended(win), timeout=60000)
        qtbot.waitUntil(lambda: _redrawn(win) and "geschiedenis" in win.summary.text(),
                        timeout=30000)
        assert "Opgeslagen in de geschiedenis" in win.summary.text(), win.summary.text()
    win.close()


def test_the_second_exercise_of_a_visit_takes_its_mvc(qtbot, tmp_path, monkeypatch):
    """Issue 21: one calibration per visit. The window's default ("as the exercise says")
    measures the MVC once; the next exercise for the same patient on the same device rests
    10 s and takes it, and says so in the calibration line."""
    monkeypatch.setenv("BBFEEDBACK_DB", str(tmp_path / "h.sqlite3"))
    win = TherapistWindow("sim", None, "b4-wink", "en", tmp_path, speed=60.0)
    qtbot.addWidget(win)
    win.patient.setText("P-10")
    sources, modes = [], []
    for pid in ("b4-wink", "a3-quick"):
        win.select_protocol(pid)
        path = win.start()
        qtbot.waitUntil(lambda: _ended(win), timeout=60000)
        sources.append(win.controller.frame().calibration["pfm"].source)
        modes.append(read_recording(path).meta.settings["calibration"])
    win.redraw()
    assert sources == ["session-gentle", "session-visit"] and modes == ["gentle", "visit"]
    assert "MVC from earlier this visit" in win.calibration.text()
    win.close()


def test_a_session_stopped_in_its_calibration_says_so(qtbot, tmp_path, monkeypatch):
    """Re-check: Stop during the calibration read "Session finished", and nothing said why
    it was not in the history."""
    monkeypatch.setenv("BBFEEDBACK_DB", str(tmp_path / "h.sqlite3"))
    win = TherapistWindow("sim", None, "a1-strength", "en", tmp_path, speed=10.0)
    qtbot.addWidget(win)
    win.patient.setText("C-1")
    win.start()
    qtbot.waitUntil(lambda: win.controller.frame().t_s > 5.0, timeout=20000)
    win.controller.stop()
    qtbot.waitUntil(lambda: win.controller.frame().status == "finished", timeout=10000)
    win.redraw()
    assert win.cue.text() == "Session stopped before its end"
    assert win.status.text().startswith("session stopped before its end")
    assert "stopped before any repetition (during the calibration)" in win.summary.text()
    win.close()


def test_opening_a_bad_file_keeps_the_live_session(qtbot, window, tmp_path):
    """Re-check: opening an unreadable file stopped the running session first."""
    window.record.setChecked(False)
    window.start()
    qtbot.waitUntil(lambda: window.controller.frame().t_s > 2.0, timeout=20000)
    bad = tmp_path / "garbage.edf"
    bad.write_bytes(b"garbage" * 100)
    window.open_recording(str(bad))
    t = window.controller.frame().t_s
    qtbot.waitUntil(lambda: window.controller.frame().t_s > t + 1.0, timeout=20000)
    assert window.controller.frame().running
    window.redraw()
    assert "not a readable EDF/BDF file" in window.status.text()
    window.controller.stop()


@pytest.mark.parametrize("lang", ["nl", "en"])
@pytest.mark.parametrize("pid", ["a1-strength", "a3-quick", "b5-lift", "glazer"])
def test_patient_view_speaks_to_the_patient(qtbot, pid, lang):
    """Issue 24: before the start she reads "wacht op de start"; after a repetition met a
    calm "goed zo", after one missed "probeer het nog eens", each for a few seconds (an
    assessment measures: no verdict); the target is a line inside a zone, not a band open
    to the top of the plot."""
    from bbfeedback.gui.i18n import tr
    from bbfeedback.gui.patient import PRAISE_S, PatientView

    from bbfeedback.app.frames import Frame

    view = PatientView(lang)
    qtbot.addWidget(view)
    view.set_protocol(protocols.load(pid))
    view.draw(Frame(status="idle", running=False), 0, None)
    assert view.cue.text() == tr("wait_start", lang)
    assert view.windowTitle().startswith(tr("patient_title", lang))
    met = RepScore.from_dict({"index": 1, "met": True, "flags": []})
    missed = RepScore.from_dict({"index": 2, "met": False, "flags": ["short_hold"]})
    assessment = pid == "glazer"
    view.draw(Frame(t_s=10.0, running=True, status="running", reps=(met,)), 0, None)
    said = {"praise": "Herhaling 1: goed zo!", "try_again": "Herhaling 2: probeer het nog eens"}
    if lang == "en":
        said = {"praise": "Repetition 1: well done!",
                "try_again": "Repetition 2: try it once more"}
    assert view.praise.text() == ("" if assessment else said["praise"])
    view.draw(Frame(t_s=10.0 + PRAISE_S + 0.1, running=True, status="running", reps=(met,)),
              0, None)
    assert view.praise.text() == ""
    view.draw(Frame(t_s=20.0, running=True, status="running", reps=(met, missed)), 0, None)
    assert view.praise.text() == ("" if assessment else said["try_again"])
    work = TemplateBox(21.0, 26.0, "work", "Knijp", "Squeeze", 1, band=(60.0, 300.0),
                       target=100.0)
    view.draw(Frame(t_s=20.0, running=True, status="running", template=(work,)), 0, None)
    zone = view.plot._bands[0].rect()
    line = view.plot._targets[0].rect()
    assert zone.top() == pytest.approx(60.0) and zone.bottom() == pytest.approx(140.0)
    assert line.top() < 100.0 < line.bottom() and view.plot._targets[0].isVisible()


def test_replay_is_paused_sought_and_sped_in_the_window(qtbot, window):
    """Issue 24: replay had no pause, seek or speed control in the window, and "Opnemen"
    stayed shown. The bar appears with a file and goes with a live session; pause holds
    the frame time, a seek jumps there (also after the end: the file plays again from
    there), the speed reaches the replay."""
    window.open_recording(str(SAMPLES / "a1_strength_emg.edf"), speed=2.0)
    bar = window.replay_bar
    assert not bar.isHidden() and window.record.isHidden()
    duration = window.controller.replay.duration_s
    assert bar.duration_s == pytest.approx(duration)
    qtbot.waitUntil(lambda: window.controller.frame().t_s > 1.0, timeout=60000)
    bar.button.click()  # pause
    assert bar.paused and bar.button.text() == "Play"
    qtbot.wait(300)  # a block already handed out may still arrive
    held = window.controller.frame().t_s
    qtbot.wait(600)
    assert window.controller.frame().t_s == held
    bar.button.click()  # play again
    bar.speeds.setCurrentIndex(bar.speeds.findData(30.0))
    assert window.controller.replay.speed == 30.0
    window.seek_replay(30.0)
    qtbot.waitUntil(lambda: 30.0 <= window.controller.frame().t_s, timeout=60000)
    qtbot.waitUntil(lambda: window.controller.frame().status == "finished", timeout=120000)
    window.seek_replay(duration - 5.0)  # after its end: from there again
    qtbot.waitUntil(lambda: window.controller.frame().status != "finished"
                    or window.controller.frame().t_s >= duration - 5.0, timeout=60000)
    qtbot.waitUntil(lambda: window.controller.frame().status == "finished", timeout=120000)
    window.redraw()
    assert bar.slider.value() == bar.slider.maximum()
    window.record.setChecked(False)
    window.start()  # live again: no replay bar, the record choice back
    try:
        assert bar.isHidden() and not window.record.isHidden()
    finally:
        window.controller.stop()


def test_an_idle_window_does_not_redraw_its_plots(qtbot, window, monkeypatch):
    """Issue 24: the window used 40-55 % of a core after "Sessie klaar": it redrew the
    same frame 60 times a second. A frame already drawn is not drawn again (its texts
    once a second, ``REFRESH_S``), and the timer slows down until frames come again."""
    from bbfeedback.gui.therapist import FRAME_MS, IDLE_AFTER, IDLE_MS

    window.open_recording(str(SAMPLES / "a1_strength_emg.edf"), speed=60.0)
    qtbot.waitUntil(lambda: window.controller.frame().status == "finished", timeout=120000)
    window.timer.stop()  # the test ticks itself
    drawn = []
    original = type(window.plot).draw

    def counted(plot, *a, **k):
        drawn.append(1)
        return original(plot, *a, **k)

    monkeypatch.setattr(type(window.plot), "draw", counted)  # undone after: no cycle left
    window.set_language("en")  # drawn once more (as a change would)
    for _ in range(3 * IDLE_AFTER):
        window.redraw()
    assert len(drawn) == 1
    assert window.timer.interval() == IDLE_MS
    window.controller.history = type("Answer", (), {"added": True, "copy_of": None})()
    window._drawn_at -= 2.0  # a second later: the texts follow what changed beside the frame
    window.redraw()
    assert len(drawn) == 1 and "history" in window.summary.text().lower()
    window.set_language("nl")  # a change of language draws at once, at full rate
    before = len(drawn)
    window.redraw()
    assert len(drawn) == before + 1 and window.timer.interval() == FRAME_MS


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_no_name_is_cut_off_in_the_form(qtbot, tmp_path, lang):
    """Issue 24: "Aanspannen en ontspannen (b2-", "Uithoudingsvermogen (a2-endur": every
    protocol's name and every calibration choice fits its box, in both languages."""
    from PySide6 import QtWidgets

    win = TherapistWindow("sim", None, "a1-strength", lang, tmp_path)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    for box in (win.protocol, win.calibration_mode):
        opt = QtWidgets.QStyleOptionComboBox()
        box.initStyleOption(opt)
        room = box.style().subControlRect(QtWidgets.QStyle.CC_ComboBox, opt,
                                          QtWidgets.QStyle.SC_ComboBoxEditField, box).width()
        for i in range(box.count()):
            text = box.itemText(i)
            assert box.fontMetrics().horizontalAdvance(text) <= room, (text, room)


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_window_says_where_the_file_goes_and_that_it_is_anonymous(qtbot, tmp_path, lang):
    """Issue 24: files were written without a word: a first run without a patient code
    wrote X-….edf, and after the end the window still said "opname naar …". While the
    session runs it says where it records, and without a code that it records anonymously;
    after the end where the file was saved."""
    from bbfeedback.gui.i18n import tr

    win = TherapistWindow("sim", None, "a3-quick", lang, tmp_path, speed=30.0)
    qtbot.addWidget(win)
    win.show()
    path = win.start()
    try:
        qtbot.waitUntil(lambda: f"{tr('recording_to', lang)} {path}" in win.summary.text(),
                        timeout=30000)
        assert tr("anonymous", lang) in win.summary.text()
        qtbot.waitUntil(lambda: win.controller.frame().status == "finished", timeout=180000)
        qtbot.waitUntil(lambda: f"{tr('saved_to', lang)} {path}" in win.summary.text(),
                        timeout=30000)
    finally:
        win.controller.stop()
        win.close()
    win2 = TherapistWindow("sim", None, "a3-quick", lang, tmp_path, speed=30.0)
    qtbot.addWidget(win2)
    win2.patient.setText("P-77")
    win2.start()
    try:
        qtbot.waitUntil(lambda: tr("recording_to", lang) in win2.summary.text(), timeout=30000)
        assert tr("anonymous", lang) not in win2.summary.text()
    finally:
        win2.controller.stop()
        win2.close()


def test_the_form_is_locked_while_a_session_runs_and_flags_are_never_cut_off(qtbot, tmp_path):
    """Walkthrough findings: a patient code typed during a session was shown but not
    recorded; the flags column ran off the table behind a scroll bar."""
    win = TherapistWindow("sim", None, "a3-quick", "nl", tmp_path, speed=30.0)
    qtbot.addWidget(win)
    win.resize(1400, 860)
    win.show()
    win.record.setChecked(False)
    win.start()
    try:
        qtbot.waitUntil(lambda: not win.patient.isEnabled(), timeout=30000)
        assert not win.protocol.isEnabled() and not win.posture.isEnabled()
        qtbot.waitUntil(lambda: win.controller.frame().status == "finished", timeout=180000)
        qtbot.waitUntil(lambda: win.patient.isEnabled(), timeout=30000)
        win.redraw()
        bar = win.table.horizontalScrollBar()
        assert bar.maximum() == 0  # nothing to scroll to
        last = win.table.horizontalHeader().sectionViewportPosition(win.table.columnCount() - 1)
        assert last + win.table.columnWidth(win.table.columnCount() - 1) <= \
            win.table.viewport().width() + 1
    finally:
        win.controller.stop()
        win.close()


def test_a_closed_window_is_freed_without_the_garbage_collector(qtbot, tmp_path):
    """A loaded run of the suite crashed (SIGSEGV) while the garbage collector freed a
    therapist window: its replay bar held the window's methods, a reference cycle through
    Qt widgets that only the collector could break, in an order Qt does not survive. A
    closed window, its patient view included, is freed as soon as it is dropped."""
    import gc
    import weakref

    win = TherapistWindow("sim", None, "a1-strength", "nl", tmp_path)
    win.show()
    win.patient_view.show()
    qtbot.wait(50)
    win.close()
    qtbot.wait(50)
    refs = [weakref.ref(win), weakref.ref(win.patient_view), weakref.ref(win.replay_bar)]
    was = gc.isenabled()
    gc.disable()
    try:
        del win
        assert [r() is None for r in refs] == [True, True, True]
    finally:
        if was:
            gc.enable()


def test_a_file_that_cannot_be_opened_is_said_in_the_windows_language(qtbot, tmp_path):
    """Issue 24: the window's problems in its language (it said "no such file" in Dutch)."""
    win = TherapistWindow("sim", None, "a1-strength", "nl", tmp_path)
    qtbot.addWidget(win)
    win.open_recording(str(tmp_path / "weg.edf"))
    win.redraw()
    assert "Kan de opname niet openen" in win.status.text()
    assert "dit bestand bestaat niet" in win.status.text(), win.status.text()
    win.close()


def test_gui_posture_option_is_the_sessions_posture(tmp_path):
    """Issue 24: the quick start's ``--posture`` worked for record only; the window's
    session is recorded with the posture given on its command line."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "BBFEEDBACK_DB": str(tmp_path / "h")}
    run = subprocess.run([*BB, "gui", "--device", "sim", "--protocol", "a3-quick", "--posture",
                          "standing", "--speed", "10", "--out-dir", str(tmp_path / "out"),
                          "--quit-after", "3"], capture_output=True, text=True, env=env,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    (file,) = (tmp_path / "out").glob("*.edf")
    meta = read_recording(file).meta
    assert (meta.last("posture") or (meta.last("device") or {}).get("posture")) == "standing"
