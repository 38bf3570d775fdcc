"""The envelope of every channel, kept decimated for scoring and display, as ``Trace`` views.

The store keeps every k-th envelope sample (k from ``TRACE_RATE_HZ``) at absolute sample
indices, so feeding blocks of any size gives the same store. A ``Trace`` is one column on the
recording clock: the envelope lags the muscle by half the RMS window plus the filter delay,
and the trace's times are shifted back by that much.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bbfeedback.signal.pipeline import Pipeline

TRACE_RATE_HZ = 100.0  # envelope kept for scoring and display at about this rate


@dataclass
class Trace:
    """A decimated envelope on the recording clock: ``values[i]`` at ``t0_s + i / rate_hz``."""

    values: np.ndarray
    rate_hz: float
    t0_s: float = 0.0

    def index(self, t_s: float) -> int:
        return int(np.clip(round((t_s - self.t0_s) * self.rate_hz), 0, self.values.size))

    def window(self, a_s: float, b_s: float) -> tuple[np.ndarray, float]:
        """Values between two times and the time of the first of them."""
        i, j = self.index(a_s), self.index(b_s)
        return self.values[i:j], self.t0_s + i / self.rate_hz


class TraceStore:
    """Decimated envelope of all channels of a pipeline (every k-th sample, absolute index)."""

    def __init__(self, pipeline: Pipeline, rate_hz: float = TRACE_RATE_HZ):
        self.fs_hz = pipeline.fs_hz
        self.k = max(1, int(round(self.fs_hz / rate_hz)))
        self.n_channels = len(pipeline.channels)
        # how long each channel's envelope lags the muscle: half the RMS window + filter delay
        self.delays_s = [pipeline.delay_s(c) for c in range(self.n_channels)]
        self.data = np.empty((4096, self.n_channels))
        self.size = 0  # decimated samples held

    def add(self, env: np.ndarray, start_sample: int) -> None:
        """Keep the envelope block ``env`` (samples x channels) starting at ``start_sample``."""
        first = (-start_sample) % self.k
        take = env[first::self.k]
        idx0 = (start_sample + first) // self.k
        need = idx0 + take.shape[0]
        if need > self.data.shape[0]:
            grown = np.empty((max(need, 2 * self.data.shape[0]), self.n_channels))
            grown[: self.size] = self.data[: self.size]
            self.data = grown
        if idx0 > self.size:  # lost samples: hold the last value across the gap
            self.data[self.size:idx0] = self.data[self.size - 1] if self.size else 0.0
        self.data[idx0:need] = take
        self.size = max(self.size, need)

    @property
    def lag_s(self) -> float:
        """How long the slowest channel's envelope lags the muscle."""
        return max(self.delays_s)

    @property
    def available_s(self) -> float:
        """Recording time up to which every channel's envelope is complete."""
        return self.size * self.k / self.fs_hz - self.lag_s

    def trace(self, column: int) -> Trace:
        return Trace(self.data[: self.size, column], self.fs_hz / self.k, -self.delays_s[column])
