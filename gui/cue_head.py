"""Above the therapist's plot: the cue with its countdown and the repetition, and the legend
of the plot's colours. They only draw what the frame says (``session_text`` words it)."""

from __future__ import annotations

from bbfeedback.gui.i18n import tr
from bbfeedback.gui.live_plot import ENV_PENS, OFFSET_PEN, ONSET_PEN
from bbfeedback.gui.patient import FittedLabel
from PySide6 import QtCore, QtWidgets

from bbfeedback import texts as words
from bbfeedback.app.frames import Frame

BAND, THRESHOLD, ARTEFACT = "#2ea043", "#c0392b", "#8a8a8a"  # as live_plot draws them


class CueHead(QtWidgets.QWidget):
    """The cue (large, never widening the window), "herhaling 3 van 5", and the seconds
    left of the cue."""

    def __init__(self):
        super().__init__()
        self.cue = FittedLabel(max_px=30)  # a long cue never widens the window
        self.cue.setStyleSheet("color: #1f4e8c;")
        self.cue.setAlignment(QtCore.Qt.AlignLeft | QtCore.Qt.AlignVCenter)
        self.cue.setFixedHeight(70)
        self.count = QtWidgets.QLabel()
        self.count.setStyleSheet("font-size: 22pt; color: #34495e;")
        self.count.setAlignment(QtCore.Qt.AlignCenter)
        self.rep = QtWidgets.QLabel()  # "herhaling 3 van 5"
        self.rep.setStyleSheet("font-size: 16pt; color: #34495e;")
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)  # as a bare layout in the column did
        row.addWidget(self.cue, 4)
        row.addWidget(self.rep, 1)
        row.addSpacing(24)  # "herhaling 3 van 3" and "1 s" apart, not run together
        row.addWidget(self.count, 1)

    def draw(self, cue: str | None, rep: str, count: str) -> None:
        """``cue`` None: the cue shown stays (between two cues)."""
        if cue is not None:
            self.cue.setText(cue)
        self.rep.setText(rep)
        self.count.setText(count)


class Legend(QtWidgets.QLabel):
    """Which colour is which channel, the target band and the detector's thresholds: drawn
    when the channels or the language change, not per frame."""

    def __init__(self):
        super().__init__()
        self._drawn_for = None

    def forget(self) -> None:
        """Drawn again at the next frame (the window's language changed)."""
        self._drawn_for = None

    def draw(self, snap: Frame, lang: str) -> None:
        key = (lang, snap.channels, snap.main, snap.accessory)
        if key == self._drawn_for or not snap.channels:
            return
        self._drawn_for = key
        items = [(ENV_PENS[0], "■", words.channel(snap.channels[snap.main].name, lang))]
        if snap.accessory is not None:
            items.append((ENV_PENS[1], "■", words.channel(snap.channels[snap.accessory].name,
                                                          lang)))
        items += [(BAND, "▮", tr("legend_band", lang)),
                  (THRESHOLD, "┄", tr("legend_thresholds", lang)),
                  (ONSET_PEN, "│", tr("legend_onset", lang)),
                  (OFFSET_PEN, "│", tr("legend_offset", lang)),
                  (ARTEFACT, "▮", tr("legend_artefact", lang))]
        self.setText("&nbsp;&nbsp;&nbsp;".join(
            f'<span style="color:{c}; font-size:14pt">{mark}</span> {text}'
            for c, mark, text in items))
