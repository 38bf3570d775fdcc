"""Pause, seek and speed of a replay, in the window: a therapist re-reading a session looks
again at one repetition without the command line. Shown only while a file is replayed."""

from __future__ import annotations

from bbfeedback.gui.i18n import tr
from PySide6 import QtCore, QtWidgets

from bbfeedback import texts as words

SPEEDS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
STEPS = 1000  # the slider's resolution over the file


class ReplayBar(QtWidgets.QWidget):
    """A play/pause button, a slider over the file and a speed choice. It only says what the
    therapist asks, as signals (``paused``, ``sought``, ``speed_chosen``): it holds no
    reference to the window (a Python reference cycle through Qt widgets is left to the
    garbage collector, which may free them in an order that crashes); ``follow`` moves it
    with the frames drawn."""

    paused_changed = QtCore.Signal(bool)
    sought = QtCore.Signal(float)
    speed_chosen = QtCore.Signal(float)

    def __init__(self):
        super().__init__()
        self.lang = "nl"
        self.duration_s = 0.0
        self.paused = False
        self.button = QtWidgets.QPushButton()
        self.button.clicked.connect(self._toggle)
        self.slider = QtWidgets.QSlider(QtCore.Qt.Horizontal)
        self.slider.setRange(0, STEPS)
        self.slider.sliderReleased.connect(self._released)
        self.time = QtWidgets.QLabel()
        self.speeds = QtWidgets.QComboBox()
        for x in SPEEDS:
            self.speeds.addItem(f"{x:g}×", x)
        self.speeds.currentIndexChanged.connect(self._speed_index)
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.button)
        row.addWidget(self.slider, 1)
        row.addWidget(self.time)
        row.addWidget(self.speeds)
        self.set_language("nl")

    def set_language(self, lang: str) -> None:
        self.lang = lang
        self.button.setText(tr("play" if self.paused else "pause", lang))
        self.speeds.setToolTip(tr("replay_speed", lang))

    def begin(self, duration_s: float, speed: float) -> None:
        """A new file: at its start, playing, at ``speed`` (the nearest offered)."""
        self.duration_s = duration_s
        self.paused = False
        nearest = min(range(len(SPEEDS)), key=lambda k: abs(SPEEDS[k] - speed))
        self.speeds.blockSignals(True)
        self.speeds.setCurrentIndex(nearest)
        self.speeds.blockSignals(False)
        self.set_language(self.lang)

    def follow(self, t_s: float) -> None:
        """Where the replay is (not while the therapist holds the slider)."""
        if not self.slider.isSliderDown() and self.duration_s > 0:
            self.slider.setValue(round(STEPS * min(t_s, self.duration_s) / self.duration_s))
        self.time.setText(f"{words.fmt(t_s, self.lang, '.0f')} / "
                          f"{words.fmt(self.duration_s, self.lang, '.0f')} s")

    def _toggle(self) -> None:
        self.paused = not self.paused
        self.paused_changed.emit(self.paused)
        self.set_language(self.lang)

    def _released(self) -> None:
        self.sought.emit(self.duration_s * self.slider.value() / STEPS)

    def _speed_index(self, index: int) -> None:
        self.speed_chosen.emit(SPEEDS[index])
