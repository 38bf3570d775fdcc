"""Onset and offset of a contraction to the sample: a variance changepoint on the band-passed EMG.

Why: the detector finds a contraction where the moving-RMS envelope crosses a threshold. That
crossing lags the muscle by a variable amount (a causal 150 ms window has to fill, a slow ramp
takes longer to reach the threshold than a quick one), and the detector's back-projection along
the envelope only recovers part of it. Rise and reaction times need the muscle's own onset, so
this module looks at the band-passed samples themselves around the crossing.

Method (surface EMG as zero-mean Gaussian noise whose variance follows the muscle's drive):

1. *Whitening*. Band-limited EMG samples are correlated; an autoregressive model (order
   ``AR_ORDER``, Yule-Walker on the search window) turns them into near-independent residuals
   with the same variance changes, so a likelihood over samples counts evidence honestly.
2. *Two-variance split* (``variance_changepoint``): the sample that maximises the
   log-likelihood of two zero-mean Gaussian segments with different variances, the rise
   constrained to go from low to high. This is the maximum-likelihood change time of the
   approximated generalized likelihood ratio (AGLR) of Staude et al. 2001, "Onset detection in
   surface electromyographic signals: a systematic comparison of methods", EURASIP J Appl
   Signal Process 2001(2):67-81. Optionally on the Teager-Kaiser energy of the signal
   (``tkeo=True``; Li, Zhou & Aruin 2007, Solnik et al. 2010).
3. *Ramp start* (``ramp_onset``). A real squeeze does not step: its amplitude ramps up over
   0.1-0.3 s, and a two-variance split lands part-way up the ramp (on the known-truth corpus
   about 60 ms after the onset, no better than the envelope). So the change time is estimated
   once more, by maximum likelihood under a model with a ramp: variance ``sigma0**2`` before the
   onset ``tau``, then amplitude ``sigma0 + D * ((t - tau) / (end - tau))**2`` up to ``end``,
   the first sample where the smoothed amplitude is ``RAMP_TOP_FRACTION`` of the way up. The
   square is the Taylor expansion of any smooth ramp at its start (force, and so the EMG
   amplitude, leaves rest with zero slope). ``sigma0`` is the rest level (median of the samples
   before the split, robust to the ramp's first samples); ``tau`` and ``D`` are searched.
   Where that assumption fails the answer comes early: about 8 ms on an instant step, 20-30 ms
   on a linear 0.2-0.3 s ramp (measured on white and model noise at 0.5-2 kHz).

On the known-truth corpus (``benchmarks/bench_onset.py``: 120 squeezes, rest 2-5 µV, MVC
20-60 µV, ramps 0.15-0.3 s) the median |onset error| is about 12 ms (90th percentile
36 ms), against about 60 ms for the detector's back-projected crossing and for the split
alone; offsets about 14 ms.

Offsets are the mirror image: the same search on the time-reversed window around the envelope's
*off* crossing finds the last change from high to low variance.

Causality: the search needs the samples from ``SEARCH_BEFORE_S`` before the crossing to
``LOOKAHEAD_S`` after it, no more. Live, an onset can be refined ``LOOKAHEAD_S`` after the
envelope's on-crossing; an offset ``LOOKAHEAD_S`` after its off-crossing, which is inside the
time the detector already waits before it closes an event (one RMS window plus the minimum gap).

Calling it: ``refine_onset(raw_bandpassed, fs_hz, crossing_index)`` with the band-passed EMG
(``Pipeline.step(...).band[:, column]``, not the envelope), its rate, and the index (in that same
array) of the envelope's on-crossing; it returns an index in that array. Seconds are
``index / fs_hz`` on that array's clock. The band-pass delays the samples by its group delay
(``EmgChain.filter_delay_s``, about 1 ms at 1 kHz): subtract it to get the muscle's time.
``refine_offset`` likewise with the off-crossing. ``min_index``/``max_index`` keep a neighbour
out of the window (the previous event's offset for an onset; the event's onset for an offset).

All functions are pure (arrays in, an index out), never raise on finite input of any scale
(the window is normalised by its largest magnitude first) and never return NaN; non-finite
samples are read as 0. Units: indices in samples, ``fs_hz`` in Hz, ``*_s`` in seconds.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg
from scipy.ndimage import uniform_filter1d

SEARCH_BEFORE_S = 0.5  # the search starts this long before the envelope's crossing
LOOKAHEAD_S = 0.2  # ... and ends this long after it: the delay the refinement adds live
MIN_SEGMENT_S = 0.01  # neither side of a split is shorter (a variance needs samples)
AR_ORDER = 6  # whitening model: enough for sEMG's single spectral bump at 1-2 kHz
RAMP_TOP_FRACTION = 0.4  # the ramp model is fitted up to this fraction of the rise
AMPLITUDE_SMOOTH_S = 0.025  # moving window that finds where the rise reaches that fraction
RAMP_MIN_RATIO = 1.2  # below this amplitude ratio (after/before) there is no ramp to fit
RAMP_COARSE_S = 0.004  # first pass over ramp starts in this step, then sample by sample
RAMP_LEVELS = 24  # ramp heights tried per start (log-spaced)
CHI2_1_MEDIAN = 0.45493642311957283  # median of a chi-square with 1 degree of freedom
_TINY = 1e-30  # variance floor on the normalised window (flat stretches, exact zeros)


def teager_kaiser(x: np.ndarray) -> np.ndarray:
    """Teager-Kaiser energy ``x[n]**2 - x[n-1] * x[n+1]`` (ends repeated): it grows with both
    amplitude and frequency, so the onset of motor-unit firing stands out of low-frequency
    background (Li, Zhou & Aruin 2007; Solnik et al. 2010)."""
    x = np.asarray(x, dtype=float)
    if x.size < 3:
        return x * x
    psi = np.empty_like(x)
    psi[1:-1] = x[1:-1] ** 2 - x[:-2] * x[2:]
    psi[0], psi[-1] = psi[1], psi[-2]
    return psi


def whiten(x: np.ndarray, order: int = AR_ORDER) -> np.ndarray:
    """Residual of an autoregressive model fitted to ``x`` (Yule-Walker), same length.

    An FIR filter, so it cannot blow up; the first ``order`` samples are predicted from zeros.
    Falls back to ``x`` itself when the model cannot be fitted (too short, flat, singular).
    """
    x = np.asarray(x, dtype=float)
    n = x.size
    if order < 1 or n < 4 * order:
        return x
    r = np.array([np.dot(x[: n - k], x[k:]) for k in range(order + 1)]) / n
    if not (np.all(np.isfinite(r)) and r[0] > 0):
        return x
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # an ill-conditioned fit is caught below
        try:
            a = linalg.solve_toeplitz(r[:order], r[1:])
        except (linalg.LinAlgError, ValueError):
            return x
        if not (np.all(np.isfinite(a)) and np.abs(a).sum() < 1e6):
            return x
        e = np.convolve(x, np.concatenate([[1.0], -a]))[:n]
    return e if np.all(np.isfinite(e)) and np.any(e) else x


def variance_changepoint(x: np.ndarray, *, rising: bool = True, min_segment_n: int = 2,
                         ) -> int | None:
    """The split ``k`` (``x[:k]`` one segment, ``x[k:]`` the other) maximising the log-likelihood
    of two zero-mean Gaussian segments with their own variances:
    ``-k/2 log var(x[:k]) - (n-k)/2 log var(x[k:])``, with the second variance the larger when
    ``rising`` (the smaller otherwise). Both segments have at least ``min_segment_n`` samples.
    None when no admissible split exists (too short, or no change in the asked direction).
    One pass over cumulative sums: O(n)."""
    x = np.asarray(x, dtype=float)
    n = x.size
    m = max(int(min_segment_n), 1)
    if n < 2 * m:
        return None
    c = np.concatenate([[0.0], np.cumsum(x * x)])
    k = np.arange(m, n - m + 1)
    v1 = c[k] / k + _TINY
    v2 = (c[-1] - c[k]) / (n - k) + _TINY
    ll = -0.5 * (k * np.log(v1) + (n - k) * np.log(v2))
    ok = v2 > v1 if rising else v2 < v1
    if not ok.any():
        return None
    ll = np.where(ok, ll, -np.inf)
    return int(k[int(np.argmax(ll))])


def ramp_onset(w: np.ndarray, split: int, fs_hz: float) -> int:
    """Where the ramp leading to a rise in variance starts, by maximum likelihood.

    ``w``: whitened samples, rest first; ``split``: their two-variance changepoint. Model:
    variance ``s0**2`` before ``tau``, then amplitude ``s0 + D * ((t - tau) / (end - tau))**2``
    up to ``end`` (the first sample at ``RAMP_TOP_FRACTION`` of the rise after ``split``);
    ``s0`` from the median of ``w[:split]**2`` (a chi-square median), ``tau`` and ``D`` searched.
    Returns ``split`` when there is no clear rise to model.
    """
    e = np.asarray(w, dtype=float) ** 2
    n = e.size
    m = max(2, int(round(MIN_SEGMENT_S * fs_hz)))
    if split < m or n - split < m:
        return split
    s0 = float(np.sqrt(np.median(e[:split]) / CHI2_1_MEDIAN + _TINY))
    smooth_n = max(1, int(round(AMPLITUDE_SMOOTH_S * fs_hz)))
    amp = np.sqrt(np.maximum(uniform_filter1d(e, smooth_n, mode="nearest"), 0.0))
    top = float(np.percentile(amp[split:], 90))
    if not top > RAMP_MIN_RATIO * s0:
        return split
    level = s0 + RAMP_TOP_FRACTION * (top - s0)
    reached = np.flatnonzero(amp[split:] >= level)
    end = split + (int(reached[0]) if reached.size else 0)
    end = int(min(max(end, split + m), n))
    last = end - m
    if last < 1:
        return split
    heights = (level - s0) * np.geomspace(0.1, 3.0, RAMP_LEVELS)
    rest_nll = np.concatenate([[0.0], np.cumsum(np.log(s0 * s0) + e[:end] / (s0 * s0))])

    def best(taus: np.ndarray, energy: np.ndarray, t: np.ndarray, weight: np.ndarray,
             first: np.ndarray, h: np.ndarray) -> int:
        """The start among ``taus`` with the least negative log-likelihood: the rest before
        it, the best of the ramp heights ``h`` after it. ``energy`` at times ``t`` (samples)
        stands for ``weight`` samples each (a bin of constant variance counts as its mean,
        ``weight`` times); ``first[i]``: the first point at or after ``taus[i]``."""
        costs = np.empty(taus.size)
        for i, (tau, j) in enumerate(zip(taus.tolist(), first.tolist(), strict=True)):
            x = ((t[j:] - tau) / max(end - tau, 1)) ** 2
            sig = s0 + h[:, None] * x
            terms = (2.0 * np.log(sig) + energy[j:] / (sig * sig)) @ weight[j:]
            costs[i] = rest_nll[tau] + terms.min()
        return int(taus[int(np.argmin(costs))])

    # first pass: starts every ``step`` samples on energies averaged over ``step``-sample bins,
    # every other ramp height; then sample by sample around the best, every height
    step = max(1, int(round(RAMP_COARSE_S * fs_hz)))
    n_bins = end // step
    tail = np.arange(n_bins * step, end)
    energy = np.concatenate([e[: n_bins * step].reshape(n_bins, step).mean(axis=1), e[tail]])
    t = np.concatenate([np.arange(n_bins) * step + (step - 1) / 2.0, tail.astype(float)])
    weight = np.concatenate([np.full(n_bins, float(step)), np.ones(tail.size)])
    coarse = np.arange(0, last + 1, step)
    tau = best(coarse, energy, t, weight, coarse // step, heights[::2])
    fine = np.arange(max(tau - step + 1, 0), min(tau + step, last + 1))
    t_all = np.arange(end, dtype=float)
    return best(fine, e[:end], t_all, np.ones(end), fine, heights)


def _window(n: int, fs_hz: float, crossing_index: int, before_s: float, after_s: float,
            min_index: int | None, max_index: int | None) -> tuple[int, int, int]:
    """(lo, hi, crossing) of the search window ``[lo, hi)``, the crossing clipped into it."""
    c = int(min(max(int(crossing_index), 0), n - 1))
    lo = max(c - int(round(max(before_s, 0.0) * fs_hz)), 0)
    hi = min(c + int(round(max(after_s, 0.0) * fs_hz)) + 1, n)
    if min_index is not None:
        lo = max(lo, min(int(min_index), c))
    if max_index is not None:
        hi = min(hi, max(int(max_index), c) + 1)
    return lo, hi, c


def _rise(x: np.ndarray, fs_hz: float, tkeo: bool, ramp: bool) -> int | None:
    """Onset of a rise in variance within ``x`` (rest first), or None when there is none."""
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if not peak > 0:
        return None
    x = x / peak  # scale-free: no overflow of squares, no underflow to a flat window
    m = max(2, int(round(MIN_SEGMENT_S * fs_hz)))
    w = whiten(x)
    w = w / float(np.max(np.abs(w)))  # nonzero: whiten returns x itself rather than zeros
    split = variance_changepoint(teager_kaiser(x) if tkeo else w, rising=True, min_segment_n=m)
    if split is None:
        return None
    return ramp_onset(w, split, fs_hz) if ramp else split


def _check_rate(fs_hz: float) -> float:
    fs_hz = float(fs_hz)
    if not (np.isfinite(fs_hz) and fs_hz > 0):
        raise ValueError(f"fs_hz must be a positive number, not {fs_hz!r}")
    return fs_hz


def refine_onset(raw_bandpassed: np.ndarray, fs_hz: float, crossing_index: int, *,
                 before_s: float = SEARCH_BEFORE_S, after_s: float = LOOKAHEAD_S,
                 min_index: int | None = None, max_index: int | None = None,
                 tkeo: bool = False, ramp: bool = True) -> int:
    """The contraction's onset, as an index into ``raw_bandpassed``.

    ``raw_bandpassed``: the band-passed EMG (1-D, any unit); ``crossing_index``: where the
    envelope crossed the detector's *on* threshold, an index into the same array. The search
    window is ``[crossing - before_s, crossing + after_s]``, cut to ``[min_index, max_index]``
    when given (keep the previous contraction out); the result always lies inside it. Where the
    window shows no rise in variance (flat, too short, no change) the crossing is returned.
    ``ramp=False``: the two-variance split alone (Staude's AGLR change time); ``tkeo=True``:
    that split on the Teager-Kaiser energy.
    """
    fs_hz = _check_rate(fs_hz)
    x = np.asarray(raw_bandpassed, dtype=float).ravel()
    if x.size == 0:
        return 0
    lo, hi, c = _window(x.size, fs_hz, crossing_index, before_s, after_s, min_index, max_index)
    k = _rise(np.nan_to_num(x[lo:hi], nan=0.0, posinf=0.0, neginf=0.0), fs_hz, tkeo, ramp)
    return c if k is None else int(min(max(lo + k, lo), hi - 1))


def refine_offset(raw_bandpassed: np.ndarray, fs_hz: float, crossing_index: int, *,
                  before_s: float = SEARCH_BEFORE_S, after_s: float = LOOKAHEAD_S,
                  min_index: int | None = None, max_index: int | None = None,
                  tkeo: bool = False, ramp: bool = True) -> int:
    """The contraction's offset, as an index into ``raw_bandpassed``: the first sample back at
    rest after the last change from high to low variance before the envelope's *off* crossing
    ``crossing_index`` (the moving RMS falls late: it still holds the release for a window).

    The onset search run on the time-reversed window (the rest after the release comes first),
    so the same model and guarantees hold: the result lies inside the window
    ``[crossing - before_s, crossing + after_s]`` cut to ``[min_index, max_index]`` (pass the
    event's onset as ``min_index``), and is the crossing itself when the window shows no fall.
    """
    fs_hz = _check_rate(fs_hz)
    x = np.asarray(raw_bandpassed, dtype=float).ravel()
    if x.size == 0:
        return 0
    lo, hi, c = _window(x.size, fs_hz, crossing_index, before_s, after_s, min_index, max_index)
    seg = np.nan_to_num(x[lo:hi], nan=0.0, posinf=0.0, neginf=0.0)[::-1]
    k = _rise(seg, fs_hz, tkeo, ramp)
    return c if k is None else int(min(max(hi - k, lo), hi - 1))


def onset_s(raw_bandpassed: np.ndarray, fs_hz: float, crossing_index: int,
            delay_s: float = 0.0, **options) -> float:
    """``refine_onset`` in seconds on the array's clock, less ``delay_s`` (the band-pass's
    group delay, to get the muscle's time)."""
    return refine_onset(raw_bandpassed, fs_hz, crossing_index, **options) / float(fs_hz) - delay_s


def offset_s(raw_bandpassed: np.ndarray, fs_hz: float, crossing_index: int,
             delay_s: float = 0.0, **options) -> float:
    """``refine_offset`` in seconds on the array's clock, less ``delay_s``."""
    return refine_offset(raw_bandpassed, fs_hz, crossing_index, **options) / float(fs_hz) - delay_s
