"""The therapist's window: the assembly of its parts, and the actions that start, stop and
replay a session (through ``gui/controller.py``).

The parts draw frames and say what the therapist does, as Qt signals: the form
(``session_form``), the cue head and legend (``cue_head``), the plots (``live_plot``), the
replay bar, the score table (``score_table``), the lines of text (``status_panel``), the
sound switches (``sound_controls``) and the protocol's parameters (``parameters``). What
those lines say is decided without Qt, in ``session_text``. No part holds the window: a
reference cycle through Qt widgets is freed by the garbage collector in an order Qt does not
survive."""

from __future__ import annotations

import secrets
import time
from datetime import datetime
from pathlib import Path

from bbfeedback.gui import session_text as said
from bbfeedback.gui.controller import LiveController
from bbfeedback.gui.cue_head import CueHead, Legend
from bbfeedback.gui.i18n import system_language, tr
from bbfeedback.gui.live_plot import LivePlot, RawPlot
from bbfeedback.gui.parameters import PhaseTable
from bbfeedback.gui.patient import PatientView
from bbfeedback.gui.replay_bar import ReplayBar
from bbfeedback.gui.score_table import ScoreTable
from bbfeedback.gui.session_form import SessionForm
from bbfeedback.gui.sound_controls import SoundControls
from bbfeedback.gui.status_panel import CalibrationLine, StatusLine, SummaryLines
from PySide6 import QtCore, QtWidgets

from bbfeedback import texts as words
from bbfeedback.app.recorder import check_patient_id
from bbfeedback.app.replay import replayable
from bbfeedback.app.visit import calibration_for
from bbfeedback.errors import InputError
from bbfeedback.exercise import protocols
from bbfeedback.recording.outputs import check_folder

FRAME_MS = 16  # ~60 fps: the display's rate
PANEL_PX = 350  # the form on the left: every protocol's name fits
IDLE_MS = 250  # the timer while the frame stays the same (a session ended, idle)
IDLE_AFTER = 10  # unchanged ticks before the timer slows to IDLE_MS
REFRESH_S = 1.0  # an unchanged frame's texts are drawn again this often


