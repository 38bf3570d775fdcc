"""The session's form, left in the therapist's window: device and port, patient code,
posture, protocol, calibration, whether to record, and the window's language.

It holds what a session is started with, and only says what the therapist chose, as Qt
signals: it keeps no reference to the window (a Python reference cycle through Qt widgets is
left to the garbage collector, which may free them in an order that crashes)."""

from __future__ import annotations

from pathlib import Path

from bbfeedback.drivers.devices import DEVICE_NAMES
from bbfeedback.gui.controller import EMULATED
from bbfeedback.gui.i18n import POSTURES, posture, tr
from bbfeedback.gui.session_text import protocol_name
from PySide6 import QtCore, QtWidgets

from bbfeedback.exercise import protocols

CALIBRATION_CHOICES = (None, "max", "gentle", "none", "previous")  # None: the protocol's
ROWS = ("device", "port", "patient_code", "posture", "protocol", "calibration_mode", "record",
        "language")  # the form's rows, top to bottom, each labelled by its catalogue key
WIDE = ("protocol", "calibration_mode")  # a long name ("Aanspannen en ontspannen (b2-…)")


def serial_ports() -> list[str]:
    """The serial ports there are, each with the device it looks like when known."""
    from bbfeedback.drivers.ports import list_serial_ports

    return [f"{p.device} ({p.guess})" if p.guess else p.device for p in list_serial_ports()]


class SessionForm(QtWidgets.QWidget):
    """The form's fields and their labels. ``protocol_chosen`` (the protocol's id or file)
    and ``language_chosen`` say what the therapist picked; ``lock`` keeps the fields a
    running session was started with from being changed."""

    protocol_chosen = QtCore.Signal(str)
    language_chosen = QtCore.Signal(str)

    def __init__(self, device: str, port: str | None, protocol: str, lang: str):
        super().__init__()
        self.device = QtWidgets.QComboBox()
        self.device.addItems(DEVICE_NAMES)
        self.device.setCurrentText(device)
        self.port = QtWidgets.QComboBox()
        self.port.setEditable(True)  # a port from the list, a pyserial URL, or "emulated"
        self.port.addItems(serial_ports() + [EMULATED])
        self.port.setCurrentText(port or "")
        self.protocol = QtWidgets.QComboBox()  # shown by name, an id (or a path) as data
        for pid in protocols.builtin_ids():
            self.protocol.addItem(pid, pid)
        self.select_protocol(protocol)
        self.protocol.currentIndexChanged.connect(self._protocol_index)
        self.patient = QtWidgets.QLineEdit()  # empty: recorded without a patient (no history)
        self.patient.setPlaceholderText("P-001")
        self.posture = QtWidgets.QComboBox()
        for key in POSTURES:
            self.posture.addItem(key, key)
        self.calibration_mode = QtWidgets.QComboBox()  # the protocol's own mode, or another
        for mode in CALIBRATION_CHOICES:
            self.calibration_mode.addItem(mode or "protocol", mode)
        self.record = QtWidgets.QCheckBox()
        self.record.setChecked(True)
        self.language = QtWidgets.QComboBox()
        self.language.addItems(["nl", "en"])
        self.language.setCurrentText(lang)
        self.language.currentTextChanged.connect(self.language_chosen)
        self._lay_out()

    def _lay_out(self) -> None:
        """One labelled row per field; a wide one gets the panel's whole width, under its
        label. No margin of its own: the form sits in the panel as a bare layout did."""
        self.rows = QtWidgets.QFormLayout(self)
        self.rows.setContentsMargins(0, 0, 0, 0)
        fields = (self.device, self.port, self.patient, self.posture, self.protocol,
                  self.calibration_mode, self.record, self.language)
        self.labels: dict[str, QtWidgets.QLabel] = {}
        for key, widget in zip(ROWS, fields, strict=True):
            label = QtWidgets.QLabel()
            self.labels[key] = label
            if key in WIDE:
                self.rows.addRow(label)
                self.rows.addRow(widget)
            else:
                self.rows.addRow(label, widget)

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

    def show_file(self, pid: str | None, code: str) -> None:
        """A replayed file's protocol (when bundled) and patient code, not the last ones."""
        if pid in protocols.builtin_ids():
            self.select_protocol(pid)
        self.patient.setText(code)

    def show_record(self, shown: bool) -> None:
        """The record choice: hidden while a file is replayed (a replay records nothing)."""
        self.rows.setRowVisible(self.record, shown)

    def lock(self, running: bool) -> bool:
        """While a session runs, what it was started with cannot be changed: a patient code
        typed then would be shown but not recorded (the walkthrough's P099). True when the
        fields changed (the window locks the phases with them)."""
        if self.device.isEnabled() != running:
            return False
        for field in (self.device, self.port, self.patient, self.posture, self.protocol,
                      self.calibration_mode, self.record):
            field.setEnabled(not running)
        return True

    def retranslate(self, lang: str) -> None:
        """Labels, postures, protocol names and calibration choices in ``lang``."""
        for key, label in self.labels.items():
            label.setText(tr(key, lang))
        for i, key in enumerate(POSTURES):
            self.posture.setItemText(i, posture(key, lang))
        for i in range(self.protocol.count()):  # by name, in this language ("Liftoefening")
            pid = self.protocol.itemData(i)
            if pid in protocols.builtin_ids():
                self.protocol.setItemText(i, protocol_name(pid, lang))
        for i, mode in enumerate(CALIBRATION_CHOICES):
            self.calibration_mode.setItemText(i, tr(f"calib_{mode or 'protocol'}", lang))

    def _protocol_index(self, _index: int) -> None:
        self.protocol_chosen.emit(self.protocol_id)
