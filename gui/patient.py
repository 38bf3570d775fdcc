"""The patient's view: big and calm, readable from 2 m.

The trace against the template, the cue word and a countdown, and the level as a lift in a
building drawn from the protocol: one box per target it has (the lift's three floors; one
"target" box for a protocol with one), the box lit being the one the level line is in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bbfeedback.gui.i18n import tr
from bbfeedback.gui.live_plot import LivePlot
from bbfeedback.gui.session_text import is_assessment
from PySide6 import QtCore, QtGui, QtWidgets

from bbfeedback import texts as words
from bbfeedback.exercise.protocols import WORK, Protocol
from bbfeedback.exercise.scores import RepScore
from bbfeedback.exercise.shown import patient_verdict
from bbfeedback.exercise.targets import TemplateBox

FLOOR_COLORS = ("#d6eaf8", "#aed6f1", "#85c1e9", "#5dade2", "#3498db")


@dataclass(frozen=True)
class Floor:
    """One box of the building, in % MVC: from ``lo`` to ``hi``, around its target."""

    label: str
    lo: float
    hi: float
    target: float


def floors_of(protocol: Protocol | None, lang: str) -> list[Floor]:
    """The protocol's targets as stacked boxes, bottom to top: each reaches from halfway to
    the target below it (the lowest: from its band's bottom) to halfway to the one above (the
    top one: to the top of the scale). The lift's are its floors; without a % MVC target
    (calibration "none"), one box above rest."""
    works = [ph for sec in (protocol.sections if protocol else ()) for ph in sec.phases
             if ph.kind == WORK and ph.target_pct_mvc is not None]
    targets = sorted({ph.target_pct_mvc for ph in works}) or [50.0]
    lows = {ph.target_pct_mvc: (ph.band_pct_mvc or (ph.target_pct_mvc / 2,))[0] for ph in works}
    top = scale_top(targets)
    lift = protocol is not None and (protocol.scoring == "lift" or any(
        sec.scoring == "lift" for sec in protocol.sections))
    out = []
    for k, t in enumerate(targets):
        lo = min(lows.get(t, t / 2), t) if k == 0 else (targets[k - 1] + t) / 2
        hi = top if k == len(targets) - 1 else (t + targets[k + 1]) / 2
        if lift:
            label = f"{tr('floor', lang)} {k + 1}"
        elif len(targets) == 1:
            label = tr("target_box", lang)
        else:
            label = words.format_text("{t:g} %", lang, t=t)
        out.append(Floor(label, lo, hi, t))
    return out


def scale_top(targets: list[float]) -> float:
    """The top of the building in % MVC: room above the highest target."""
    return max(100.0, 1.25 * max(targets))


class LiftBar(QtWidgets.QWidget):
    """The building: the protocol's floors, and the level as a red line; lit is the floor
    the line is in."""

    def __init__(self):
        super().__init__()
        self.level_pct = 0.0
        self._now: TemplateBox | None = None  # the work step the patient is in
        self.floors: list[Floor] = floors_of(None, "nl")
        self.top = scale_top([f.target for f in self.floors])
        self.setMinimumWidth(200)

    def set_floors(self, floors: list[Floor]) -> None:
        self.floors = floors
        self.top = scale_top([f.target for f in floors])
        self.update()

    def set_level(self, pct: float | None, now: TemplateBox | None = None) -> None:
        """``now``: the work step the patient is in (its ``target_pct`` and ``band_pct``),
        if any: a level inside its band lights its box, as the scores count it."""
        self.level_pct = 0.0 if pct is None else max(0.0, min(self.top, pct))
        self._now = now
        self.update()

    def lit(self) -> int | None:
        """The box of the work step's target while the level is inside that step's band
        (Glazer's 100 % band reaches down to 50 %: a squeeze at 60 % is in it), else the
        box the level line is in (None: below the first: at rest)."""
        band = None if self._now is None else self._now.band_pct
        if band and band[0] <= self.level_pct <= band[1]:
            own = [k for k, f in enumerate(self.floors) if f.target == self._now.target_pct]
            if own:
                return own[0]
        return next((k for k, f in enumerate(self.floors) if f.lo <= self.level_pct < f.hi
                     or (k == len(self.floors) - 1 and self.level_pct >= f.hi)), None)

    def y_of(self, pct: float) -> float:
        margin = 10
        return self.height() - margin - (self.height() - 2 * margin) * pct / self.top

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        p = QtGui.QPainter(self)
        p.setRenderHint(QtGui.QPainter.Antialiasing)
        w, margin = self.width(), 10
        lit = self.lit()
        font = p.font()
        for k, f in enumerate(self.floors):
            rect = QtCore.QRectF(margin, self.y_of(f.hi) + 2, w - 2 * margin,
                                 self.y_of(f.lo) - self.y_of(f.hi) - 4)
            p.setBrush(QtGui.QColor(FLOOR_COLORS[k % len(FLOOR_COLORS)] if k == lit
                                    else "#f4f6f7"))
            p.setPen(QtGui.QPen(QtGui.QColor("#7f8c8d"), 1))
            p.drawRoundedRect(rect, 8, 8)
            # as large as fits: a third of the box's height, and its width
            size = max(10, min(int(rect.height() / 3), int(rect.width() / (0.62 * len(f.label))),
                               40))
            font.setPixelSize(size)
            p.setFont(font)
            p.setPen(QtGui.QColor("#2c3e50"))
            # in the box's upper part: the level line sits at its target, mid-box, and
            # would strike the word through
            p.drawText(rect.adjusted(0, 4, 0, -rect.height() / 2),
                       QtCore.Qt.AlignHCenter | QtCore.Qt.AlignVCenter, f.label)
        y = self.y_of(self.level_pct)
        p.setPen(QtGui.QPen(QtGui.QColor("#c0392b"), 6))
        p.drawLine(QtCore.QPointF(margin, y), QtCore.QPointF(w - margin, y))
        p.end()


class FittedLabel(QtWidgets.QLabel):
    """A label whose text is as large as fits in its box (at most ``max_px``): a long cue
    ("Verdieping 3: nog iets harder, billen blijven ontspannen, blijf doorademen") is never
    cut off, a short one is big. Its size never follows the text: the layout stays put."""

    def __init__(self, max_px: int, min_px: int = 14, weight: int = 600):
        super().__init__("")
        self.max_px, self.min_px = max_px, min_px
        self.setWordWrap(True)
        self.setAlignment(QtCore.Qt.AlignCenter)
        self.setSizePolicy(QtWidgets.QSizePolicy.Ignored, QtWidgets.QSizePolicy.Ignored)
        font = self.font()
        font.setWeight(QtGui.QFont.Weight(weight))
        self.setFont(font)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        if text != self.text():
            super().setText(text)
            self._fit()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        font = self.font()
        box = self.contentsRect().adjusted(4, 2, -4, -2)
        flags = int(QtCore.Qt.AlignCenter | QtCore.Qt.TextWordWrap)
        for px in range(self.max_px, self.min_px - 1, -2):
            font.setPixelSize(px)
            need = QtGui.QFontMetrics(font).boundingRect(box, flags, self.text())
            if need.height() <= box.height() and need.width() <= box.width():
                break
        QtWidgets.QLabel.setFont(self, font)


PRAISE_S = 4.0  # how long "goed zo" (or "laat daarna helemaal los", ...) stays after a rep


def verdict(rep: RepScore, is_assessment: bool) -> str | None:
    """The patient's word on one repetition (``exercise.shown.patient_verdict``: "praise",
    "let_go" or "try_again"); None when it says nothing to her (an assessment measures and
    sets no target; a repetition stopped or not judged was not hers to make)."""
    return None if is_assessment else patient_verdict(rep)


class PatientView(QtWidgets.QWidget):
    """Readable from 3 m on a second screen: one instruction, a big countdown, the target
    as a line to reach, a calm word after each repetition; no units and no axes."""

    def __init__(self, lang: str = "nl"):
        super().__init__()
        self.lang = lang
        self.protocol: Protocol | None = None
        self._seen = 0  # repetitions already answered with a word
        self._said: tuple[str, float] | None = None  # (word key, until frame time)
        self.setStyleSheet("background: white;")
        self.cue = FittedLabel(max_px=84)  # as large as fits, never cut off
        self.cue.setStyleSheet("color: #1f4e8c;")
        self.cue.setFixedHeight(190)  # the layout does not jump when a cue wraps
        self.count = QtWidgets.QLabel("")
        self.count.setAlignment(QtCore.Qt.AlignCenter)
        self.count.setStyleSheet("font-size: 72pt; font-weight: 600; color: #34495e;")
        self.rep = QtWidgets.QLabel("")  # "herhaling 3 van 5"
        self.rep.setAlignment(QtCore.Qt.AlignCenter)
        self.rep.setStyleSheet("font-size: 26pt; color: #34495e;")
        self.praise = QtWidgets.QLabel("")  # "Herhaling 3: goed zo!" after one met
        self.praise.setWordWrap(True)
        self.praise.setAlignment(QtCore.Qt.AlignCenter)
        self.praise.setFixedHeight(56)  # kept when empty: the layout never jumps
        # at the end: what she did and one thing to do next time, in her words (the
        # summary's patient text: no numbers, no units; those stay with the therapist)
        self.advice = QtWidgets.QLabel("")
        self.advice.setWordWrap(True)
        self.advice.setAlignment(QtCore.Qt.AlignCenter)
        self.advice.setStyleSheet("font-size: 20pt; color: #1f4e8c;")
        self.advice.hide()
        self.plot = LivePlot(window_s=15.0, ahead_s=8.0, big=True)
        self.lift = LiftBar()
        body = QtWidgets.QHBoxLayout()
        body.addWidget(self.plot, 4)
        body.addWidget(self.lift, 1)
        layout = QtWidgets.QVBoxLayout(self)
        head = QtWidgets.QHBoxLayout()
        head.addWidget(self.cue, 4)
        side = QtWidgets.QVBoxLayout()
        side.addWidget(self.count)
        side.addWidget(self.rep)
        head.addLayout(side, 1)
        layout.addLayout(head)
        layout.addWidget(self.praise)  # under the instruction, the width of the screen
        layout.addWidget(self.advice)
        layout.addLayout(body, 1)
        self.resize(1100, 700)
        self.set_language(lang)

    def set_protocol(self, protocol: Protocol | None) -> None:
        """Draw the building of this protocol (its floors, or its one target)."""
        self.protocol = protocol
        self._seen, self._said = 0, None
        self.lift.set_floors(floors_of(protocol, self.lang))

    def set_language(self, lang: str) -> None:
        self.lang = lang
        self.setWindowTitle(f"{tr('patient_title', lang)} - bbfeedback")
        self.lift.set_floors(floors_of(self.protocol, lang))
        mark = self.plot.now_line.label  # (its own update waits for a move: "now" stays put)
        mark.setFormat(tr("now_mark", lang))
        mark.setText(tr("now_mark", lang))

    def draw(self, snap, main: int, accessory: int | None, rep_text: str = "") -> None:
        self.plot.draw(snap, main, None)
        self.rep.setText(rep_text)
        if snap.status == "finished":
            self.cue.setText(tr("done", self.lang))
        elif snap.cue is not None:
            self.cue.setText(snap.cue.cue_nl if self.lang == "nl" else snap.cue.cue_en)
        else:
            self.cue.setText(tr("wait_start", self.lang))
        self._answer(snap)
        said = (snap.summary or {}).get(f"patient_text_{self.lang}") \
            if snap.status == "finished" else None
        if self.advice.text() != (said or ""):
            self.advice.setText(said or "")
            self.advice.setVisible(bool(said))
        if snap.cue_end_s is not None and snap.running:
            # counted up, as a person counts down: "1 s" until the phase is over, never "0 s"
            self.count.setText(f"{math.ceil(max(0.0, snap.cue_end_s - snap.t_s) - 1e-9)} s")
        else:
            self.count.setText("")
        now = next((i for i in snap.template if i.kind == "work"
                    and i.start_s <= snap.t_s < i.end_s), None) if snap.running else None
        self.lift.set_level(snap.level_pct, now)

    def _answer(self, snap) -> None:
        """A calm word for the repetition just scored, for ``PRAISE_S`` of session time."""
        if len(snap.reps) < self._seen:  # a new session
            self._seen, self._said = 0, None
        if len(snap.reps) > self._seen:
            self._seen = len(snap.reps)
            key = verdict(snap.reps[-1], is_assessment(self.protocol))
            # a repetition is scored once the rest after it is over (its release and rest
            # count): the word comes as the next one begins, so it names its repetition
            self._said = (key, snap.t_s + PRAISE_S, snap.reps[-1].index) if key \
                else None
        key = self._said[0] if self._said and snap.t_s < self._said[1] else None
        color = "#1e8449" if key == "praise" else "#7f8c8d"
        text = words.format_text(tr(key, self.lang), self.lang, n=self._said[2]) if key \
            else ""
        if text != self.praise.text():
            self.praise.setText(text)
            self.praise.setStyleSheet(f"font-size: 28pt; font-weight: 600; color: {color};")
