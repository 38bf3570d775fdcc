"""Median frequency of the band-passed EMG in 1-s epochs: the spectral fatigue measure of the
Glazer protocol (a falling median frequency during a hold is muscle fatigue)."""

from __future__ import annotations

import numpy as np
from scipy import signal

MIN_RATE_HZ = 500.0  # below this the 20-450 Hz band is not there to measure


def median_frequency(epochs: np.ndarray, fs_hz: float) -> np.ndarray:
    """Median frequency (Hz) of each row: where the 20-450 Hz power reaches half."""
    x = np.atleast_2d(epochs)
    f, p = signal.welch(x, fs=fs_hz, nperseg=min(x.shape[1], int(fs_hz // 4)), axis=-1)
    band = (f >= 20) & (f <= min(450, 0.45 * fs_hz))
    cum = np.cumsum(p[:, band], axis=1)
    total = cum[:, -1:]
    idx = np.argmax(cum >= total / 2, axis=1)
    out = f[band][idx]
    return np.where(total[:, 0] > 0, out, np.nan)


class EpochMedianFrequency:
    """Median frequency of 1-s band-passed EMG epochs (Welch, 20-450 Hz), for fatigue and Glazer.

    Epochs are aligned to absolute sample indices; only at rates >= ``MIN_RATE_HZ``.
    ``epochs`` holds (time of the epoch's middle, median frequency) pairs."""

    def __init__(self, fs_hz: float, enabled: bool = True):
        self.fs_hz = fs_hz
        self.n = int(round(fs_hz))
        self.enabled = enabled and fs_hz >= MIN_RATE_HZ
        self.buf: list[np.ndarray] = []
        self.have = 0
        self.epoch_start = 0
        self.epochs: list[tuple[float, float]] = []

    def add(self, x: np.ndarray, start_sample: int) -> None:
        if not self.enabled:
            return
        if not self.buf:
            self.epoch_start = start_sample
        self.buf.append(x)
        self.have += x.size
        if self.have < self.n:
            return
        allx = np.concatenate(self.buf)
        k = allx.size // self.n
        mdf = median_frequency(allx[: k * self.n].reshape(k, self.n), self.fs_hz)
        for e in range(k):
            self.epochs.append(((self.epoch_start + (e + 0.5) * self.n) / self.fs_hz,
                                float(mdf[e])))
        rest = allx[k * self.n:]
        self.epoch_start += k * self.n
        self.buf = [rest] if rest.size else []
        self.have = rest.size
