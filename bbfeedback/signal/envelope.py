"""Moving-RMS amplitude envelope, streaming and independent of block sizes."""

from __future__ import annotations

import numpy as np

# The running window sum is recomputed exactly at absolute sample indices that are multiples
# of this, so rounding cannot drift over an hour and every block split gives the same sums.
_REANCHOR_SAMPLES = 1 << 14


class MovingRms:
    """RMS over the last ``window_s`` seconds (causal, full-wave: squares, mean, root).

    The default 150 ms window (docs/signal-and-detection.md): long enough that the
    estimate of a stochastic EMG amplitude is steady (its SNR grows with the square root of
    the window), short enough to follow 1 s quick contractions; its delay (half the window)
    is corrected by the detector.
    """

    def __init__(self, n_channels: int, fs_hz: float, window_s: float = 0.15):
        if window_s <= 0:
            raise ValueError("window_s must be positive")
        self.n_channels = n_channels
        self.fs_hz = fs_hz
        self.window_n = max(1, int(round(window_s * fs_hz)))
        self.reset()

    @property
    def delay_s(self) -> float:
        """Group delay of the moving window: half its length."""
        return (self.window_n - 1) / 2 / self.fs_hz

    def reset(self) -> None:
        self._tail = np.zeros((self.window_n, self.n_channels))  # last window of squares
        self._sum = np.zeros(self.n_channels)
        self._position = 0  # absolute index of the next sample

    def process(self, x: np.ndarray) -> np.ndarray:
        out = np.empty((x.shape[0], self.n_channels))
        done = 0
        while done < x.shape[0]:
            to_anchor = _REANCHOR_SAMPLES - (self._position % _REANCHOR_SAMPLES)
            stop = min(x.shape[0], done + to_anchor)
            out[done:stop] = self._run(x[done:stop])
            done = stop
            if self._position % _REANCHOR_SAMPLES == 0:
                self._sum = self._tail.sum(axis=0)
        return out

    def _run(self, x: np.ndarray) -> np.ndarray:
        n = self.window_n
        buf = np.concatenate([self._tail, x * x])
        sums = self._sum + np.cumsum(buf[n:] - buf[: x.shape[0]], axis=0)
        self._sum = sums[-1]
        self._tail = buf[-n:]
        self._position += x.shape[0]
        return np.sqrt(np.maximum(sums, 0.0) / n)
