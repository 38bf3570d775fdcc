"""Resting baseline and MVC: the per-channel scale behind % MVC and the detector thresholds.

All statistics are of the *envelope* (µV RMS or zeroed cmH2O), never of the raw signal.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from bbfeedback.recording.schemas import CalibrationEntry

# pressure thresholds never go below this many cmH2O above rest (probe noise, breathing)
MIN_PRESSURE_STEP_CMH2O = 2.0


@dataclass
class Calibration:
    """One channel's scale. ``mvc`` is None until a maximal contraction is known."""

    baseline_mean: float
    baseline_sd: float
    mvc: float | None = None
    unit: str = "uV"
    source: str = "rest"

    @property
    def span(self) -> float | None:
        """MVC above the resting baseline (the 100 % of % MVC)."""
        if self.mvc is None:
            return None
        return max(self.mvc - self.baseline_mean, 1e-9)

    def pct_mvc(self, value: float | np.ndarray) -> float | np.ndarray | None:
        """Level above the resting baseline, in % of (MVC - baseline): rest 0 %, MVC 100 %."""
        span = self.span
        if span is None:
            return None
        return 100.0 * (np.asarray(value) - self.baseline_mean) / span

    def level(self, pct: float) -> float:
        """Physical level of a % MVC target."""
        if self.span is None:
            raise ValueError("no MVC calibration: % MVC targets need one")
        return self.baseline_mean + pct / 100.0 * self.span

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Calibration:
        """From ``to_dict`` output as read back from a file (``schemas.CalibrationEntry``: a
        recording's are checked when read); ValueError when it is not one."""
        c = CalibrationEntry.model_validate(d)  # a ValidationError is a ValueError
        return cls(c.baseline_mean, c.baseline_sd, c.mvc, c.unit, c.source)


def baseline_from_rest(envelope: np.ndarray) -> tuple[float, float]:
    """Mean and SD of an envelope recorded at rest."""
    env = np.asarray(envelope, dtype=float)
    return float(env.mean()), float(env.std())


def quietest_windows(envelope: np.ndarray, fs_hz: float, window_s: float = 1.0,
                     fraction: float = 0.2) -> tuple[float, float]:
    """Baseline from the quietest ``fraction`` of 1-s windows of a whole recording.

    Median of their means and of their SDs: robust when most of the recording is work.
    """
    env = np.asarray(envelope, dtype=float)
    n = max(2, int(round(window_s * fs_hz)))
    k = env.size // n
    if k < 1:
        return baseline_from_rest(env)
    wins = env[: k * n].reshape(k, n)
    means = wins.mean(axis=1)
    chosen = np.argsort(means)[: max(1, int(np.ceil(fraction * k)))]
    return float(np.median(means[chosen])), float(np.median(wins[chosen].std(axis=1)))


def plateau_max(envelope: np.ndarray, fs_hz: float, plateau_s: float = 0.5) -> float:
    """Highest mean over any ``plateau_s`` stretch: MVC that a spike cannot fake."""
    env = np.asarray(envelope, dtype=float)
    n = max(1, int(round(plateau_s * fs_hz)))
    if env.size <= n:
        return float(env.mean()) if env.size else 0.0
    csum = np.concatenate([[0.0], np.cumsum(env)])
    return float(((csum[n:] - csum[:-n]) / n).max())


def estimate_from_recording(envelope: np.ndarray, fs_hz: float, unit: str) -> Calibration:
    """Self-calibration for a recording analysed without a calibration of its own."""
    mean, sd = quietest_windows(envelope, fs_hz)
    return Calibration(mean, sd, plateau_max(envelope, fs_hz), unit, source="estimated")
