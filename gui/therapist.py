"""The therapist's window: device, patient, protocol and its parameters, live plot, cue and
countdown, calibration values, per-repetition scores, summary, recording, replay."""

from __future__ import annotations

import math
import time
from datetime import datetime
from pathlib import Path

from bbfeedback.drivers.devices import DEVICE_NAMES
from bbfeedback.gui.controller import EMULATED, LiveController
from bbfeedback.gui.i18n import POSTURES, posture, system_language, tr
from bbfeedback.gui.live_plot import ENV_PENS, OFFSET_PEN, ONSET_PEN, LivePlot, RawPlot
from bbfeedback.gui.parameters import PhaseTable
from bbfeedback.gui.patient import FittedLabel, PatientView
from bbfeedback.gui.replay_bar import ReplayBar
from bbfeedback.gui.sound import SoundOutput
from PySide6 import QtCore, QtWidgets

from bbfeedback import texts as words
from bbfeedback.app.recorder import check_patient_id
from bbfeedback.app.replay import replayable
from bbfeedback.app.visit import calibration_for
from bbfeedback.errors import InputError
from bbfeedback.exercise import protocols
from bbfeedback.exercise.summary import ASSESSMENTS
from bbfeedback.recording.outputs import check_folder

FRAME_MS = 16  # ~60 fps: the display's rate
PANEL_PX = 350  # the form on the left: every protocol's name fits
IDLE_MS = 250  # the timer while the frame stays the same (a session ended, idle)
IDLE_AFTER = 10  # unchanged ticks before the timer slows to IDLE_MS
REFRESH_S = 1.0  # an unchanged frame's texts are drawn again this often
CALIBRATION_CHOICES = (None, "max", "gentle", "none", "previous")  # None: the protocol's
COLUMNS = ("col_rep", "col_held", "col_met", "col_peak", "col_rep_rise", "col_rep_release",
           "col_rest", "col_flags")


