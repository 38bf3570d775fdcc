"""The session's contraction detector and what it reported.

The detector starts once there is a calibration (at the protocol's first step when the
session calibrates itself) and reads the envelope on the sample clock. Across lost samples it
sees the last level held, as the trace store does, so its history stays on the sample clock.
A repetition's onset and offset come from here (``activity``): the contractions reported, and
the ones still going on as the detector would report them if the stream ended now.
"""

from __future__ import annotations

import copy

import numpy as np

from bbfeedback.detect.calibration import Calibration
from bbfeedback.detect.contractions import ChannelDetector, Contraction, ContractionDetector
from bbfeedback.exercise.scoring import Activity
from bbfeedback.signal.blocks import Block
from bbfeedback.signal.pipeline import Pipeline


def report_lag_s(det: ChannelDetector, k: int) -> float:
    """How long after a contraction's offset the detector has surely reported it, in whatever
    blocks the samples came: the envelope's lag past the offset (one window, the filter
    delay), the offset look-ahead (one window, the minimum gap), one stored sample (``k``)."""
    return (2 * det.window_n + det.gap_n + det.filter_delay_n + k + 1) / det.fs_hz


def still_open(det: ChannelDetector) -> list[Contraction]:
    """The contractions the detector has not reported yet, as it would report them if the
    stream ended now (a copy of it is flushed; the detector itself is left as it is). Their
    onsets are final, their offsets not."""
    return copy.deepcopy(det).flush()


class ContractionLog:
    """The detector of every envelope column, and the contractions it reported."""

    def __init__(self, pipeline: Pipeline):
        self.pipeline = pipeline
        self.detector: ContractionDetector | None = None
        self.contractions: list[Contraction] = []
        self.cut_short: list[Contraction] = []  # closed by the end of the stream, not the muscle
        self.from_sample = 0  # the detector reads the envelope from this sample on
        self.fed_to: int | None = None  # the sample after the last one the detector read
        self.last_level = np.zeros(len(pipeline.channels))  # the envelope's last values

    def start(self, calibrations: list[Calibration], config, from_sample: int = 0) -> None:
        self.detector = ContractionDetector(self.pipeline, calibrations, config)
        self.from_sample = from_sample

    def feed(self, env: Block, a: int, b: int,
             filtered: np.ndarray | None = None) -> list[Contraction]:
        """Detect in the envelope block's samples ``a`` to ``b`` (absolute indices);
        ``filtered``: the band-passed signal of the block's samples (``Pipeline.step(...).band``),
        on which the detector refines onsets and offsets."""
        a = max(a, self.from_sample)
        if self.detector is None or b <= a:
            return []
        i, j = a - env.start_sample, b - env.start_sample
        part = env.data[i:j]
        raw = None if filtered is None or filtered.shape[0] != env.n_samples else filtered[i:j]
        found = self.detector.process(Block(part, env.fs_hz, env.channels, a), raw)
        self.contractions += found
        self.fed_to = b
        return found

    def held_before(self, start_sample: int) -> Block | None:
        """What the detector sees for samples it never got before ``start_sample`` (lost in a
        gap): the last level held. None when nothing is missing."""
        if self.detector is None or self.fed_to is None or self.fed_to >= start_sample:
            return None
        n = start_sample - self.fed_to
        level = np.broadcast_to(self.last_level, (n, self.last_level.size))
        return Block(level, self.pipeline.fs_hz, self.pipeline.channels, self.fed_to)

    def close(self) -> list[Contraction]:
        """End of stream: report what is open; a contraction still going on is cut short."""
        if self.detector is None:
            return []
        going_on = {ch.channel.name for ch in self.detector.channels if ch.active}
        found = self.detector.flush()
        self.contractions += found
        self.cut_short += [c for c in found if c.channel in going_on]
        return found

    def activity(self, column: int) -> Activity:
        """What the detector knows of one column now: its reported contractions, those still
        open (cut short by the end of the stream, or not reported yet) and its *on* level."""
        det = self.detector.channels[column]
        name = det.channel.name
        cut = [c for c in self.cut_short if c.channel == name]
        closed = [c for c in self.contractions
                  if c.channel == name and not any(c is x for x in cut)]
        return Activity(tuple(closed), tuple(cut + still_open(det)), det.on)
