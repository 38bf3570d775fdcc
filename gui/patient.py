"""The patient's view: big and calm, readable from 2 m.

The trace against the template, the cue word and a countdown, and the lift with floors 1-4
(the picture of the leaflets: the strongest squeeze reaches the 4th floor).
"""

from __future__ import annotations

from bbfeedback.gui.i18n import tr
from bbfeedback.gui.live_plot import LivePlot
from PySide6 import QtCore, QtGui, QtWidgets

FLOOR_COLORS = ("#d6eaf8", "#aed6f1", "#85c1e9", "#5dade2")


class LiftBar(QtWidgets.QWidget):
    """Floors 1-4 (25 % MVC each) with the current level as a filled lift."""

    def __init__(self):
        super().__init__()
        self.level_pct = 0.0
        self.lang = "nl"
        self.setMinimumWidth(170)

    def set_level(self, pct: float | None) -> None:
        self.level_pct = 0.0 if pct is None else max(0.0, min(110.0, pct))
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        p = QtGui.QPainter(self)
        p.setRenderHint(QtGui.QPainter.Antialiasing)
        w, h = self.width(), self.height()
        margin = 10
        floor_h = (h - 2 * margin) / 4
        font = p.font()
        font.setPointSize(max(12, int(floor_h / 6)))
        p.setFont(font)
        for k in range(4):
            top = h - margin - (k + 1) * floor_h
            rect = QtCore.QRectF(margin, top, w - 2 * margin, floor_h - 4)
            reached = self.level_pct >= k * 25 + 12.5
            p.setBrush(QtGui.QColor(FLOOR_COLORS[k] if reached else "#f4f6f7"))
            p.setPen(QtGui.QPen(QtGui.QColor("#7f8c8d"), 1))
            p.drawRoundedRect(rect, 8, 8)
            p.setPen(QtGui.QColor("#2c3e50"))
            p.drawText(rect, QtCore.Qt.AlignCenter, f"{tr('floor', self.lang)} {k + 1}")
        y = h - margin - (h - 2 * margin) * min(self.level_pct, 100) / 100
        p.setPen(QtGui.QPen(QtGui.QColor("#c0392b"), 6))
        p.drawLine(QtCore.QPointF(margin, y), QtCore.QPointF(w - margin, y))
        p.end()


class PatientView(QtWidgets.QWidget):
    def __init__(self, lang: str = "nl"):
        super().__init__()
        self.lang = lang
        self.setWindowTitle("bbfeedback")
        self.setStyleSheet("background: white;")
        self.cue = QtWidgets.QLabel("")
        self.cue.setAlignment(QtCore.Qt.AlignCenter)
        self.cue.setWordWrap(True)
        self.cue.setStyleSheet("font-size: 44pt; font-weight: 600; color: #1f4e8c;")
        self.count = QtWidgets.QLabel("")
        self.count.setAlignment(QtCore.Qt.AlignCenter)
        self.count.setStyleSheet("font-size: 40pt; color: #34495e;")
        self.plot = LivePlot(window_s=15.0, ahead_s=8.0, big=True)
        self.lift = LiftBar()
        body = QtWidgets.QHBoxLayout()
        body.addWidget(self.plot, 4)
        body.addWidget(self.lift, 1)
        layout = QtWidgets.QVBoxLayout(self)
        head = QtWidgets.QHBoxLayout()
        head.addWidget(self.cue, 4)
        head.addWidget(self.count, 1)
        layout.addLayout(head)
        layout.addLayout(body, 1)
        self.resize(1100, 700)

    def set_language(self, lang: str) -> None:
        self.lang = lang
        self.lift.lang = lang
        self.plot.setLabel("bottom", tr("time_axis", lang))

    def draw(self, snap, main: int, accessory: int | None) -> None:
        self.plot.draw(snap, main, None)
        if snap.status == "finished":
            self.cue.setText(tr("done", self.lang))
        elif snap.cue is not None:
            self.cue.setText(snap.cue.cue_nl if self.lang == "nl" else snap.cue.cue_en)
        if snap.cue_end_s is not None and snap.running:
            self.count.setText(f"{max(0.0, snap.cue_end_s - snap.t_s):.0f}")
        else:
            self.count.setText("")
        self.lift.set_level(snap.level_pct)
