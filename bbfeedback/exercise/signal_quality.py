"""What can spoil a repetition's score, seen in the raw blocks: lost samples and clipping.

A gap is a fact of the sample clock (``block.lost_before``: the run loop makes it equal to the
jump of ``start_sample``); clipping is a run of identical raw samples at the extreme. Both are
kept with their times, so a repetition can be flagged ``signal_gap`` or ``saturation``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bbfeedback.exercise.scores import Flag
from bbfeedback.signal.blocks import Block

FLAT_RUN = 3  # identical raw samples in a row at (98 % of) the extreme = clipping
GAP_BEFORE_S = 1.0  # a gap this long before the cue still spoils the repetition
CLIP_BEFORE_S = 0.5  # clipping this long before the cue still spoils the repetition


@dataclass
class Gap:
    t_s: float
    lost_samples: int


class FlatTops:
    """Finds clipping: runs of identical raw samples at the extreme, across block borders."""

    def __init__(self, n_channels: int):
        self.last = np.full(n_channels, np.nan)
        self.run = np.zeros(n_channels, dtype=int)
        self.max_abs = np.zeros(n_channels)

    def process(self, x: np.ndarray, start_sample: int) -> list[int]:
        hits = []
        self.max_abs = np.maximum(self.max_abs, np.abs(x).max(axis=0) if x.size else 0)
        for c in range(x.shape[1]):
            col = x[:, c]
            same = np.concatenate([[col[0] == self.last[c]], col[1:] == col[:-1]])
            run = self.run[c]
            for i in np.flatnonzero(same):  # few: EMG noise almost never repeats
                run = run + 1 if i == 0 or same[i - 1] else 1
                if run + 1 == FLAT_RUN and col[i] != 0 and abs(col[i]) >= 0.98 * self.max_abs[c]:
                    hits.append(start_sample + int(i))
            self.run[c] = run if same[-1] else 0
            self.last[c] = col[-1]
        return hits


class SignalQuality:
    """Gaps and clipping of the scored columns of the raw blocks, with their times."""

    def __init__(self, columns: list[int], fs_hz: float):
        self.columns = columns
        self.fs_hz = fs_hz
        self.flat = FlatTops(len(columns))
        self.gaps: list[Gap] = []
        self.clipped_s: list[float] = []

    def process(self, raw: Block) -> list[Gap]:
        """Check one raw block; return the gap before it, if samples were lost."""
        out = []
        if raw.lost_before:
            gap = Gap((raw.start_sample - raw.lost_before) / self.fs_hz, int(raw.lost_before))
            self.gaps.append(gap)
            out.append(gap)
        hits = self.flat.process(raw.data[:, self.columns], raw.start_sample)
        self.clipped_s += [i / self.fs_hz for i in hits]
        return out

    def flags(self, cue_s: float, until_s: float) -> list[Flag]:
        """``signal_gap`` / ``saturation`` for a repetition from its cue to the end of its rest."""
        out = []
        if any(cue_s - GAP_BEFORE_S <= g.t_s <= until_s for g in self.gaps):
            out.append(Flag.SIGNAL_GAP)
        if any(cue_s - CLIP_BEFORE_S <= t <= until_s for t in self.clipped_s):
            out.append(Flag.SATURATION)
        return out
