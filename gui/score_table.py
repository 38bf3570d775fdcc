"""The repetition table of the therapist's window: one row per repetition scored, as the
summary shows it once it comes (an assessment's rows read it: PERFECT's R, Glazer's flicks).
What a cell says is decided in ``session_text.score_row``; this only draws it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bbfeedback.gui.i18n import tr
from bbfeedback.gui.session_text import score_row
from PySide6 import QtCore, QtWidgets

from bbfeedback.exercise.scores import RepScore

COLUMNS = ("col_rep", "col_held", "col_met", "col_peak", "col_rep_rise", "col_rep_release",
           "col_rest", "col_flags")


class ScoreTable(QtWidgets.QTableWidget):
    """Read-only; every column fits its header, the flags take the width left and wrap."""

    def __init__(self):
        super().__init__(0, len(COLUMNS))
        self._with_summary = False  # the rows were drawn with the summary
        self.verticalHeader().setVisible(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QtWidgets.QHeaderView.ResizeToContents)  # no header cut
        # the flags column takes the width that is left and wraps its words: never a
        # horizontal scroll bar hiding "Opmerkingen" (the walkthrough's "gespannen in ru…")
        header.setSectionResizeMode(len(COLUMNS) - 1, QtWidgets.QHeaderView.Stretch)
        self.setWordWrap(True)
        self.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarAlwaysOff)
        self.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)

    def retranslate(self, lang: str) -> None:
        """The headers in ``lang`` (the window empties the rows: drawn again in it)."""
        self.setHorizontalHeaderLabels([tr(c, lang) for c in COLUMNS])

    def draw(self, reps: Sequence[RepScore], summary: Mapping | None, measured: bool,
             lang: str) -> None:
        """Drawn again when a repetition is added and once more when the summary comes;
        ``measured``: an assessment's rows (no "too short")."""
        if self.rowCount() == len(reps) and self._with_summary == bool(summary):
            return
        self._with_summary = bool(summary)
        self.setRowCount(len(reps))
        for row, rep in enumerate(reps):
            cells, why = score_row(rep, summary, measured, lang)
            for col, text in enumerate(cells):
                self.setItem(row, col, QtWidgets.QTableWidgetItem(text))
            self.item(row, len(cells) - 1).setToolTip(why)
        self.resizeRowsToContents()  # (a long flag list wraps onto a second line)
        self.scrollToBottom()  # the newest repetition in sight (PERFECT has 20)
