"""Causal streaming filters with explicit state (scipy.signal ``sosfilt`` + ``zi``).

Each stage has ``process(x) -> y`` on (samples, channels) arrays and ``reset()``. The
filter state starts in the steady state for the first sample (``sosfilt_zi * x[0]``): a
DC offset then gives no start-up transient, and the start depends on sample 0 only, which
keeps the output identical whatever the block sizes.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

MAINS_CHOICES = (50.0, 60.0)


class SosFilter:
    """A second-order-sections IIR filter that keeps its state between blocks.

    ``stages``: section counts of filters cascaded into this one (notch, then band-pass):
    each starts in its own steady state for its own first input, so the cascade gives the
    very numbers the filters give one after the other, in one pass over the samples."""

    def __init__(self, sos: np.ndarray, n_channels: int, fs_hz: float,
                 stages: tuple[int, ...] | None = None):
        self.sos = np.atleast_2d(np.asarray(sos, dtype=float))
        self.n_channels = n_channels
        self.fs_hz = fs_hz
        self.stages = stages or (self.sos.shape[0],)
        self.reset()

    def reset(self) -> None:
        self._zi = None

    def process(self, x: np.ndarray) -> np.ndarray:
        if x.shape[0] == 0:
            return x.astype(float, copy=True)
        if self._zi is None:
            self._zi = self._steady_state(x[0])
        y, self._zi = signal.sosfilt(self.sos, x, axis=0, zi=self._zi)
        return y

    def _steady_state(self, first: np.ndarray) -> np.ndarray:
        parts, start = [], 0
        for n in self.stages:
            sos = self.sos[start:start + n]
            zi = signal.sosfilt_zi(sos)[:, :, None] * first[None, None, :]
            parts.append(zi)
            first = signal.sosfilt(sos, first[None, :], axis=0, zi=zi)[0][0]
            start += n
        return np.concatenate(parts)

    def group_delay_s(self, f_hz: float) -> float:
        """Group delay of the whole cascade at one frequency, in seconds."""
        total = 0.0
        for section in self.sos:
            _, gd = signal.group_delay((section[:3], section[3:]), w=[f_hz], fs=self.fs_hz)
            total += float(gd[0])
        return total / self.fs_hz


def bandpass_sos(fs_hz: float, low_hz: float = 20.0, high_hz: float = 450.0,
                 order: int = 4) -> np.ndarray:
    """Butterworth band-pass with the upper edge clipped below Nyquist (0.45 fs)."""
    high = min(high_hz, 0.45 * fs_hz)
    if high <= low_hz * 1.5:
        raise ValueError(f"sample rate {fs_hz:g} Hz is too low for a {low_hz:g} Hz high-pass")
    return signal.butter(order, [low_hz, high], btype="bandpass", fs=fs_hz, output="sos")


def lowpass_sos(fs_hz: float, cutoff_hz: float, order: int = 2) -> np.ndarray:
    cutoff = min(cutoff_hz, 0.45 * fs_hz)
    return signal.butter(order, cutoff, btype="lowpass", fs=fs_hz, output="sos")


def notch_sos(fs_hz: float, freqs_hz: list[float], q: float = 30.0) -> np.ndarray | None:
    """Cascade of IIR notches (one per frequency below Nyquist); None when there is none."""
    sections = [
        signal.tf2sos(*signal.iirnotch(f, q, fs=fs_hz))
        for f in freqs_hz
        if f < 0.48 * fs_hz
    ]
    return np.vstack(sections) if sections else None


def hum_harmonics(x: np.ndarray, fs_hz: float, mains_hz: float, ratio: float = 4.0,
                  max_hz: float = 450.0) -> list[float]:
    """Harmonics of ``mains_hz`` whose power stands ``ratio`` times above the neighbouring bins.

    SENIAM warns against notching by habit, so only harmonics actually present are notched.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim == 2:
        x = x[:, 0] if x.shape[1] == 1 else x.mean(axis=1)
    if x.size < int(fs_hz) or fs_hz < 2.1 * mains_hz:  # no harmonic below Nyquist to see
        return []
    nper = int(min(x.size, 2 * fs_hz))  # 0.5 Hz resolution
    f, pxx = signal.welch(x - x.mean(), fs=fs_hz, nperseg=nper)
    found = []
    k = 1
    while k * mains_hz < min(0.48 * fs_hz, max_hz + mains_hz):
        fh = k * mains_hz
        peak = pxx[np.abs(f - fh) <= 1.0].max()
        ring = pxx[(np.abs(f - fh) > 3.0) & (np.abs(f - fh) <= 10.0)]
        if ring.size and peak > ratio * np.median(ring):
            found.append(fh)
        k += 1
    return found


def detect_mains(x: np.ndarray, fs_hz: float) -> tuple[float | None, list[float]]:
    """Which mains frequency (50 or 60 Hz) hums in ``x``, and at which harmonics."""
    best: tuple[float | None, list[float]] = (None, [])
    for mains in MAINS_CHOICES:
        found = hum_harmonics(x, fs_hz, mains)
        if len(found) > len(best[1]):
            best = (mains, found)
    return best


class ZeroStage:
    """Subtracts the resting offset: a fixed one, or the mean of the first ``zero_s`` seconds.

    While those first seconds arrive the running mean so far is used, so the stage stays
    causal and independent of block sizes.
    """

    def __init__(self, n_channels: int, fs_hz: float, offset: np.ndarray | None = None,
                 zero_s: float = 2.0):
        self.n_channels = n_channels
        self.n_zero = max(1, int(round(zero_s * fs_hz)))
        self.fixed = None if offset is None else np.asarray(offset, dtype=float)
        self.reset()

    def reset(self) -> None:
        self._count = 0
        self._sum = np.zeros(self.n_channels)

    @property
    def offset(self) -> np.ndarray:
        if self.fixed is not None:
            return self.fixed
        return self._sum / max(self._count, 1)

    def process(self, x: np.ndarray) -> np.ndarray:
        if self.fixed is not None or self._count >= self.n_zero:
            return x - self.offset
        take = min(x.shape[0], self.n_zero - self._count)
        counts = self._count + np.arange(1, take + 1)[:, None]
        running = (self._sum + np.cumsum(x[:take], axis=0)) / counts
        self._sum = self._sum + x[:take].sum(axis=0)
        self._count += take
        y = x - self.offset
        y[:take] = x[:take] - running
        return y
