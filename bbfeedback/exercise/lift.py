"""The lift ("de lift", leaflet B exercise 5, ``b5-lift``) judged from the patient's own
contraction, not from windows of the protocol's clock.

The leaflet (``spec/exercises.md``, leaflet B): tighten in three steps like a lift going from
floor 1 to 2 to 3 (1: light, pelvic floor only; 2: a bit harder; 3: harder still), "three
ascending levels held in turn", then step 4: let go completely in one go ("in één keer
helemaal loslaten", the protocol's own words). A score must say "whether each floor was a
distinct, steady level above the one before, and whether the release was one quick drop to
rest". Her floors do not keep the cue's clock: she starts early or late and holds each floor
as long as she does, so the floors are looked for *inside her contraction*, from her onset to
her offset, as the steps of its envelope (issue 22, "The lift by its plateaus").

Rule (``lift_floors``; every threshold is a constant below or a protocol parameter):

1. **Her contraction in % MVC**: the envelope from ``onset_s`` to ``offset_s`` in % of the
   calibration's MVC span (rest 0 %, MVC 100 %), averaged in bins of ``BIN_S`` (0.1 s; at
   most ``MAX_BINS`` bins: a very long contraction gets longer bins).
2. **Step segmentation**: the exact least-squares piecewise-constant fit with a penalty per
   segment (optimal partitioning by dynamic programming, Jackson et al. 2005, IEEE Signal
   Process Lett 12:105), the penalty ``PENALTY_LN_N`` sigma^2 ln n: Schwarz's criterion for
   changes in a normal mean, one new level and one new place per change (Yao 1988, Stat
   Probab Lett 6:181). sigma, the noise of a bin: 1.4826 x the median absolute difference
   of bins ``NOISE_LAG_S`` (0.3 s) apart / sqrt 2, over the pairs in the upper half of the
   contraction (by the level around them, a ``SMOOTH_S`` mean). An RMS envelope's noise
   grows with its level (its CV is about 10 % at a 0.15 s window), so the penalty is set
   where the floors are noisiest; the lag passes the envelope's own smoothing; a median, so
   the few ramps do not count.
3. **One level, not two**: segments are joined, the least apart first, while two of them
   are less than max(``MERGE_STEP_FRACTION`` x ``min_step_pct``, ``RESOLVE_SD`` x their
   pooled SD) apart (rule 6's distinctness, with half the protocol's step), when they are
   neighbours or when what lies between them is shorter than ``MIN_FLOOR_S`` (a dip or a
   spike too short to be a floor is part of the floor around it). A wobbling or noisy floor
   cut in pieces by the fit is one floor again.
4. **Plateaus**: a level lasting at least ``MIN_FLOOR_S`` (1.5 s) is a plateau; anything
   shorter is a ramp between plateaus (the rise to the next floor, the fall) and is ignored.
   The floors are *held* (the protocol cues 3 s each; 1.5 s is half of that). Shorter will
   not do with this noise: at 1 s a smooth rise from rest to 75 % MVC in 4 s, then held, is
   cut into 1 s pieces that pass for floors (13 of 40 simulated were "distinct"; 0 of 40 at
   1.5 s).
5. **Her floors**: of the plateaus, in time order, the rising chain (each level above the one
   before) with the most plateaus, at most ``floors``, and among those the longest in total
   (a staircase down after the top, letting go floor by floor, is never a rising floor).
   Each floor's level is the median of its plateau without ``EDGE_S`` at either end (what is
   left of the ramps), its spread 1.4826 x the median absolute deviation there, its CV the
   spread in % of the level.
6. **Distinct** when ``floors`` floors were found, and each lies above the one before (rest
   for floor 1) by at least max(``min_step_pct``, ``RESOLVE_SD`` x the pooled spread of the
   two): two levels closer than twice their spread are one level smeared (a mixture of two
   equal normal distributions is bimodal only when their means are more than 2 SD apart;
   Schilling, Watkins & Watkins 2002, Am Stat 56:223), and a step below the protocol's
   minimum is no floor to the therapist; each floor is steady (CV <= ``max_cv_pct``); and
   the floors are steps, not a slope: their own levels fit their plateaus (means over
   ``STEPPED_CHUNK_S``) at least ``STEPPED_RATIO`` times better (residual sum of squares)
   than one straight line through them. A jump straight to the top (one plateau), two
   floors, or a floor held too short is not distinct.
7. **In one go**: the let-go is timed from the last moment the envelope (smoothed over
   ``FALL_SMOOTH_S``) is at ``FALL_FROM`` (90 %) of the top floor's level, found from the
   top floor's start (with no plateau: from the highest bin), to the first sample back at
   ``NEAR_REST_PCT`` (10 % MVC, the scorer's limit for incomplete relaxation); quick when
   that is at most ``release_quick_s``. From 90 %, as an engineer's fall time, so the top
   floor's wobble and where the fit ends it do not move the start. A stop on the way down
   (floor by floor) counts in the time. Searched past her offset, in ``envelope`` and then
   in ``after``.

Known limit: a slow smooth rise (0 to 75 % MVC over 6-12 s) is cut into plateaus of 2-4 s;
about one in five of those (simulated, 10 % envelope noise) still passes rule 6.

The module is pure: arrays in, a ``LiftScore`` out, no state. It never raises on a finite
envelope; without an MVC calibration there is no % MVC and nothing is judged (floors None,
both verdicts False).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from bbfeedback.detect.calibration import MAD_TO_SD, Calibration
from bbfeedback.exercise.scores import RELAX_LIMIT_PCT, LiftScore

BIN_S = 0.1  # the segmentation's time step: ten bins a second
MAX_BINS = 600  # a longer contraction gets longer bins (the fit is O(n^2))
NOISE_LAG_S = 0.3  # bins this far apart have independent envelope noise (RMS window 0.15 s)
SMOOTH_S = 1.0  # the level a bin's noise is taken at: its neighbourhood's mean
PENALTY_LN_N = 2.0  # penalty per segment, in sigma^2 ln n (Schwarz / Yao 1988)
MERGE_STEP_FRACTION = 0.5  # neighbours closer than this x min_step_pct: one level
RESOLVE_SD = 2.0  # levels closer than this many pooled SDs are one level (bimodality)
MIN_FLOOR_S = 1.5  # a level held this long is a plateau (a floor); shorter: a ramp
EDGE_S = 0.2  # left off either end of a plateau for its level and spread (ramp remnants)
STEPPED_RATIO = 1.5  # floors: steps fit their plateaus this much better than a line ...
STEPPED_CHUNK_S = 0.5  # ... in means over this long (the envelope's noise averaged down)
NEAR_REST_PCT = RELAX_LIMIT_PCT  # "at rest again" for the let-go, % MVC
FALL_FROM = 0.9  # the let-go is timed from the last moment at 90 % of the top floor ...
FALL_SMOOTH_S = 0.5  # ... in the envelope smoothed over this long (its noise is ~10 %)
MAX_ABS_PCT = 1e9  # beyond this the calibration is broken (and squares would overflow)


class _Level(NamedTuple):
    """A segment of the binned contraction: bins ``a`` to ``b`` (end excluded), their mean
    and SD (% MVC)."""

    a: int
    b: int
    mean: float
    sd: float


class _Floor(NamedTuple):
    """A chosen plateau at full rate: median and spread (robust SD), % MVC, and its span on
    the recording clock."""

    level: float
    sd: float
    start_s: float
    end_s: float


def lift_floors(envelope: np.ndarray, rate_hz: float, t0_s: float, onset_s: float,
                offset_s: float | None, floors: int, cal: Calibration, min_step_pct: float,
                max_cv_pct: float, release_quick_s: float,
                after: np.ndarray | None = None) -> LiftScore:
    """The lift's scores from the patient's own contraction (module docstring: the rule).

    ``envelope``: the channel's envelope (µV RMS or cmH2O, as ``cal``), ``envelope[i]`` at
    ``t0_s + i / rate_hz`` on the recording clock (e.g. a ``Trace``'s values, rate and t0);
    it must hold her contraction, ``onset_s`` to ``offset_s`` (the matched contraction's),
    and should go on past the offset for the release. ``offset_s`` None: still contracted at
    the envelope's end. ``after``: more envelope straight after the last sample of
    ``envelope`` (same rate), used only to find the release's end; None when ``envelope``
    already holds the rest after her offset. ``floors``: how many floors the protocol asks
    for (its work phases: 3). ``min_step_pct``, ``max_cv_pct``, ``release_quick_s``: the
    protocol's ``min_floor_step_pct``, ``max_floor_cv_pct``, ``release_quick_s``.

    Returns ``LiftScore`` with ``floors`` entries in ``floors_pct_mvc``/``floors_cv_pct``/
    ``floors_s`` (lowest floor first; None for each floor not found), ``floors_distinct``,
    ``release_quick`` and ``let_go_s`` (seconds from the last moment at 90 % of the top
    floor to near rest, rule 7; None when she was not seen back at rest in the data given).
    ``floors_s``: each floor's plateau (start, end) on the recording clock.
    """
    floors = max(int(floors), 0)
    none = LiftScore((None,) * floors, (None,) * floors, False, False,
                     floors_s=(None,) * floors, let_go_s=None)
    if (cal.span is None or not math.isfinite(rate_hz) or rate_hz <= 0
            or not math.isfinite(t0_s) or not math.isfinite(onset_s)
            or (offset_s is not None and not math.isfinite(offset_s))):
        return none
    env = _finite(envelope)
    if env is None:
        return none
    pct = np.asarray(cal.pct_mvc(env), dtype=float)
    if not np.all(np.abs(pct) <= MAX_ABS_PCT):  # a broken scale: no % MVC to judge
        return none
    i0 = max(int(math.ceil((onset_s - t0_s) * rate_hz - 1e-9)), 0)
    i1 = pct.size if offset_s is None else min(
        int(math.floor((offset_s - t0_s) * rate_hz + 1e-9)) + 1, pct.size)
    if i1 - i0 < 2:
        return none
    m = max(1, int(round(BIN_S * rate_hz)), math.ceil((i1 - i0) / MAX_BINS))
    x = _bins(pct[i0:i1], m)
    bin_s = m / rate_hz
    sigma = _noise(x, bin_s)
    step_tol = MERGE_STEP_FRACTION * max(min_step_pct, 0.0)
    min_bins = max(1, math.ceil(MIN_FLOOR_S / bin_s - 1e-9))
    levels = _merge(x, _partition(x, _penalty(x.size, sigma)), step_tol, sigma, min_bins)
    plateaus = [k for k, lv in enumerate(levels) if lv.b - lv.a >= min_bins]
    chosen = [plateaus[k] for k in _rising_chain([levels[k] for k in plateaus], floors)]
    found = [_floor(pct, i0 + levels[k].a * m, min(i0 + levels[k].b * m, i1), rate_hz, t0_s)
             for k in chosen]

    rest_sd = 100.0 * cal.baseline_sd / cal.span if (
        math.isfinite(cal.baseline_sd) and cal.baseline_sd > 0) else 0.0
    distinct = bool(floors) and len(found) == floors
    prev_level, prev_sd = 0.0, rest_sd
    for f in found:
        step = f.level - prev_level
        need = max(min_step_pct, RESOLVE_SD * math.sqrt((f.sd ** 2 + prev_sd ** 2) / 2))
        cv = _cv(f.level, f.sd)
        distinct = distinct and step >= need and cv is not None and cv <= max_cv_pct
        prev_level, prev_sd = f.level, f.sd
    chunk = max(1, int(round(STEPPED_CHUNK_S / bin_s)))
    stepped = _stepped(x, [levels[k] for k in chosen], chunk)
    distinct = distinct and stepped >= STEPPED_RATIO

    if found:  # the chain rises: its last floor is the top
        top_at, top_level = i0 + levels[chosen[-1]].a * m, found[-1].level
    else:  # no plateau: from the highest bin
        peak = int(np.argmax(x))
        top_at, top_level = i0 + peak * m, float(x[peak])
    let_go_s = _let_go_s(pct, top_at, top_level, rate_hz, cal, after)
    quick = let_go_s is not None and let_go_s <= release_quick_s

    pad = (None,) * (floors - len(found))
    return LiftScore(
        tuple(round(f.level, 1) for f in found) + pad,
        tuple(_round1(_cv(f.level, f.sd)) for f in found) + pad,
        bool(distinct), bool(quick),
        floors_s=tuple((round(f.start_s, 2), round(f.end_s, 2)) for f in found) + pad,
        let_go_s=None if let_go_s is None else round(let_go_s, 2))


def _finite(values: np.ndarray | None) -> np.ndarray | None:
    """The samples as floats, a non-finite one replaced by its finite neighbours' line; None
    when fewer than two are finite."""
    if values is None:
        return None
    v = np.asarray(values, dtype=float).ravel()
    ok = np.isfinite(v)
    if ok.sum() < 2:
        return None
    if not ok.all():
        idx = np.arange(v.size)
        v = np.interp(idx, idx[ok], v[ok])
    return v


def _bins(values: np.ndarray, m: int) -> np.ndarray:
    """Means of consecutive ``m``-sample bins (the last one may be shorter)."""
    starts = np.arange(0, values.size, m)
    counts = np.diff(np.append(starts, values.size))
    return np.add.reduceat(values, starts) / counts


def _noise(x: np.ndarray, bin_s: float) -> float:
    """sigma of a bin: 1.4826 x the median absolute difference of bins ``NOISE_LAG_S`` apart
    / sqrt 2, over pairs in the upper half of the levels (module docstring, step 2)."""
    lag = max(1, int(round(NOISE_LAG_S / bin_s)))
    if x.size <= lag:
        return 0.0
    d = x[lag:] - x[:-lag]
    # the level around each pair from a smoothing over SMOOTH_S, not from the pair itself
    # (picking the bins that are high would pick the noise that is up)
    local = _smooth(x, int(round(SMOOTH_S / bin_s)))
    around = (local[lag:] + local[:-lag]) / 2
    upper = around >= np.median(around)
    d = d[upper] if upper.sum() >= 3 else d
    return MAD_TO_SD * float(np.median(np.abs(d))) / math.sqrt(2.0)


def _penalty(n: int, sigma: float) -> float:
    """Schwarz penalty per segment, ``PENALTY_LN_N`` sigma^2 ln n (a noiseless envelope:
    a vanishing one, still a fit)."""
    return max(PENALTY_LN_N * sigma * sigma * math.log(max(n, 2)), 1e-12)


def _partition(x: np.ndarray, penalty: float) -> list[int]:
    """Segment edges (0 = e_0 < ... < e_k = n) of the least-squares piecewise-constant fit
    minimising residual sum of squares + ``penalty`` per segment: optimal partitioning
    (Jackson et al. 2005), exact, O(n^2)."""
    n = x.size
    xc = x - float(np.mean(x))  # centred: the cumulative sums lose less to rounding
    s1 = np.concatenate([[0.0], np.cumsum(xc)])
    s2 = np.concatenate([[0.0], np.cumsum(xc * xc)])
    best = np.empty(n + 1)
    best[0] = -penalty
    last = np.zeros(n + 1, dtype=int)
    for j in range(1, n + 1):
        cost = s2[j] - s2[:j] - (s1[j] - s1[:j]) ** 2 / (j - np.arange(j))
        total = best[:j] + np.maximum(cost, 0.0) + penalty
        k = int(np.argmin(total))
        best[j], last[j] = total[k], k
    edges = [n]
    while edges[-1] > 0:
        edges.append(int(last[edges[-1]]))
    return edges[::-1]


def _level(x: np.ndarray, a: int, b: int, sigma: float) -> _Level:
    """A segment's mean and SD; with fewer than 3 bins its SD is the noise's."""
    seg = x[a:b]
    return _Level(a, b, float(seg.mean()), float(seg.std()) if seg.size >= 3 else sigma)


def _apart(p: _Level, q: _Level, step_tol: float) -> float:
    """How far apart two levels are in units of what makes them two (< 1: one level): at
    least ``step_tol`` and ``RESOLVE_SD`` pooled SDs."""
    need = max(step_tol, RESOLVE_SD * math.sqrt((p.sd ** 2 + q.sd ** 2) / 2), 1e-12)
    return abs(q.mean - p.mean) / need


def _merge(x: np.ndarray, edges: list[int], step_tol: float, sigma: float,
           bridge_bins: int) -> list[_Level]:
    """Segments that are one level (``_apart`` < 1) joined, the least apart first: two
    neighbours, or two levels with less than ``bridge_bins`` between them (a dip or a spike
    too short to be a floor), which is taken in (module docstring, step 3)."""
    segs = [_level(x, a, b, sigma) for a, b in zip(edges, edges[1:], strict=False)]
    while len(segs) > 1:
        pairs = []
        for k in range(len(segs) - 1):
            j = k + 1
            while j < len(segs) and (j == k + 1 or segs[j - 1].b - segs[k].b < bridge_bins):
                pairs.append((_apart(segs[k], segs[j], step_tol), k, j))
                j += 1
        gap, k, j = min(pairs)
        if not gap < 1.0:
            break
        segs[k:j + 1] = [_level(x, segs[k].a, segs[j].b, sigma)]
    return segs


def _rising_chain(plateaus: list[_Level], floors: int) -> list[int]:
    """Indices of the rising chain (time order, each level above the one before) with the
    most plateaus up to ``floors``, then the most bins in total."""
    if floors <= 0 or not plateaus:
        return []
    q = len(plateaus)
    # best[i][c]: (bins, chain) of the longest chain of c + 1 plateaus ending at plateau i
    best: list[list[tuple[int, list[int]] | None]] = [[None] * floors for _ in range(q)]
    for i, p in enumerate(plateaus):
        best[i][0] = (p.b - p.a, [i])
        for j in range(i):
            if not plateaus[j].mean < p.mean:
                continue
            for c in range(1, floors):
                prev, cur = best[j][c - 1], best[i][c]
                if prev is not None and (cur is None or prev[0] + p.b - p.a > cur[0]):
                    best[i][c] = (prev[0] + p.b - p.a, [*prev[1], i])
    for c in range(floors - 1, -1, -1):
        chains = [best[i][c] for i in range(q) if best[i][c] is not None]
        if chains:
            return max(chains, key=lambda t: t[0])[1]
    return []


def _floor(pct: np.ndarray, lo: int, hi: int, rate_hz: float, t0_s: float) -> _Floor:
    """A plateau's level and spread from its full-rate samples without ``EDGE_S`` at
    either end (all of it when that would leave less than half)."""
    trim = int(round(EDGE_S * rate_hz))
    core = pct[lo + trim:hi - trim] if hi - lo - 2 * trim >= max(2, (hi - lo) // 2) \
        else pct[lo:hi]
    med = float(np.median(core))
    sd = float(MAD_TO_SD * np.median(np.abs(core - med)))
    return _Floor(med, sd, t0_s + lo / rate_hz, t0_s + hi / rate_hz)


def _let_go_s(pct: np.ndarray, start: int, level: float, rate_hz: float,
              cal: Calibration, after: np.ndarray | None) -> float | None:
    """Seconds from the last moment at ``FALL_FROM`` of the top ``level`` (the envelope
    smoothed over ``FALL_SMOOTH_S``) to the first sample at or below ``NEAR_REST_PCT``, both
    from sample ``start`` (the top floor's first) on (module docstring, step 7); None when
    she was not back at rest in the data given."""
    if not level > NEAR_REST_PCT:
        return None
    tail = pct[start:]
    more = _finite(after)
    if more is not None:
        tail = np.concatenate([tail, np.asarray(cal.pct_mvc(more), dtype=float)])
    down = np.flatnonzero(tail <= NEAR_REST_PCT)
    if not down.size:
        return None
    up = np.flatnonzero(_smooth(tail[:down[0]], int(round(FALL_SMOOTH_S * rate_hz)))
                        >= FALL_FROM * level)
    return float(down[0] - (up[-1] if up.size else 0)) / rate_hz


def _stepped(x: np.ndarray, plateaus: list[_Level], chunk: int) -> float:
    """How much better the floors' own levels fit their plateaus than one straight line
    through them: residual sum of squares of the line / of the steps, over the plateaus'
    means of ``chunk`` bins (module docstring, step 6); 0 with fewer than two plateaus."""
    if len(plateaus) < 2:
        return 0.0
    t: list[float] = []
    y: list[float] = []
    steps = 0.0
    for p in plateaus:
        starts = np.arange(p.a, p.b, chunk)
        means = [float(x[a:min(a + chunk, p.b)].mean()) for a in starts]
        t += [float(a + min(a + chunk, p.b)) / 2 for a in starts]
        y += means
        steps += float(np.sum((np.asarray(means) - np.mean(means)) ** 2))
    ta, ya = np.asarray(t) - np.mean(t), np.asarray(y) - np.mean(y)
    slope = float(np.dot(ta, ya) / max(float(np.dot(ta, ta)), 1e-12))
    line = float(np.sum((ya - slope * ta) ** 2))
    return line / steps if steps > 0 else (math.inf if line > 0 else 0.0)


def _smooth(values: np.ndarray, w: int) -> np.ndarray:
    """Centred moving mean over ``w`` samples (fewer at the ends), as long as ``values``."""
    if values.size == 0:
        return values
    w = min(max(w, 1), values.size)
    c = np.concatenate([[0.0], np.cumsum(values)])
    i = np.arange(values.size)
    lo, hi = np.maximum(i - w // 2, 0), np.minimum(i - w // 2 + w, values.size)
    return (c[hi] - c[lo]) / (hi - lo)


def _cv(level: float, sd: float) -> float | None:
    return 100.0 * sd / level if level > 0 else None


def _round1(v: float | None) -> float | None:
    return None if v is None else round(v, 1)