class TherapistWindow(QtWidgets.QMainWindow):
    def __init__(self, device: str = "sim", port: str | None = None,
                 protocol: str = "a1-strength", lang: str | None = None,
                 out_dir: str | Path | None = None, speed: float = 1.0):
        super().__init__()
        self.lang = lang or system_language()
        self.speed = speed
        self.out_dir = Path(out_dir) if out_dir else Path.home() / "bbfeedback-sessions"
        self.controller = LiveController()
        self.patient_view = PatientView(self.lang)
        self.main, self.accessory = 0, None
        self._legend_for = None
        self._last_rep: int | None = None
        self._total_reps = 0  # of the session's protocol (set when it starts)
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
        self.device = QtWidgets.QComboBox()
        self.device.addItems(DEVICE_NAMES)
        self.device.setCurrentText(device)
        self.port = QtWidgets.QComboBox()
        self.port.setEditable(True)  # a port from the list, a pyserial URL, or "emulated"
        self.port.addItems(self._ports() + [EMULATED])
        self.port.setCurrentText(port or "")
        self.protocol = QtWidgets.QComboBox()  # shown by name, an id (or a path) as data
        for pid in protocols.builtin_ids():
            self.protocol.addItem(pid, pid)
        self.select_protocol(protocol)
        # slots are methods, never lambdas holding self: Qt keeps a connected lambda alive,
        # and with it the closed window and its session buffers (17 MB per window)
        self.protocol.currentIndexChanged.connect(self._protocol_changed)
        self.patient = QtWidgets.QLineEdit()  # empty: recorded without a patient (no history)
        self.patient.setPlaceholderText("P-001")
        self.posture = QtWidgets.QComboBox()
        for key in POSTURES:
            self.posture.addItem(key, key)
        self.phases = PhaseTable(self.lang)  # per section and phase: never collapsed
        self.sound = SoundOutput()  # opened when first switched on
        self.tone_box = QtWidgets.QCheckBox()  # a tone whose pitch follows the squeeze
        self.chime_box = QtWidgets.QCheckBox()  # two short notes at every new cue
        for box in (self.tone_box, self.chime_box):
            box.toggled.connect(self._sound_switched)
        self.volume_label = QtWidgets.QLabel()
        self.volume = QtWidgets.QSlider(QtCore.Qt.Horizontal)
        self.volume.setRange(0, 100)
        self.volume.setValue(30)
        self.volume.valueChanged.connect(self._volume_changed)
        self._chimed_cue = None
        self.calibration_mode = QtWidgets.QComboBox()  # the protocol's own mode, or another
        for mode in CALIBRATION_CHOICES:
            self.calibration_mode.addItem(mode or "protocol", mode)
        self.record = QtWidgets.QCheckBox()
        self.record.setChecked(True)
        self.start_button = QtWidgets.QPushButton()
        self.start_button.clicked.connect(self.toggle)
        self.open_button = QtWidgets.QPushButton()
        self.open_button.clicked.connect(self.open_recording)
        self.patient_button = QtWidgets.QPushButton()
        self.patient_button.clicked.connect(self.patient_view.show)
        self.language = QtWidgets.QComboBox()
        self.language.addItems(["nl", "en"])
        self.language.setCurrentText(self.lang)
        self.language.currentTextChanged.connect(self.set_language)
        self.form = QtWidgets.QFormLayout()
        wide = (self.protocol, self.calibration_mode)
        self._labels = {}
        for key, widget in (("device", self.device), ("port", self.port),
                            ("patient_code", self.patient), ("posture", self.posture),
                            ("protocol", self.protocol),
                            ("calibration_mode", self.calibration_mode),
                            ("record", self.record), ("language", self.language)):
            label = QtWidgets.QLabel()
            self._labels[key] = label
            if widget in wide:  # a long name ("Aanspannen en ontspannen (b2-contract-relax)")
                self.form.addRow(label)  # gets the panel's whole width, under its label
                self.form.addRow(widget)
            else:
                self.form.addRow(label, widget)
        self.recover_button = QtWidgets.QPushButton()
        self.recover_button.clicked.connect(self.recover_all)
        self.calibration = QtWidgets.QLabel()
        self.calibration.setWordWrap(True)
        side = QtWidgets.QVBoxLayout()
        side.addLayout(self.form)
        side.addWidget(self.phases, 1)
        side.addWidget(self.start_button)
        side.addWidget(self.open_button)
        side.addWidget(self.patient_button)
        side.addWidget(self.recover_button)
        side.addWidget(self.tone_box)
        side.addWidget(self.chime_box)
        volume = QtWidgets.QHBoxLayout()
        volume.addWidget(self.volume_label)
        volume.addWidget(self.volume, 1)
        side.addLayout(volume)
        side.addWidget(self.calibration)
        side.addStretch(1)
        panel = QtWidgets.QWidget()
        panel.setLayout(side)
        panel.setFixedWidth(PANEL_PX)

        self.cue = FittedLabel(max_px=30)  # a long cue never widens the window
        self.cue.setStyleSheet("color: #1f4e8c;")
        self.cue.setAlignment(QtCore.Qt.AlignLeft | QtCore.Qt.AlignVCenter)
        self.cue.setFixedHeight(70)
        self.count = QtWidgets.QLabel()
        self.count.setStyleSheet("font-size: 22pt; color: #34495e;")
        self.count.setAlignment(QtCore.Qt.AlignCenter)
        self.rep = QtWidgets.QLabel()  # "herhaling 3 van 5"
        self.rep.setStyleSheet("font-size: 16pt; color: #34495e;")
        self.legend = QtWidgets.QLabel()
        self.raw_toggle = QtWidgets.QCheckBox()  # off: band-passed EMG, as a therapist reads
        self.raw_toggle.toggled.connect(self._show_raw)
        self.plot = LivePlot()
        self.plot.setLabel("left", "µV RMS")
        self.raw_plot = RawPlot()
        self.replay_bar = ReplayBar()  # (signals to methods: no reference cycle)
        self.replay_bar.paused_changed.connect(self.pause_replay)
        self.replay_bar.sought.connect(self.seek_replay)
        self.replay_bar.speed_chosen.connect(self.replay_speed)
        self.replay_bar.hide()  # only while a file is replayed
        self.table = QtWidgets.QTableWidget(0, len(COLUMNS))
        self._table_summary = False  # the table was drawn with the summary (``_scores``)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(
            QtWidgets.QHeaderView.ResizeToContents)  # no header cut off ("Vastgehouden (s")
        # the flags column takes the width that is left and wraps its words: never a
        # horizontal scroll bar hiding "Opmerkingen" (the walkthrough's "gespannen in ru…")
        self.table.horizontalHeader().setSectionResizeMode(
            len(COLUMNS) - 1, QtWidgets.QHeaderView.Stretch)
        self.table.setWordWrap(True)
        self.table.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarAlwaysOff)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
        self.summary = QtWidgets.QLabel()
        self.summary.setWordWrap(True)
        self.summary.setStyleSheet("font-size: 12pt;")
        head = QtWidgets.QHBoxLayout()
        head.addWidget(self.cue, 4)
        head.addWidget(self.rep, 1)
        head.addSpacing(24)  # "herhaling 3 van 3" and "1 s" apart, not run together
        head.addWidget(self.count, 1)
        center = QtWidgets.QVBoxLayout()
        center.addLayout(head)
        center.addWidget(self.legend)
        center.addWidget(self.replay_bar)
        center.addWidget(self.plot, 4)
        center.addWidget(self.raw_plot, 2)
        center.addWidget(self.raw_toggle)
        center.addWidget(self.table, 2)
        center.addWidget(self.summary)
        body = QtWidgets.QHBoxLayout()
        body.addWidget(panel)
        body.addLayout(center, 1)
        root = QtWidgets.QWidget()
        root.setLayout(body)
        self.setCentralWidget(root)
        self.status = QtWidgets.QLabel()
        self.statusBar().addPermanentWidget(self.status, 1)
        self.resize(1400, 900)
        self._load_parameters(protocol)
        self._offer_recovery()

    @staticmethod
    def _ports() -> list[str]:
        from bbfeedback.drivers.ports import list_serial_ports

        return [f"{p.device} ({p.guess})" if p.guess else p.device for p in list_serial_ports()]

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
                done.append(str(exc))
        self.notice("; ".join(done))
        self._offer_recovery()

    @property
    def protocol_id(self) -> str:
        """The chosen protocol: a bundled id, or the path of the therapist's own file."""
        return self.protocol.currentData()

    def select_protocol(self, pid: str) -> None:
        """Choose a protocol by id (or a protocol file's path: added to the list)."""
        k = self.protocol.findData(pid)
        if k < 0:
            self.protocol.addItem(Path(pid).stem, pid)
            k = self.protocol.count() - 1
        self.protocol.setCurrentIndex(k)

    def _load_parameters(self, pid: str) -> None:
        """Show the protocol's own sections and phases before editing (a therapist's own
        file that no longer reads: said, and the phases are emptied so Start refuses)."""
        try:
            self.phases.show_protocol(protocols.load(pid))
        except InputError as exc:
            self.phases.clear_protocol()
            self.notice(str(exc))

    def retranslate(self) -> None:
        lang = self.lang
        self.setWindowTitle(tr("title", lang))
        self._describe_replay()
        for key, label in self._labels.items():
            label.setText(tr(key, lang))
        for i, key in enumerate(POSTURES):
            self.posture.setItemText(i, posture(key, lang))
        for i in range(self.protocol.count()):  # by name, in this language ("Liftoefening")
            pid = self.protocol.itemData(i)
            if pid in protocols.builtin_ids():
                self.protocol.setItemText(i, f"{protocols.load(pid).name[lang]} ({pid})")
        for i, mode in enumerate(CALIBRATION_CHOICES):
            self.calibration_mode.setItemText(i, tr(f"calib_{mode or 'protocol'}", lang))
        self.phases.retranslate(lang)  # "5,0" in Dutch, typed and shown
        self.replay_bar.set_language(lang)
        self.form.setRowVisible(self.record, self.replay_path is None)  # a replay records not
        self.replay_bar.setVisible(self.replay_path is not None)
        self._wake()  # drawn again at once in this language
        self.plot.setLabel("bottom", tr("time_axis", lang))
        self.raw_plot.setLabel("left", tr("raw_axis" if self.raw_toggle.isChecked()
                                          else "band_axis", lang))
        self.raw_toggle.setText(tr("show_raw", lang))
        self.tone_box.setText(tr("sound_tone", lang))
        self.chime_box.setText(tr("sound_cues", lang))
        self.volume_label.setText(tr("volume", lang))
        self._legend_for = None  # drawn again in this language
        self.start_button.setText(tr("stop" if self.controller.frame().running else "start",
                                     lang))
        self.open_button.setText(tr("open", lang))
        self.patient_button.setText(tr("patient_view", lang))
        if self.recover_button.isVisible():
            self.recover_button.setText(f"{tr('recover', lang)} ({len(self.unfinished)})")
        self.table.setHorizontalHeaderLabels([tr(c, lang) for c in COLUMNS])
        self.patient_view.set_language(lang)

    def _protocol_changed(self, _index: int) -> None:
        self._load_parameters(self.protocol_id)

    def _volume_changed(self, percent: int) -> None:
        self.sound.synth.volume = percent / 100

    def _sound_switched(self, on: bool) -> None:
        if on and not self.sound.start():
            for box in (self.tone_box, self.chime_box):  # not ticked: no sound is playing
                box.blockSignals(True)
                box.setChecked(False)
                box.blockSignals(False)
            self.notice(f"{tr('no_sound', self.lang)} ({self.sound.problem})")

    def notice(self, text: str) -> None:
        """A problem shown in the status line until the next Start or opened file (the
        redraw every 16 ms would otherwise wipe it at once)."""
        self._notice = text
        self.status.setText(text)

    def _play(self, snap) -> None:
        """The tone follows the level while a session runs; a chime marks each new cue."""
        synth = self.sound.synth
        synth.set_level(snap.level_pct)
        synth.tone_on = self.tone_box.isChecked() and snap.running
        cue = snap.cue
        if cue is not None and cue is not self._chimed_cue:
            if self._chimed_cue is not None and self.chime_box.isChecked():
                synth.chime()
            self._chimed_cue = cue

    def _show_raw(self, on: bool) -> None:
        self.raw_plot.show_band_passed(not on)
        self.raw_plot.setLabel("left", tr("raw_axis" if on else "band_axis", self.lang))
        self._wake()  # drawn again at once

    def _draw_legend(self, snap) -> None:
        """Which colour is which channel, the target band and the detector's thresholds."""
        key = (self.lang, snap.channels, snap.main, snap.accessory)
        if key == self._legend_for or not snap.channels:
            return
        self._legend_for = key
        items = [(ENV_PENS[0], "■", words.channel(snap.channels[snap.main].name, self.lang))]
        if snap.accessory is not None:
            items.append((ENV_PENS[1], "■",
                          words.channel(snap.channels[snap.accessory].name, self.lang)))
        items += [("#2ea043", "▮", tr("legend_band", self.lang)),
                  ("#c0392b", "┄", tr("legend_thresholds", self.lang)),
                  (ONSET_PEN, "│", tr("legend_onset", self.lang)),
                  (OFFSET_PEN, "│", tr("legend_offset", self.lang)),
                  ("#8a8a8a", "▮", tr("legend_artefact", self.lang))]
        self.legend.setText("&nbsp;&nbsp;&nbsp;".join(
            f'<span style="color:{c}; font-size:14pt">{mark}</span> {text}'
            for c, mark, text in items))

    def _rep_text(self, snap) -> str:
        """"herhaling 3 van 5" while a repetition's cue is on."""
        if snap.cue is not None and snap.cue.rep and not snap.cue.calibration:
            self._last_rep = snap.cue.rep  # and in the rest after it
        if self._last_rep is None or not self._total_reps or snap.status == "finished":
            return ""
        return words.format_text(tr("rep_of", self.lang), self.lang, k=self._last_rep,
                                 n=self._total_reps)

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
            self._anonymous = not code
            path = None
            if self.record.isChecked():
                check_folder(self.out_dir)  # as `gui --out-dir` checks it
                stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
                path = self.out_dir / f"{pid}-{Path(self.protocol_id).stem}-{stamp}.edf"
            proto = self.chosen_protocol()
            calibration = self.calibration_mode.currentData()
            calibration, previous = calibration_for(calibration, pid, None, proto,
                                                    self.device.currentText())
            self.controller.start_live(self.device.currentText(),
                                       self.port.currentText().split(" ")[0] or None,
                                       proto, path, pid, self.posture.currentData(),
                                       speed=self.speed, calibration=calibration,
                                       previous=previous, mains=self.mains)
        except InputError as exc:
            self.notice(f"{tr('cannot_start', self.lang)}: {exc}")
            return None
        self._notice = ""
        self.table.setRowCount(0)
        self._last_rep = None
        self.recording_path = path
        self.replay_path = self._replay_rec = None
        self._replay_line = ""
        self.retranslate()  # no replay bar; the record choice shown again
        return str(path) if path else None

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
            self.notice(f"{tr('cannot_open', self.lang)}: {exc}")
            return
        self._notice = ""
        self._replay_rec = self.controller.replay.recording
        self._show_file_in_form(self._replay_rec)
        self.table.setRowCount(0)
        self._last_rep = None
        self.replay_path = Path(path)
        self.replay_bar.begin(self.controller.replay.duration_s, speed or self.speed)
        self.retranslate()  # (and describes the replay)

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
        """The replayed file's own patient, device, protocol and posture (not the form's), in
        this language: made when the file is opened or the language changes, not per frame."""
        rec, lang = self._replay_rec, self.lang
        if rec is None or self.replay_path is None:
            self._replay_line = ""
            return
        device = rec.meta.last("device") or {}
        pid = rec.meta.settings.get("protocol")
        name = protocols.load(pid).name[lang] if pid in protocols.builtin_ids() else pid
        self._replay_line = words.format_text(
            tr("replay_of", lang), lang, f=self.replay_path.name,
            p=(rec.header.get("patientCode") or "-").strip() or "-",
            d=device.get("name") or "-", o=name or "-",
            h=words.posture(device.get("posture"), lang))

    def _show_file_in_form(self, rec) -> None:
        """The form shows the replayed file's protocol and patient code, not the last ones."""
        pid = rec.meta.settings.get("protocol")
        if pid in protocols.builtin_ids():
            self.select_protocol(pid)
        code = (rec.header.get("patientCode") or "").strip()
        self.patient.setText("" if code == "X" else code)  # X: recorded without a patient

    def _history_text(self) -> str:
        """Where the finished session was saved, and whether it reached the patient's
        history (and if not, why)."""
        rec, hist = self.controller.recorder, self.controller.history
        lines = []
        finished = self.controller.frame().status == "finished"
        failure = self.controller.failure  # the disk refused the recording: why, and what
        if rec is not None and not failure:  # of it is kept (or that none is)
            where = tr("saved_to" if finished else "recording_to", self.lang)
            lines.append(f"{where} {rec.path}")
            if self._anonymous:  # said, not asked: a session is never held up by a dialog
                lines.append(tr("anonymous", self.lang))
        if failure and finished:
            lines.append(self.controller.failure_text(self.lang))
        if hist is not None and hist.added is None and finished \
                and self.controller.result is None and not failure:
            lines.append(tr("history_not_scored", self.lang))
        if hist is not None and hist.added is not None:
            if hist.added:
                lines.append(tr("history_added", self.lang))
            elif hist.copy_of:  # the simulated sensor plays the same session each time
                lines.append(words.format_text(tr("history_copy", self.lang), self.lang,
                                               f=Path(hist.copy_of).name))
            else:
                lines.append(f"{tr('history_not_added', self.lang)}: {hist.problem}")
        return "\n".join(lines)

    def _cut(self, snap) -> bool:
        """A session that ended before its end: stopped early (live or as recorded), or a
        live one with no result at all (stopped in its calibration, a device that never
        connected)."""
        if snap.summary is None:
            return self.replay_path is None
        return bool(snap.summary.get("incomplete"))

    def _same_as_recorded(self, snap) -> str:
        if snap.status != "finished" or not snap.recorded_reps:
            return ""
        keys = ("index", "met", "hold_s", "flags")
        same = [tuple(r.get(k) for k in keys) for r in snap.reps] == \
            [tuple(r.get(k) for k in keys) for r in snap.recorded_reps]
        return tr("scores_same" if same else "scores_differ", self.lang)

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
            self._total_reps = max((s.rep or 0) for s in proto.timeline()) if proto else 0
        if self.patient_view.isVisible():
            self.patient_view.draw(snap, self.main, self.accessory, self._rep_text(snap))
        self._texts(snap)
        self._scores(snap)
        self._play(snap)
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
        """While a session runs, what it was started with cannot be changed in the form: a
        patient code typed then would be shown but not recorded (the walkthrough's P099)."""
        fields = (self.device, self.port, self.patient, self.posture, self.protocol,
                  self.calibration_mode, self.record, self.phases)
        if fields[0].isEnabled() == running:
            for field in fields:
                field.setEnabled(not running)

    def _texts(self, snap) -> None:
        lang = self.lang
        self._lock_form(snap.running and self.replay_path is None)
        self.start_button.setText(tr("stop" if snap.running else "start", lang))
        if snap.status == "finished":
            cut = self._cut(snap)
            self.cue.setText(tr("stopped_early" if cut else "finished", lang).capitalize())
        elif snap.cue is not None:
            self.cue.setText(snap.cue.cue_nl if lang == "nl" else snap.cue.cue_en)
        left = (snap.cue_end_s - snap.t_s) if snap.cue_end_s is not None else None
        self.count.setText(f"{math.ceil(max(0.0, left) - 1e-9)} s"
                           if left is not None and snap.running else "")  # "1 s" to the end
        self.rep.setText(self._rep_text(snap))
        self._draw_legend(snap)
        main = next(iter(snap.calibration.values()), None) if snap.calibration else None
        if snap.calibration:
            lines = [f"{tr('calibration', lang)}:"]
            for k, (name, cal) in enumerate(snap.calibration.items()):
                line = words.text("calibration_of", lang, channel=words.channel(name, lang),
                                  mean=cal["baseline_mean"], sd=cal["baseline_sd"],
                                  unit=words.unit(cal["unit"]), mvc=cal["mvc"])
                if k == snap.main:  # where the scored channel's MVC comes from
                    line += f" ({words.lookup(words.CALIBRATION_SOURCES, cal['source'], lang)})"
                lines.append(line)
            self.calibration.setText("\n".join(lines))
        elif main is None:
            self.calibration.setText(f"{tr('calibration', lang)}: "
                                     f"{tr('not_calibrated', lang)}")
        cut = snap.status == "finished" and self._cut(snap)
        state = {"connected": tr("connected", lang), "reconnecting": tr("reconnecting", lang),
                 "finished": tr("stopped_early" if cut else "finished", lang),
                 "idle": tr("idle", lang),
                 "replay": tr("replaying", lang),
                 "connecting": tr("connecting", lang)}.get(snap.status, snap.status)
        lost = f" - {tr('lost', lang)} {snap.lost_samples} {tr('samples', lang)}" \
            if snap.lost_samples else ""
        message = snap.message
        if message and message == self.controller.failure:  # (the disk's: in her language)
            message = self.controller.failure_text(lang)
        problem = f" - {message}" if message else ""
        notice = f" - {self._notice}" if self._notice else ""
        self.status.setText(f"{state}{lost} - t = {words.fmt(snap.t_s, lang, '.1f')} s"
                            f"{problem}{notice}")
        lines = [self._replay_line, self._same_as_recorded(snap)]
        if snap.summary:
            lines.append(snap.summary["text_nl" if lang == "nl" else "text_en"])
            patient = snap.summary.get("patient_text_nl" if lang == "nl" else "patient_text_en")
            if patient:  # what the patient is told (u-form, no units, one thing next time)
                lines.append(f"{tr('for_patient', lang)}: {patient}")
        lines.append(self._history_text())
        self.summary.setText("\n".join(x for x in lines if x))

    def _scores(self, snap) -> None:
        """The score table: drawn again when a repetition is added and once more when the
        summary comes (an assessment's rows read it: PERFECT's R, Glazer's flick rule)."""
        summary = bool(snap.summary)
        if self.table.rowCount() == len(snap.reps) and self._table_summary == summary:
            return
        self._table_summary = summary
        self.table.setRowCount(len(snap.reps))
        lang = self.lang
        proto = self.controller.protocol
        measured = proto is not None and proto.scoring in ASSESSMENTS  # no "te kort"
        for row, rep in enumerate(snap.reps):
            r = words.shown_rep(rep, snap.summary, measured)
            cells = (str(r["index"]), words.held_cells(r, lang, ".1f")[0],
                     words.met_text(r, lang),
                     words.fmt(r["peak_pct_mvc"], lang, ".0f"),
                     words.time_cell(r.get("rise_s"), lang),
                     words.time_cell(r.get("release_s"), lang),
                     words.fmt(r["rest_residual_pct"], lang, ".0f"),
                     words.flag_names(r["flags"], lang))
            for col, text in enumerate(cells):
                self.table.setItem(row, col, QtWidgets.QTableWidgetItem(text))
            why = "\n".join(f"{words.flag_name(f, lang)}: {words.flag_why(f, lang)}"
                            for f in r["flags"])
            self.table.item(row, len(cells) - 1).setToolTip(why)
        self.table.resizeRowsToContents()  # (a long flag list wraps onto a second line)
        self.table.scrollToBottom()  # the newest repetition in sight (PERFECT has 20)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """Closing stops the session and saves the recording."""
        self.timer.stop()
        self.sound.stop()
        self.controller.stop()
        self.patient_view.close()
        super().closeEvent(event)
