"""The window's lines of text about the session: the status bar's line, the calibration
under the form, and the summary under the table. Three labels in three places of the
window; each only shows what ``session_text`` makes of the frame."""

from __future__ import annotations

from bbfeedback.gui.session_text import calibration_text, status_text, summary_text
from PySide6 import QtWidgets

from bbfeedback.app.frames import Frame


class StatusLine(QtWidgets.QLabel):
    """The status bar: the state, the time, a problem, and a notice the therapist must see
    (kept by the window until the next Start or opened file)."""

    def draw(self, snap: Frame, lang: str, early: bool, problem: str, notice: str) -> None:
        self.setText(status_text(snap, lang, early, problem, notice))


class CalibrationLine(QtWidgets.QLabel):
    """Each channel's rest and MVC, wrapped to the form's width."""

    def __init__(self):
        super().__init__()
        self.setWordWrap(True)

    def draw(self, snap: Frame, lang: str) -> None:
        self.setText(calibration_text(snap, lang))


class SummaryLines(QtWidgets.QLabel):
    """Under the table: the replayed file, the summary, what the patient is told, and where
    the file went (and whether it reached the patient's history)."""

    def __init__(self):
        super().__init__()
        self.setWordWrap(True)
        self.setStyleSheet("font-size: 12pt;")

    def draw(self, snap: Frame, lang: str, replay_line: str, history: str) -> None:
        self.setText(summary_text(snap, lang, replay_line, history))
