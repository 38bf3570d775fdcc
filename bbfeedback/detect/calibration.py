"""Resting baseline and MVC: the per-channel scale behind % MVC and the detector thresholds.

All statistics are of the *envelope* (µV RMS or zeroed cmH2O), never of the raw signal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

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
    # each calibration squeeze's plateau (None: the MVC was not squeezed for in this session)
    squeezes: tuple[float, ...] | None = None
    # one more squeeze was asked for, as the first three disagreed (``calibrator``): whether it
    # agreed with one of them (None: none was asked for)
    one_more: bool | None = None

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
        out = asdict(self)
        if self.squeezes is None:  # as before: files without squeezes read back the same
            del out["squeezes"]
        else:
            out["squeezes"] = list(self.squeezes)
        if self.one_more is None:  # (likewise: none asked for)
            del out["one_more"]
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Calibration:
        """From ``to_dict`` output, checked where it was read: a recording's annotations by
        ``recording.schemas`` as they are decoded, a history row by the history (this layer
        knows no file format). ValueError when it is not one."""
        try:
            squeezes = d.get("squeezes")
            mvc = d.get("mvc")
            one_more = d.get("one_more")
            return cls(float(d["baseline_mean"]), float(d["baseline_sd"]),
                       None if mvc is None else float(mvc), str(d.get("unit", "uV")),
                       str(d.get("source", "recorded")),
                       None if squeezes is None else tuple(float(x) for x in squeezes),
                       None if one_more is None else bool(one_more))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a calibration: {exc}") from None


MAD_TO_SD = 1.4826  # the median absolute deviation of a normal distribution, as its SD
# two calibration squeezes agree when the weaker is within this fraction of the stronger:
# within-session repeats of a maximal pelvic-floor squeeze vary by about 10 % (ICC 0.83-0.96,
# Hallencreutz Grape 2009; SEM% 7.5-15.7, Oleksy 2021), so 20 % is twice that
SQUEEZES_AGREE = 0.2


def baseline_from_rest(envelope: np.ndarray) -> tuple[float, float]:
    """Level and spread of an envelope recorded at rest, robustly: the median and 1.4826 x
    the median absolute deviation (a few spikes or a twitch do not move them; a mean and
    SD would follow them: clinical-reference §9)."""
    env = np.asarray(envelope, dtype=float)
    if not env.size:
        return float("nan"), float("nan")
    med = float(np.median(env))
    return med, float(MAD_TO_SD * np.median(np.abs(env - med)))


def plateaus(envelope: np.ndarray, clean: np.ndarray | None, n: int) -> np.ndarray:
    """The mean of every ``n``-sample stretch that lies wholly in ``clean`` samples."""
    env = np.asarray(envelope, dtype=float)
    if env.size < n:
        return np.zeros(0)
    ok = np.ones(env.size, bool) if clean is None else np.asarray(clean, bool)
    c = np.concatenate([[0.0], np.cumsum(np.where(ok, env, 0.0))])
    k = np.concatenate([[0], np.cumsum(ok)])
    means = (c[n:] - c[:-n]) / n
    return means[(k[n:] - k[:-n]) == n]


def squeezes_agree(levels: list[float]) -> bool | None:
    """Do the squeezes agree (every one within ``SQUEEZES_AGREE`` of the strongest)? None
    with fewer than two."""
    if len(levels) < 2:
        return None
    return bool(min(levels) >= (1 - SQUEEZES_AGREE) * max(levels))


def two_agree(a: float, b: float) -> bool:
    """Two squeezes agree: the weaker is within ``SQUEEZES_AGREE`` of the stronger."""
    return min(a, b) >= (1 - SQUEEZES_AGREE) * max(a, b)


def confirmed(levels: list[float]) -> list[float]:
    """The squeezes another one confirms (``two_agree``), in order."""
    return [p for i, p in enumerate(levels)
            if any(j != i and two_agree(p, q) for j, q in enumerate(levels))]


def confirmed_max(levels: list[float]) -> float | None:
    """The strongest squeeze that another one confirms (within ``SQUEEZES_AGREE`` of it);
    when none confirms another, the median. One artefact or one odd squeeze cannot make the
    MVC, and squeezes that agree keep the usual "best of three"."""
    if not levels:
        return None
    sure = confirmed(levels)
    return float(max(sure)) if sure else float(np.median(levels))


QUARTER_S = 0.25  # the estimate's unit of time: two of them make a 0.5 s plateau
# a quarter second of a contraction this many times its median is no squeeze (a squeeze
# ramps up and holds; its quarters stay within twice their median); = BURST_PCT_MVC / 100
RUN_OUTLIER = 2.0
BURST_S = 1.0  # = signal_quality.BURST_MAX_S: a short excursion that far up is a burst
REST_FRACTION = 0.2  # the quietest fifth of the recording's seconds is its rest


class CalibrationEstimate:
    """Self-calibration for a recording analysed without a calibration of its own, fed a
    stretch of envelope at a time (``add``), estimated at the end (``result``). Per quarter
    second it keeps sum, sum of squares and count, so memory is a few numbers per second
    whatever the length, and marked intervals (``signal_quality``) can be left out at the end:

    - rest: the quietest ``REST_FRACTION`` of the clean 1-s windows, their median mean and
      median SD;
    - MVC, from the patient's own contractions: runs of clean quarters above rest + the
      larger of 3 SD and half the rest (pressure: 2 cmH2O) are contractions; each one's
      plateau is the highest level it held for 0.5 s (both quarters at least that), leaving
      out the quarters above ``RUN_OUTLIER`` x its median (a cable burst inside a hold: the
      quarter it only touches stays below that, but is not held for 0.5 s), and the MVC
      the strongest plateau, unless that one lasted under ``BURST_S`` and is over
      ``RUN_OUTLIER`` x the next (a burst on its own): an artefact is not the patient's
      maximum."""

    def __init__(self, fs_hz: float, unit: str, window_s: float = 1.0,
                 plateau_s: float = 0.5):
        self.fs_hz, self.unit = fs_hz, unit
        self.q = max(1, int(round(QUARTER_S * fs_hz)))
        self.per_window = max(1, int(round(window_s / QUARTER_S)))
        self.per_plateau = max(1, int(round(plateau_s / QUARTER_S)))
        self._parts: list[np.ndarray] = []  # (k, 3): sum, sum of squares, count
        self._carry = np.zeros(0)
        self.first_sample: int | None = None

    def add(self, envelope: np.ndarray, start_sample: int = 0) -> None:
        env = np.asarray(envelope, dtype=float)
        if self.first_sample is None:
            self.first_sample = start_sample
        x = np.concatenate([self._carry, env]) if self._carry.size else env
        k = x.size // self.q
        if k:
            w = x[: k * self.q].reshape(k, self.q)
            self._parts.append(np.column_stack([w.sum(axis=1), (w * w).sum(axis=1),
                                                np.full(k, float(self.q))]))
            if len(self._parts) >= 64:  # one array, not thousands of small ones (10 h)
                self._parts = [np.concatenate(self._parts)]
        self._carry = x[k * self.q:]

    def _quarters(self) -> np.ndarray:
        parts = list(self._parts)
        if self._carry.size:
            c = self._carry
            parts.append(np.array([[c.sum(), (c * c).sum(), float(c.size)]]))
        return np.concatenate(parts) if parts else np.zeros((0, 3))

    def result(self, marks: list[tuple[float, float]] | None = None,
               delay_s: float = 0.0) -> Calibration:
        """The estimate, leaving out the quarters that overlap ``marks`` ((start, end) on the
        recording clock; the envelope lags it by ``delay_s``)."""
        qs = self._quarters()
        if not qs.size:
            return Calibration(float("nan"), float("nan"), 0.0, self.unit, source="estimated")
        clean = self._clean(qs.shape[0], marks or [], delay_s)
        means = qs[:, 0] / qs[:, 2]
        base, sd = self._rest(qs, clean)
        mvc = self._mvc(means, clean, base, sd)
        return Calibration(base, sd, mvc, self.unit, source="estimated")

    def _clean(self, n: int, marks: list[tuple[float, float]], delay_s: float) -> np.ndarray:
        ok = np.ones(n, bool)
        first = (self.first_sample or 0) / self.fs_hz - delay_s
        dt = self.q / self.fs_hz
        for a, b in marks:
            i, j = int(np.floor((a - first) / dt)), int(np.ceil((b - first) / dt))
            ok[max(0, i):max(0, min(n, j))] = False
        return ok

    def _rest(self, qs: np.ndarray, clean: np.ndarray) -> tuple[float, float]:
        k = qs.shape[0] // self.per_window
        if k == 0:  # shorter than a window: the whole of it
            total, sq, count = qs.sum(axis=0)
            mean = total / count
            return float(mean), float(np.sqrt(max(sq / count - mean * mean, 0.0)))
        w = qs[: k * self.per_window].reshape(k, self.per_window, 3).sum(axis=1)
        ok = clean[: k * self.per_window].reshape(k, self.per_window).all(axis=1)
        if ok.any():
            w = w[ok]
        means = w[:, 0] / w[:, 2]
        sds = np.sqrt(np.maximum(w[:, 1] / w[:, 2] - means * means, 0.0))
        chosen = np.argsort(means)[: max(1, int(np.ceil(REST_FRACTION * means.size)))]
        return float(np.median(means[chosen])), float(np.median(sds[chosen]))

    def _mvc(self, means: np.ndarray, clean: np.ndarray, base: float, sd: float) -> float:
        step = MIN_PRESSURE_STEP_CMH2O if self.unit == "cmH2O" else 0.5 * abs(base)
        above = clean & (means > base + max(3.0 * sd, step))
        levels = []  # (plateau, seconds) of each contraction
        d = np.diff(np.concatenate([[0], above.astype(np.int8), [0]]))
        for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True):
            run = means[a:b]
            run = run[run <= RUN_OUTLIER * np.median(run)]
            n = min(self.per_plateau, run.size)  # the level held for n quarters at least
            held = np.lib.stride_tricks.sliding_window_view(run, n).min(axis=1)
            levels.append((float(held.max()), (b - a) * QUARTER_S))
        levels.sort(reverse=True)
        while len(levels) > 1 and levels[0][1] < BURST_S \
                and levels[0][0] > RUN_OUTLIER * levels[1][0]:
            levels.pop(0)
        if levels:
            return levels[0][0]
        usable = means[clean] if clean.any() else means
        n = min(self.per_plateau, usable.size)
        return float(np.convolve(usable, np.ones(n) / n, "valid").max())
