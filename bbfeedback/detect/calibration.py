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
    est = CalibrationEstimate(fs_hz, unit)
    est.add(envelope)
    return est.result()


class CalibrationEstimate:
    """``estimate_from_recording`` fed a stretch of envelope at a time: per 1-s window its
    mean and SD, and the highest 0.5-s mean so far. Memory is a few numbers per second of
    recording, whatever its length; the result equals the whole-array one."""

    def __init__(self, fs_hz: float, unit: str, window_s: float = 1.0,
                 plateau_s: float = 0.5):
        self.fs_hz, self.unit = fs_hz, unit
        self.n = max(2, int(round(window_s * fs_hz)))
        self.m = max(1, int(round(plateau_s * fs_hz)))
        self._means: list[np.ndarray] = []
        self._sds: list[np.ndarray] = []
        self._carry = np.zeros(0)  # the part of a 1-s window not yet complete
        self._tail = np.zeros(0)  # the last m-1 samples, for plateaus across a boundary
        self._best = -np.inf
        self._count = 0
        self._total = 0.0

    def add(self, envelope: np.ndarray) -> None:
        env = np.asarray(envelope, dtype=float)
        self._count += env.size
        self._total += float(env.sum())
        self._plateaus(env)
        x = np.concatenate([self._carry, env])
        k = x.size // self.n
        if k:
            wins = x[: k * self.n].reshape(k, self.n)
            self._means.append(wins.mean(axis=1))
            self._sds.append(wins.std(axis=1))
            if len(self._means) >= 64:  # one array, not thousands of small ones (10 h)
                self._means, self._sds = [np.concatenate(self._means)], [
                    np.concatenate(self._sds)]
        self._carry = x[k * self.n:]

    def _plateaus(self, env: np.ndarray) -> None:
        """The highest ``m``-sample sum so far (divided by ``m`` only at the end: the same
        maximum), over the last ``m - 1`` samples and this stretch."""
        x = np.concatenate([self._tail, env]) if self._tail.size else env
        # no m-sample mean is above the highest sample: a stretch below the best so far is
        # skipped (most of a long recording, once its strongest squeeze is behind)
        if x.size >= self.m and (not np.isfinite(self._best) or x.max() * self.m > self._best):
            c = np.cumsum(x)
            sums = c[self.m - 1:].copy()
            sums[1:] -= c[: -self.m]
            self._best = max(self._best, float(sums.max()))
        self._tail = x[-(self.m - 1):] if self.m > 1 else x[:0]

    def result(self) -> Calibration:
        if not self._means:  # shorter than a window: the whole of it
            mean = self._total / self._count if self._count else float("nan")
            sd = float(self._carry.std()) if self._carry.size else float("nan")
        else:
            means, sds = np.concatenate(self._means), np.concatenate(self._sds)
            chosen = np.argsort(means)[: max(1, int(np.ceil(0.2 * means.size)))]
            mean, sd = float(np.median(means[chosen])), float(np.median(sds[chosen]))
        best = self._best / self.m if np.isfinite(self._best) else (
            self._total / self._count if self._count else 0.0)
        return Calibration(mean, sd, best, self.unit, source="estimated")
