"""The protocol's parameters as the therapist edits them: one row per work and rest phase of
every section (the lift's three floors, a-daily's three exercises each their own), so a
multi-target protocol is never collapsed into one value. A value left alone never rewrites
the protocol; an edited one changes only its own phase (or section, for repetitions)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from bbfeedback.gui.i18n import tr
from PySide6 import QtCore, QtWidgets

from bbfeedback import texts as words
from bbfeedback.errors import InputError
from bbfeedback.exercise.protocols import BASELINE, REST, WORK, Phase, Protocol

COLUMNS = ("col_phase", "col_reps_short", "col_seconds", "col_target_pct")
REPS, SECONDS, TARGET = 1, 2, 3


@dataclass(frozen=True)
class Place:
    """Where an edited value goes: a section's repetitions, or one phase's field."""

    section: int
    phase: int | None
    field: str  # "repetitions", "hold_s", "duration_s" or "target_pct_mvc"


class PhaseTable(QtWidgets.QTableWidget):
    """The protocol's own timeline, per section and phase, with editable numbers."""

    def __init__(self, lang: str):
        super().__init__(0, len(COLUMNS))
        self.lang = lang
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setSectionResizeMode(0, QtWidgets.QHeaderView.Stretch)
        self.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
        self.boxes: dict[Place, QtWidgets.QAbstractSpinBox] = {}
        self._shown: dict[Place, float] = {}
        self.base: Protocol | None = None

    def show_protocol(self, protocol: Protocol) -> None:
        """One row per work, rest or baseline phase, with the protocol's own values."""
        self.base = protocol
        self.boxes, self._shown = {}, {}
        rows = [(si, pi, ph) for si, sec in enumerate(protocol.sections)
                for pi, ph in enumerate(sec.phases) if ph.kind in (WORK, REST, BASELINE)]
        self.clearContents()
        self.setRowCount(len(rows))
        first_rows = set()
        for row, (si, pi, ph) in enumerate(rows):
            sec = protocol.sections[si]
            if si not in first_rows and sec.repetitions > 1:
                first_rows.add(si)
                self._box(row, REPS, Place(si, None, "repetitions"), sec.repetitions, 1, 100, 0)
            self._phase_boxes(row, si, pi, ph)
        self.retranslate(self.lang)
        self.resizeColumnsToContents()
        self.horizontalHeader().setSectionResizeMode(0, QtWidgets.QHeaderView.Stretch)

    def _phase_boxes(self, row: int, si: int, pi: int, ph: Phase) -> None:
        if ph.kind == WORK and ph.until_fail:
            self.setItem(row, SECONDS, QtWidgets.QTableWidgetItem("∞"))
        elif ph.kind == WORK:
            self._box(row, SECONDS, Place(si, pi, "hold_s"), ph.hold_s, 0.2, 120, 1)
        else:
            self._box(row, SECONDS, Place(si, pi, "duration_s"), ph.duration_s, 0.5, 600, 1)
        if ph.kind == WORK and ph.target_pct_mvc is not None:
            self._box(row, TARGET, Place(si, pi, "target_pct_mvc"), ph.target_pct_mvc, 5, 100,
                      0)

    def _box(self, row: int, col: int, place: Place, value: float, lo: float, hi: float,
             decimals: int) -> None:
        box = QtWidgets.QDoubleSpinBox() if decimals else QtWidgets.QSpinBox()
        box.setRange(lo, hi)
        if decimals:
            box.setDecimals(decimals)
        box.setValue(value)
        box.setFrame(False)
        self.setCellWidget(row, col, box)
        self.boxes[place] = box
        self._shown[place] = box.value()  # as the box holds it (rounded to its decimals)

    def retranslate(self, lang: str) -> None:
        """Headers, phase names and number format in ``lang`` (Dutch: decimal comma)."""
        self.lang = lang
        self.setHorizontalHeaderLabels([tr(c, lang) for c in COLUMNS])
        locale = QtCore.QLocale(QtCore.QLocale.Language.Dutch if lang == "nl"
                                else QtCore.QLocale.Language.English)
        for box in self.boxes.values():
            box.setLocale(locale)
            box.setValue(box.value())
        if self.base is None:
            return
        row = 0
        for si, sec in enumerate(self.base.sections):
            for ph in sec.phases:
                if ph.kind not in (WORK, REST, BASELINE):
                    continue
                cue = ph.cue_nl if lang == "nl" else ph.cue_en
                item = QtWidgets.QTableWidgetItem(f"{si + 1}. {short_cue(cue)}")
                item.setToolTip(f"{words.lookup(words.KINDS, ph.kind, lang)}: {cue}")
                self.setItem(row, 0, item)
                row += 1

    def edits(self) -> dict[Place, float]:
        """The values the therapist changed."""
        return {p: box.value() for p, box in self.boxes.items() if box.value() != self._shown[p]}

    def clear_protocol(self) -> None:
        """No protocol shown (its file no longer reads)."""
        self.base = None
        self.boxes, self._shown = {}, {}
        self.clearContents()
        self.setRowCount(0)

    def protocol(self) -> Protocol:
        """The shown protocol with the edits, and only those."""
        if self.base is None:
            raise InputError("no exercise could be read: choose one")
        return apply_edits(self.base, self.edits())


def short_cue(cue: str) -> str:
    """A cue's first words ("Verdieping 2: iets harder ..." is "Verdieping 2")."""
    first = re.split(r"[:,(]", cue, maxsplit=1)[0].strip()
    return first if len(first) <= 28 else first[:28].rsplit(" ", 1)[0] + "…"


def apply_edits(protocol: Protocol, edits: dict[Place, float]) -> Protocol:
    """A copy of ``protocol`` with each edit in its own place: a hold keeps its reach time, a
    target moves its band along (same width relative to the target)."""
    if not edits:
        return protocol
    sections = list(protocol.sections)
    for place, value in edits.items():
        sec = sections[place.section]
        if place.phase is None:
            sections[place.section] = replace(sec, repetitions=int(value))
            continue
        phases = list(sec.phases)
        phases[place.phase] = _edited(phases[place.phase], place.field, value)
        sections[place.section] = replace(sec, phases=tuple(phases))
    return replace(protocol, sections=tuple(sections))


def _edited(ph: Phase, field: str, value: float) -> Phase:
    if field == "hold_s":
        return replace(ph, hold_s=value, duration_s=value + ph.reach_s)
    if field == "target_pct_mvc":
        k = value / ph.target_pct_mvc
        band = None if ph.band_pct_mvc is None else tuple(b * k for b in ph.band_pct_mvc)
        return replace(ph, target_pct_mvc=value, band_pct_mvc=band)
    return replace(ph, duration_s=value)
