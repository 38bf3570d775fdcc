"""The scrolling plot: raw trace, envelope, target template ahead, thresholds, contractions.

Redrawn from the controller's snapshot by a timer; preallocated curves, ``setData`` with
peak downsampling and clip-to-view, no ``processEvents`` in slots.
"""

from __future__ import annotations

import functools

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from bbfeedback.exercise.targets import TemplateBox

RAW_PENS = ("#9bb7d4", "#d9b38c")
ENV_PENS = ("#1f4e8c", "#b35900")
ONSET_PEN, OFFSET_PEN = "#27ae60", "#8e44ad"  # a detected contraction's begin and end
ARTEFACT_BRUSH = (90, 90, 90, 60)  # a marked artefact (lead-off, spikes, clipping, burst)
WORK_BRUSH = (46, 160, 67, 60)
REST_BRUSH = (120, 120, 120, 25)
TARGET_BRUSH = (30, 120, 50, 210)  # the patient's target: a line inside its zone


@functools.lru_cache(maxsize=8)
def seconds_before_now(n: int, fs_hz: float) -> np.ndarray:
    """The time axis of the last ``n`` samples (read-only, shared): not a new array per
    frame."""
    x = -(n - 1 - np.arange(n)) / fs_hz
    x.flags.writeable = False
    return x


class RawPlot(pg.PlotWidget):
    """The raw signals (µV) under the envelope plot, same time axis, own scale."""

    def __init__(self, window_s: float = 30.0, ahead_s: float = 8.0):
        super().__init__(background="w")
        self.window_s, self.ahead_s = window_s, ahead_s
        self.setMouseEnabled(x=False, y=False)
        self.setMenuEnabled(False)
        self.setLabel("left", "raw µV")
        self.setXRange(-window_s, ahead_s, padding=0)
        item = self.getPlotItem()
        item.setDownsampling(auto=True, mode="peak")
        item.setClipToView(True)
        self.curves = [self.plot(pen=pg.mkPen(c, width=1), skipFiniteCheck=True)
                       for c in ENV_PENS]
        self._range: float | None = None
        self._mid = 0.0
        self.band_passed = True  # the EMG a therapist reads; raw (with wander) on a toggle

    def show_band_passed(self, on: bool) -> None:
        self.band_passed = on
        self._range = None  # a new scale for the other signal

    def draw(self, snap, main: int = 0, accessory: int | None = None) -> None:
        data = snap.band if self.band_passed and snap.band.shape[0] else snap.raw
        n = data.shape[0]
        if not n:
            return
        x = seconds_before_now(n, snap.fs_hz)  # a fixed axis, made once
        for k, curve in enumerate(self.curves):
            col = main if k == 0 else accessory
            if col is not None and col < data.shape[1]:
                curve.setData(x, data[:, col], skipFiniteCheck=True)
            else:
                curve.setData([], [])
        mid = float(np.median(data[:, main]))
        span = float(np.percentile(np.abs(data[:, main] - mid), 99.5)) * 1.2 + 1.0
        if self._range is None or abs(span - self._range) > 0.2 * self._range \
                or abs(mid - self._mid) > 0.5 * self._range:
            self._range, self._mid = span, mid  # rescale only on a real change: calm
            self.setYRange(mid - span, mid + span, padding=0)


