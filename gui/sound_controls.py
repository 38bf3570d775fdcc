"""The sound switches under the form: a tone whose pitch follows the squeeze, a chime at
each new cue, and the volume. The sound itself is ``gui/sound.py``'s; this holds the output
and says, as a Qt signal, when it cannot play (no reference to the window)."""

from __future__ import annotations

from bbfeedback.gui.i18n import tr
from bbfeedback.gui.sound import SoundOutput
from PySide6 import QtCore, QtWidgets


class SoundControls(QtWidgets.QWidget):
    """``unavailable`` (why) when a switch is ticked and no sound can be played: both are
    then unticked, so no box says a sound plays that does not."""

    unavailable = QtCore.Signal(str)

    def __init__(self):
        super().__init__()
        self.sound = SoundOutput()  # opened when first switched on
        self.tone_box = QtWidgets.QCheckBox()  # a tone whose pitch follows the squeeze
        self.chime_box = QtWidgets.QCheckBox()  # two short notes at every new cue
        for box in (self.tone_box, self.chime_box):
            box.toggled.connect(self._switched)
        self.volume_label = QtWidgets.QLabel()
        self.volume = QtWidgets.QSlider(QtCore.Qt.Horizontal)
        self.volume.setRange(0, 100)
        self.volume.setValue(30)
        self.volume.valueChanged.connect(self._volume_changed)
        self._chimed_cue = None
        column = QtWidgets.QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)  # as bare rows of the panel were
        column.addWidget(self.tone_box)
        column.addWidget(self.chime_box)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.volume_label)
        row.addWidget(self.volume, 1)
        column.addLayout(row)

    def retranslate(self, lang: str) -> None:
        self.tone_box.setText(tr("sound_tone", lang))
        self.chime_box.setText(tr("sound_cues", lang))
        self.volume_label.setText(tr("volume", lang))

    def play(self, level_pct: float | None, running: bool, cue) -> None:
        """The tone follows the level while a session runs; a chime marks each new cue."""
        synth = self.sound.synth
        synth.set_level(level_pct)
        synth.tone_on = self.tone_box.isChecked() and running
        if cue is not None and cue is not self._chimed_cue:
            if self._chimed_cue is not None and self.chime_box.isChecked():
                synth.chime()
            self._chimed_cue = cue

    def stop(self) -> None:
        self.sound.stop()

    def _volume_changed(self, percent: int) -> None:
        self.sound.synth.volume = percent / 100

    def _switched(self, on: bool) -> None:
        if on and not self.sound.start():
            for box in (self.tone_box, self.chime_box):  # not ticked: no sound is playing
                box.blockSignals(True)
                box.setChecked(False)
                box.blockSignals(False)
            self.unavailable.emit(self.sound.problem)