class TherapistWindow(QtWidgets.QMainWindow):
    def __init__(self, device: str = "sim", port: str | None = None,
                 protocol: str = "a1-strength", lang: str | None = None,
                 out_dir: str | Path | None = None, speed: float = 1.0,
                 seed: int | None = 0):
        """``seed``: the simulated patient's (None: another one each session, so two try-out
        sessions are two recordings, not a copy the history refuses)."""
        super().__init__()
        self.seed = seed
        self.lang = lang or system_language()
        self.speed = speed
        self.out_dir = Path(out_dir) if out_dir else Path.home() / "bbfeedback-sessions"
        self.controller = LiveController()
        self.patient_view = PatientView(self.lang)
        self.main, self.accessory = 0, None
        self._last_rep: int | None = None
        self._total_reps = 0  # of the session's protocol (set when it starts)
        self.recording_path: Path | None = None
        self.replay_path: Path | None = None  # the file replayed (None: live)
        self._replay_line = ""
        self._replay_rec = None  # the recording replayed
        self._notice = ""  # a problem the therapist must see: kept until the next action
        self._anonymous = False  # the session runs without a patient code
        self.mains = "50"  # the mains frequency notched live (`gui --mains`)
        self._build(device, port, protocol)
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self.redraw)
        self.timer.start(FRAME_MS)
        self.frames = 0
        self._drawn = None  # the frame drawn last: an unchanged one is drawn again seldom
        self._drawn_at = 0.0
        self._unchanged = 0  # ticks since the frame last changed
        self.retranslate()

    # --- layout ----------------------------------------------------------------------------
    def _build(self, device: str, port: str | None, protocol: str) -> None:
        """The form and its buttons on the left, the cue, plots and scores beside them.
        Slots are methods, never lambdas holding self: Qt keeps a connected lambda alive, and
        with it the closed window and its session buffers (17 MB per window)."""
        self.form = SessionForm(device, port, protocol, self.lang)
        self.form.protocol_chosen.connect(self._load_parameters)
        self.form.language_chosen.connect(self.set_language)
        self.phases = PhaseTable(self.lang)  # per section and phase: never collapsed
        self.sound_controls = SoundControls()
        self.sound_controls.unavailable.connect(self._no_sound)
        self.head, self.legend = CueHead(), Legend()
        self.plot, self.raw_plot = LivePlot(), RawPlot()
        self.plot.setLabel("left", "µV RMS")
        self.replay_bar = ReplayBar()  # (signals to methods: no reference cycle)
        self.replay_bar.paused_changed.connect(self.pause_replay)
        self.replay_bar.sought.connect(self.seek_replay)
        self.replay_bar.speed_chosen.connect(self.replay_speed)
        self.replay_bar.hide()  # only while a file is replayed
        self.table = ScoreTable()
        self.calibration, self.summary = CalibrationLine(), SummaryLines()
        self.status = StatusLine()  # in the status bar
        self._alias_parts()
        body = QtWidgets.QHBoxLayout()
        body.addWidget(self._side_panel())
        body.addLayout(self._centre(), 1)
        root = QtWidgets.QWidget()
        root.setLayout(body)
        self.setCentralWidget(root)
        self.statusBar().addPermanentWidget(self.status, 1)
        self.resize(1400, 900)
        self._load_parameters(protocol)
        self._offer_recovery()

    def _alias_parts(self) -> None:
        """The parts' fields under the window's own names, as callers and tests know them
        (plain references down the tree: no part refers back)."""
        form, sound = self.form, self.sound_controls
        self.device, self.port, self.patient = form.device, form.port, form.patient
        self.posture, self.protocol, self.language = form.posture, form.protocol, form.language
        self.calibration_mode, self.record, self._labels = (form.calibration_mode,
                                                            form.record, form.labels)
        self.sound, self.tone_box, self.chime_box = sound.sound, sound.tone_box, sound.chime_box
        self.volume, self.volume_label = sound.volume, sound.volume_label
        self.cue, self.rep, self.count = self.head.cue, self.head.rep, self.head.count

    def _side_panel(self) -> QtWidgets.QWidget:
        """The form, the protocol's phases, the buttons, sound and calibration."""
        self.start_button = self._button(self.toggle)
        self.open_button = self._button(self.open_recording)
        self.patient_button = self._button(self.patient_view.show)
        self.recover_button = self._button(self.recover_all)
        side = QtWidgets.QVBoxLayout()
        side.addWidget(self.form)
        side.addWidget(self.phases, 1)
        for widget in (self.start_button, self.open_button, self.patient_button,
                       self.recover_button, self.sound_controls, self.calibration):
            side.addWidget(widget)
        side.addStretch(1)
        panel = QtWidgets.QWidget()
        panel.setLayout(side)
        panel.setFixedWidth(PANEL_PX)
        return panel

    @staticmethod
    def _button(slot) -> QtWidgets.QPushButton:
        button = QtWidgets.QPushButton()
        button.clicked.connect(slot)  # Qt holds the slot; the button holds nothing
        return button

    def _centre(self) -> QtWidgets.QVBoxLayout:
        """The cue, the legend, the replay bar, the plots, the scores and the summary."""
        self.raw_toggle = QtWidgets.QCheckBox()  # off: band-passed EMG, as a therapist reads
        self.raw_toggle.toggled.connect(self._show_raw)
        centre = QtWidgets.QVBoxLayout()
        for widget, stretch in ((self.head, 0), (self.legend, 0), (self.replay_bar, 0),
                                (self.plot, 4), (self.raw_plot, 2), (self.raw_toggle, 0),
                                (self.table, 2), (self.summary, 0)):
            centre.addWidget(widget, stretch)
        return centre

    def _offer_recovery(self) -> None:
        """Recordings a crash left unfinished: offer to recover them (one click)."""
        from bbfeedback.recording.repair import unfinished

        self.unfinished = unfinished(self.out_dir) if self.out_dir.exists() else []
        self.recover_button.setVisible(bool(self.unfinished))
        if self.unfinished:
            self.recover_button.setText(f"{tr('recover', self.lang)} ({len(self.unfinished)})")

    def recover_all(self) -> None:
        from bbfeedback.recording.repair import recover

        done = []
        for path in self.unfinished:
            try:
                records, _, _ = recover(path)
                done.append(f"{path.name}: {records} s")
            except InputError as exc:
                done.append(words.said(exc, self.lang))
        self.notice("; ".join(done))
        self._offer_recovery()

    @property
    def protocol_id(self) -> str:
        """The chosen protocol: a bundled id, or the path of the therapist's own file."""
        return self.form.protocol_id

    def select_protocol(self, pid: str) -> None:
        """Choose a protocol by id (or a protocol file's path: added to the list)."""
        self.form.select_protocol(pid)

    def _load_parameters(self, pid: str) -> None:
        """Show the protocol's own sections and phases before editing (a therapist's own
        file that no longer reads: said, and the phases are emptied so Start refuses)."""
        try:
            self.phases.show_protocol(protocols.load(pid))
        except InputError as exc:
            self.phases.clear_protocol()
            self.notice(words.said(exc, self.lang))

    def retranslate(self) -> None:
        """Every part in the window's language, drawn again at once."""
        lang = self.lang
        self.setWindowTitle(tr("title", lang))
        self._describe_replay()
        self.form.retranslate(lang)
        self.phases.retranslate(lang)  # "5,0" in Dutch, typed and shown
        self.replay_bar.set_language(lang)
        self.form.show_record(self.replay_path is None)  # a replay records not
        self.replay_bar.setVisible(self.replay_path is not None)
        self._wake()  # drawn again at once in this language
        self.plot.setLabel("bottom", tr("time_axis", lang))
        self.raw_plot.setLabel("left", tr("raw_axis" if self.raw_toggle.isChecked()
                                          else "band_axis", lang))
        self.raw_toggle.setText(tr("show_raw", lang))
        self.sound_controls.retranslate(lang)
        self.legend.forget()  # drawn again in this language
        self._name_buttons(lang)
        self.table.retranslate(lang)
        self.patient_view.set_language(lang)

    def _name_buttons(self, lang: str) -> None:
        self.start_button.setText(tr("stop" if self.controller.frame().running else "start",
                                     lang))
        self.open_button.setText(tr("open", lang))
        self.patient_button.setText(tr("patient_view", lang))
        if self.recover_button.isVisible():
            self.recover_button.setText(f"{tr('recover', lang)} ({len(self.unfinished)})")

    def _no_sound(self, problem: str) -> None:
        self.notice(f"{tr('no_sound', self.lang)} ({problem})")

    def notice(self, text: str) -> None:
        """A problem shown in the status line until the next Start or opened file (the
        redraw every 16 ms would otherwise wipe it at once)."""
        self._notice = text
        self.status.setText(text)

    def _show_raw(self, on: bool) -> None:
        self.raw_plot.show_band_passed(not on)
        self.raw_plot.setLabel("left", tr("raw_axis" if on else "band_axis", self.lang))
        self._wake()  # drawn again at once

    def set_language(self, lang: str) -> None:
        self.lang = lang
        self.table.setRowCount(0)  # the scores are drawn again, in the new language
        self.retranslate()

    # --- actions ---------------------------------------------------------------------------
    def chosen_protocol(self) -> protocols.Protocol:
        """The protocol with what the therapist changed, each in its own phase, and only
        that: a value left alone never rewrites the protocol (the lift's floors)."""
        return self.phases.protocol()

    def toggle(self) -> None:
        if self.controller.frame().running:
            self.controller.stop()
        else:
            self.start()
        self.retranslate()

    def start(self) -> str | None:
        """Start a live session; returns the recording path (or None)."""
        try:
            code = self.patient.text().strip()
            pid = check_patient_id(code) if code else "X"
            path = self._recording_file(pid) if self.record.isChecked() else None
            proto = self.chosen_protocol()
            device = self.device.currentText()
            calibration, previous = calibration_for(self.calibration_mode.currentData(), pid,
                                                    None, proto, device)
            self.controller.start_live(device, self.port.currentText().split(" ")[0] or None,
                                       proto, path, pid, self.posture.currentData(),
                                       speed=self.speed, calibration=calibration,
                                       previous=previous, mains=self.mains,
                                       seed=secrets.randbelow(2**31) if self.seed is None
                                       else self.seed)
        except InputError as exc:
            self.notice(f"{tr('cannot_start', self.lang)}: {words.said(exc, self.lang)}")
            return None
        self._notice = ""
        self._anonymous = not code
        self.recording_path = path
        self.replay_path = self._replay_rec = None
        self._new_session()  # no replay bar; the record choice shown again
        return str(path) if path else None

    def _recording_file(self, pid: str) -> Path:
        """Where a live session records: the patient, the protocol and when."""
        check_folder(self.out_dir)  # as `gui --out-dir` checks it
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        return self.out_dir / f"{pid}-{Path(self.protocol_id).stem}-{stamp}.edf"

    def _new_session(self) -> None:
        """A session (live or replayed) began: no rows, no repetition yet."""
        self.table.setRowCount(0)
        self._last_rep = None
        self.retranslate()

    def open_recording(self, path: str | None = None, speed: float | None = None) -> None:
        if not path:
            path, _ = QtWidgets.QFileDialog.getOpenFileName(self, tr("open", self.lang),
                                                            str(self.out_dir), "EDF (*.edf)")
        if not path:
            return
        try:
            rec = replayable(path)  # before the running session is stopped for it
            self.controller.start_replay(rec, speed or self.speed)
        except InputError as exc:
            self.notice(f"{tr('cannot_open', self.lang)}: {words.said(exc, self.lang)}")
            return
        self._notice = ""
        self._replay_rec = rec = self.controller.replay.recording
        self.form.show_file(rec.meta.settings.get("protocol"), said.file_patient_code(rec))
        self.replay_path = Path(path)
        self.replay_bar.begin(self.controller.replay.duration_s, speed or self.speed)
        self._new_session()  # (and describes the replay)

    def pause_replay(self, paused: bool) -> None:
        replay = self.controller.replay
        if replay is not None:
            replay.pause() if paused else replay.resume()

    def seek_replay(self, t_s: float) -> None:
        """Jump in the file replayed; after its end, replay it again from there."""
        if self._replay_rec is None:
            return
        if self.controller.replay is None or self.controller.frame().status == "finished":
            self.controller.start_replay(self._replay_rec, self.replay_bar_speed())
            self.table.setRowCount(0)
            self._last_rep = None
            if self.replay_bar.paused:
                self.controller.replay.pause()
        self.controller.replay.seek(t_s)

    def replay_speed(self, speed: float) -> None:
        self.speed = speed
        if self.controller.replay is not None:
            self.controller.replay.set_speed(speed)

    def replay_bar_speed(self) -> float:
        return self.replay_bar.speeds.currentData()

    def _describe_replay(self) -> None:
        """The replayed file's own line, in this language: made when the file is opened or
        the language changes, not per frame."""
        rec = self._replay_rec
        live = rec is None or self.replay_path is None
        self._replay_line = "" if live else said.replay_text(rec, self.replay_path.name,
                                                             self.lang)

    # --- drawing ---------------------------------------------------------------------------
    def redraw(self) -> None:
        """Draw the latest frame. A frame already drawn (a session ended, the window idle)
        is not drawn again: only its texts, every ``REFRESH_S``, for what changes beside it
        (the history's answer); the timer slows to ``IDLE_MS``. An idle window costs next
        to nothing."""
        snap = self.controller.frame()
        now = time.monotonic()
        if snap is self._drawn:
            self._unchanged += 1
            if self._unchanged == IDLE_AFTER:
                self.timer.setInterval(IDLE_MS)
            if now - self._drawn_at >= REFRESH_S:  # only what changes beside the frame:
                self._drawn_at = now  # the history's answer, a problem on the disk
                self._texts(snap)
            return
        self._wake()
        self._drawn, self._drawn_at = snap, now
        self.main, self.accessory = snap.main, snap.accessory
        self.plot.draw(snap, self.main, self.accessory)
        self.raw_plot.draw(snap, self.main, self.accessory)
        proto = self.controller.protocol
        if self.patient_view.protocol is not proto:  # a new session: its floors, its reps
            self.patient_view.set_protocol(proto)
            self._total_reps = said.total_reps(proto)
        if self.patient_view.isVisible():
            self.patient_view.draw(snap, self.main, self.accessory, self._rep_text(snap))
        self._texts(snap)
        self._scores(snap)
        self.sound_controls.play(snap.level_pct, snap.running, snap.cue)
        if self.replay_path is not None:
            self.replay_bar.follow(snap.t_s)
        self.frames += 1

    def _wake(self) -> None:
        """Frames are coming (or the window changed): draw at the display's rate again."""
        self._unchanged = 0
        self._drawn = None
        if self.timer.interval() != FRAME_MS:
            self.timer.setInterval(FRAME_MS)

    def _lock_form(self, running: bool) -> None:
        """What a running session was started with cannot be changed: the form and the
        protocol's phases."""
        if self.form.lock(running):
            self.phases.setEnabled(not running)

    def _rep_text(self, snap) -> str:
        """"herhaling 3 van 5" while a repetition's cue is on, and in the rest after it."""
        self._last_rep = said.last_rep(snap, self._last_rep)
        return said.rep_text(self._last_rep, self._total_reps, snap.status == "finished",
                             self.lang)

    def _texts(self, snap) -> None:
        """Every line of text about the frame, each drawn by its part."""
        lang, replaying = self.lang, self.replay_path is not None
        early = said.ended_early(snap, replaying)
        self._lock_form(snap.running and not replaying)
        self.start_button.setText(tr("stop" if snap.running else "start", lang))
        self.head.draw(said.cue_text(snap, early, lang), self._rep_text(snap),
                       said.countdown_text(snap))
        self.legend.draw(snap, lang)
        self.calibration.draw(snap, lang)
        self.status.draw(snap, lang, early, self._problem(snap), self._notice)
        self.summary.draw(snap, lang, self._replay_line, self._history_text())

    def _problem(self, snap) -> str:
        """The frame's connection problem; the disk's own is said in the window's language."""
        message, controller = snap.message, self.controller
        if message and message == controller.failure:
            return controller.failure_text(self.lang)
        return message

    def _history_text(self) -> str:
        """Where the session was saved, and whether it reached the patient's history."""
        c = self.controller
        return said.history_text(
            self.lang, recording=c.recorder.path if c.recorder is not None else None,
            finished=c.frame().status == "finished", failure=c.failure,
            failure_text=c.failure_text(self.lang), anonymous=self._anonymous,
            history=c.history, scored=c.result is not None)

    def _scores(self, snap) -> None:
        """The score table: drawn again when a repetition is added and once more when the
        summary comes (an assessment's rows read it: PERFECT's R, Glazer's flick rule)."""
        measured = said.is_assessment(self.controller.protocol)
        self.table.draw(snap.reps, snap.summary, measured, self.lang)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """Closing stops the session and saves the recording."""
        self.timer.stop()
        self.sound_controls.stop()
        self.controller.stop()
        self.patient_view.close()
        super().closeEvent(event)