class LivePlot(pg.PlotWidget):
    def __init__(self, window_s: float = 30.0, ahead_s: float = 8.0, big: bool = False,
                 raw: bool = False):
        super().__init__(background="w")
        self.window_s = window_s
        self.ahead_s = ahead_s
        self.setMouseEnabled(x=False, y=False)
        self.setMenuEnabled(False)
        self.showGrid(x=False, y=True, alpha=0.2)
        self.setLabel("bottom", "s (0 = now)")
        self.setLabel("left", "µV")
        # time runs relative to now, so the axes stay put and only the data moves: redrawing
        # axes and ticks every frame cost more than the curves
        self.setXRange(-window_s, ahead_s, padding=0)
        self._top_now = None
        item = self.getPlotItem()
        item.setDownsampling(auto=True, mode="peak")
        item.setClipToView(True)
        self.raw_curves: list[pg.PlotDataItem] = []
        self.env_curves: list[pg.PlotDataItem] = []
        width = 4 if big else 2
        for k in range(2):
            self.raw_curves.append(self.plot(pen=pg.mkPen(RAW_PENS[k], width=1),
                                             skipFiniteCheck=True))
            self.env_curves.append(self.plot(pen=pg.mkPen(ENV_PENS[k], width=width),
                                             skipFiniteCheck=True))
        self.show_raw = raw
        self.show_marks = not big
        self.big = big
        # the patient's plot: no axes, numbers or units (those are the therapist's); "now"
        # is a marked line, and each target a line to reach in a zone around it
        self.now_line = pg.InfiniteLine(
            angle=90, pen=pg.mkPen("#444", width=2 if big else 1, style=QtCore.Qt.DashLine),
            label="now" if big else None,
            labelOpts={"position": 0.98, "color": "#444", "anchors": [(0.5, 0), (0.5, 0)]})
        if big:
            font = QtGui.QFont()
            font.setPixelSize(22)
            self.now_line.label.setFont(font)
        self.on_line = pg.InfiniteLine(angle=0, pen=pg.mkPen("#c0392b", width=1,
                                                             style=QtCore.Qt.DotLine))
        self.off_line = pg.InfiniteLine(angle=0, pen=pg.mkPen("#e67e22", width=1,
                                                              style=QtCore.Qt.DotLine))
        for line in (self.now_line, self.on_line, self.off_line):
            self.addItem(line)
            line.setVisible(False)
        if big:
            self.hideAxis("left")
            self.hideAxis("bottom")
            self.showGrid(x=False, y=False)
        self._bands: list[pg.LinearRegionItem | QtWidgets.QGraphicsRectItem] = []
        self._targets: list[QtWidgets.QGraphicsRectItem] = []
        self._marks: list = []
        self._artefacts: list[QtWidgets.QGraphicsRectItem] = []

    def _pooled(self, pool: list, k: int, make):
        """The k-th reusable item of a pool (created once): no scene churn per frame."""
        while len(pool) <= k:
            item = make()
            self.addItem(item)
            pool.append(item)
        pool[k].setVisible(True)
        return pool[k]

    @staticmethod
    def _hide_from(pool: list, k: int) -> None:
        for item in pool[k:]:
            item.setVisible(False)

    def draw(self, snap, main: int = 0, accessory: int | None = None) -> None:
        t = snap.t_s
        n = snap.raw.shape[0]
        if n and self.show_raw:
            x = seconds_before_now(n, snap.fs_hz)
            for k, curve in enumerate(self.raw_curves):
                if k < snap.raw.shape[1] and k in (main, accessory):
                    curve.setData(x, snap.raw[:, k], skipFiniteCheck=True)
                else:
                    curve.setData([], [])
        for k, curve in enumerate(self.env_curves):
            col = main if k == 0 else accessory
            if col is not None and snap.env.shape[0] and col < snap.env.shape[1]:
                curve.setData(snap.env_t - t, snap.env[:, col], skipFiniteCheck=True)
            else:
                curve.setData([], [])
        top = self._top(snap)  # first: the bands and marks are cut to it
        if self._top_now is None or abs(top - self._top_now) > 0.15 * self._top_now:
            self._top_now = top  # rescale only on a real change: a calm picture
            self.setYRange(-0.02 * top, top, padding=0)
        self._draw_template(snap)
        self._draw_marks(snap)
        self.now_line.setPos(0.0)
        self.now_line.setVisible(True)
        if snap.thresholds:
            self.on_line.setPos(snap.thresholds[0])
            self.off_line.setPos(snap.thresholds[1])
        for line in (self.on_line, self.off_line):
            line.setVisible(bool(snap.thresholds) and self.show_marks)

    def _top(self, snap) -> float:
        """Top of the y axis: above the target bands and the trace."""
        levels = [b.drawn_band[0] * 1.3 for b in snap.template if b.drawn_band]
        levels += [b.target * 1.3 for b in snap.template if b.target]
        if self.big:  # the patient's zone around her target fits whole
            levels += [1.05 * _zone_top(b) for b in snap.template if b.target and b.drawn_band]
        if snap.env.shape[0]:
            levels.append(float(snap.env.max()) * 1.1)
        if snap.channels and snap.main < len(snap.channels):  # the calibration's MVC fits too
            cal = snap.calibration.get(snap.channels[snap.main].name)
            mvc = None if cal is None else cal.mvc
            if mvc is not None and np.isfinite(mvc):
                levels.append(float(mvc) * 1.15)
        return max(levels + [10.0])

    def _draw_template(self, snap) -> None:
        """Work bands ahead of (and under) the trace: what the patient should follow."""
        top = self._top_now or self._top(snap)
        t = snap.t_s
        k = j = 0
        for b in snap.template:
            rect = self._pooled(self._bands, k, _rect)
            k += 1
            if b.kind == "work" and b.drawn_band:
                lo, hi = b.drawn_band
                end = b.drawn_end_s  # quick: over the reaction window
                aim = b.target
                if self.big and aim is not None and np.isfinite(aim) and lo < aim:
                    hi = _zone_top(b)
                    line = self._pooled(self._targets, j, _rect)
                    j += 1
                    line.setBrush(pg.mkBrush(*TARGET_BRUSH))
                    line.setZValue(-9)  # over its zone
                    line.setRect(b.start_s - t, aim - 0.008 * top, end - b.start_s,
                                 0.016 * top)
                rect.setRect(b.start_s - t, lo, end - b.start_s, min(hi, top) - lo)
                rect.setBrush(pg.mkBrush(*WORK_BRUSH))
            else:
                rect.setRect(b.start_s - t, 0, b.end_s - b.start_s, 0.02 * top)
                rect.setBrush(pg.mkBrush(*REST_BRUSH))
        self._hide_from(self._bands, k)
        self._hide_from(self._targets, j)

    def _draw_marks(self, snap) -> None:
        """Contraction on/offsets and, shaded grey over the whole height, the artefacts the
        signal-quality stage marked (not scored: the therapist sees why)."""
        top = self._top_now or self._top(snap)
        j = 0
        if self.show_marks:
            for a, b, _kind in getattr(snap, "artefacts", ()):
                rect = self._pooled(self._artefacts, j, _rect)
                rect.setBrush(pg.mkBrush(*ARTEFACT_BRUSH))
                rect.setZValue(-5)
                rect.setRect(a - snap.t_s, 0, b - a, top)
                j += 1
        self._hide_from(self._artefacts, j)
        k = 0
        if self.show_marks:
            for c in snap.contractions:
                for x, color in ((c.onset_s, ONSET_PEN), (c.offset_s, OFFSET_PEN)):
                    line = self._pooled(self._marks, k, lambda: pg.InfiniteLine(angle=90))
                    line.setPen(pg.mkPen(color, width=1))
                    line.setPos(x - snap.t_s)
                    k += 1
        self._hide_from(self._marks, k)


def _zone_top(item: TemplateBox) -> float:
    """The top of the patient's zone around a target. A band open to 300 % MVC gives no
    level to aim at: she sees a zone as far above the target as its lower edge is below,
    and the target itself as a line (the scores still accept the whole band)."""
    lo, hi = item.drawn_band
    aim = item.target
    return min(hi, aim + max(aim - lo, 0.0))


def _rect() -> QtWidgets.QGraphicsRectItem:
    rect = QtWidgets.QGraphicsRectItem()
    rect.setPen(pg.mkPen(None))
    rect.setZValue(-10)
    return rect
