"""Progress that knows measurement noise: is a change larger than the measurement's minimal
detectable change (MDC), or within its error?

Pelvic-floor sEMG repeats only moderately well, so a session-to-session difference of 10-20 %
is often noise. Every session is judged three ways, per metric (Weir 2005; the MDC holds for
any pair of measurements):

- against the **first** session (the baseline) of the same exercise on the same device;
- against the **previous** session of the same exercise;
- as a **trend** over all sessions so far (same exercise, same device): the least-squares
  slope (per week when the sessions are dated, else per session) with its 95 % confidence
  interval (Student's t, n - 2 degrees of freedom; as ``scipy.stats.linregress``). The
  trend is real ("improving"/"declining") only when the interval excludes 0 AND the fitted
  change over the span (slope x span) exceeds the MDC; else "no trend". It needs 3
  sessions (one degree of freedom for the interval).

One step (decided, docs/history-and-reports.md): when the sessions split into two runs of
at least 2 sessions each, each run flat within the MDC, the two runs' means differing by
more than the MDC, and the two levels fit at least twice as well as a straight line
(residual sum of squares), the trend is that step: "improving"/"declining" with ``shape``
"step" (a steady gain is ``shape`` "steady"). So 20, 21, 20, 40, 41, 40 µV reads "improved"
against the first session from the 4th on, one "improved" step against the previous one,
and the trend "improving (one step)"; 20, 26, 32, 38, 44, 50 µV reads "improving (steady)".

The figures (``MDCS``; docs/history-and-reports.md table):

- sEMG, MVC (peak RMS, µV): **21 %** of the earlier value. Koenig, Luginbuehl & Radlinger
  2017 (*Ann Phys Rehabil Med* 60(6):382-386; the figures issue 12 and 21 attribute to Oleksy
  et al. 2021, who found amplitudes good between trials and moderate between days): SEM%
  7.5-15.7, minimal difference MD% 21.0-43.8 in healthy, weak-PFM and SUI women. The low end,
  as peak RMS at MVC has the lowest SEM and MDC (Pereira-Baldon et al. 2020, *Neurourol
  Urodyn*, doi 10.1002/nau.24332).
- sEMG, rest (the calibration's rest level, µV, same device): **43.8 %** (the high end of the
  range: resting values are the least reliable, Oleksy 2021) **and at least 1 µV**: rest
  levels are a few µV (relaxed muscle 1-3 µV, MyoTrac manual; healthy rest 2.4 µV,
  Kasper-Jedrzejewska 2025) and a device's noise floor is about 1 µV (MyoTrac 0.8 µV, NeuroTrac
  0.2 µV RMS range floor), so 43.8 % of 2 µV (0.9 µV) is below what the device can tell apart.
  Rest is never judged as a change of a % MVC (a % of a % near 0 gave "+1683 %").
- Manometry (cmH2O; Tennfjord et al. 2017, vaginal manometry in postpartum women): resting
  pressure **8.7 cmH2O**, maximal squeeze (strength: the squeeze above rest, MVC minus the
  rest level) **7.6 cmH2O**, endurance **59.5 cmH2O·s** (a pressure-time integral; the
  sessions carry none yet, so it is here for ``trend``/``compare`` only).
- Longest hold, quick count, muscle activity last ÷ first: no MDC in the sources (Laycock &
  Jerwood 2001 gives only inter-examiner r; Oleksy 2021 calls the Glazer time measures poorly
  reliable): shown, ``no_figure``, never judged.

Absolute levels depend on electrode, amplifier and processing: MVC and rest are compared only
between sessions naming the same device and unit. An MVC not squeezed for in its session
(copied, estimated) is ``not_measured`` and left out of the baseline and the trend.

Verdict codes (the words are in ``texts.CHANGES`` and ``texts.TRENDS``): ``improved`` /
``declined`` (beyond the MDC in the metric's good or bad direction), ``higher`` / ``lower``
(beyond the MDC where neither direction is better: resting pressure), ``within_error``,
``first`` (this is the baseline), ``other_device``, ``device_unknown``, ``not_measured``,
``no_figure``, ``missing``; trends: ``improving``, ``declining``, ``rising``, ``falling``,
``no_trend``, ``too_few`` and the same ``device_unknown``/``not_measured``/``no_figure``/
``missing``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is imported where a trend is fitted: the command line starts light
    import numpy as np

KOENIG_2017 = "Koenig 2017 (MD% 21.0-43.8); Pereira-Baldon 2020"
KOENIG_REST = "Koenig 2017 (MD% 43.8, high end); at least 1 µV (device noise floor)"
TENNFJORD_2017 = "Tennfjord 2017 (manometry MDC)"
EMG_UNITS = {"uV": 1.0, "mV": 1000.0}  # µV per unit: the relative figures hold in any of them
PRESSURE_UNITS = ("cmH2O",)
REST_FLOOR_UV = 1.0  # a rest change must be at least this many µV (device noise floor)
MIN_TREND_SESSIONS = 3  # a slope's 95 % interval needs n - 2 >= 1 degrees of freedom
STEP_MIN_RUN = 2  # a step: at least 2 sessions on each side of it (one may be a bad day)
STEP_FIT = 0.5  # ... fitting at least twice as well as a line (residual sum of squares)


@dataclass(frozen=True)
class Mdc:
    """A metric's minimal detectable change: relative (``pct`` of the earlier value) and/or
    absolute (``abs``, in the unit); ``floor_uV``: a change must also be at least this (EMG)."""

    pct: float | None
    abs: float | None
    source: str
    floor_uV: float | None = None

    def unit_text(self) -> str:
        return "%" if self.pct is not None else "abs"


MDCS: dict[tuple[str, str], Mdc] = {
    ("mvc", "emg"): Mdc(21.0, None, KOENIG_2017),
    ("mvc", "pressure"): Mdc(None, 7.6, TENNFJORD_2017),
    ("rest", "emg"): Mdc(43.8, None, KOENIG_REST, REST_FLOOR_UV),
    ("rest", "pressure"): Mdc(None, 8.7, TENNFJORD_2017),
    ("endurance_pti", "pressure"): Mdc(None, 59.5, TENNFJORD_2017),
}


@dataclass(frozen=True)
class Metric:
    key: str  # the progress row's key
    higher_is_better: bool | None  # None: neither direction is better
    device_bound: bool  # a level in the device's unit: compared on one device only
    source: str


METRICS: tuple[Metric, ...] = (
    Metric("mvc", True, True, KOENIG_2017 + "; " + TENNFJORD_2017),
    # lower EMG rest is better relaxation; resting pressure is sphincter tone as much as
    # over-activity: a rise or a fall, not better or worse
    Metric("rest", False, True, KOENIG_REST + "; " + TENNFJORD_2017),
    Metric("best_hold_s", True, False, "-"),
    Metric("quick_count", True, False, "-"),
    Metric("fatigue_ratio", True, False, "-"),
)
BY_KEY = {m.key: m for m in METRICS}
# an MVC not squeezed for in that session (``exercise/calibrator.py``): copied from the
# previous session, estimated from a half squeeze or from the recording, or none: not judged
UNMEASURED_MVC = ("session-previous", "session-visit", "session-gentle", "session-rest",
                  "estimated")


def unit_kind(unit: str | None) -> str | None:
    """"emg" or "pressure" for a unit the figures are for; None otherwise."""
    if unit in EMG_UNITS:
        return "emg"
    if unit in PRESSURE_UNITS:
        return "pressure"
    return None


def mdc_for(metric: str, unit: str | None) -> Mdc | None:
    """The MDC of a metric in a unit; None: no figure in the sources."""
    kind = unit_kind(unit)
    return MDCS.get((metric, kind)) if kind else None


def _direction(metric: str, unit: str | None) -> bool | None:
    """True: higher is better; False: lower is better; None: neither."""
    if metric == "rest" and unit_kind(unit) == "pressure":
        return None
    if metric == "endurance_pti":
        return True
    m = BY_KEY.get(metric)
    return m.higher_is_better if m else True


def exceeds(mdc: Mdc, change: float, base: float | None, unit: str | None) -> bool | None:
    """Is ``change`` (in the unit, from a level ``base``) beyond the MDC? None: cannot tell
    (a relative figure from a level of 0 or less)."""
    real = True
    if mdc.pct is not None:
        if base is None or base <= 0:
            return None
        real = real and abs(100.0 * change / base) > mdc.pct
    if mdc.abs is not None:
        real = real and abs(change) > mdc.abs
    if mdc.floor_uV is not None:
        real = real and abs(change) * EMG_UNITS.get(unit or "", 1.0) >= mdc.floor_uV
    return real


def _worded(metric: str, unit: str | None, up: bool, pair: tuple[str, str, str, str]) -> str:
    """improved/declined (or the neutral higher/lower) for a real change ``up`` or down."""
    better = _direction(metric, unit)
    if better is None:
        return pair[2] if up else pair[3]
    return pair[0] if up == better else pair[1]


def compare(before: float | None, after: float | None, metric: str,
            unit: str | None) -> dict:
    """One metric between an earlier and a later session (numbers only; devices: ``changes``):
    ``verdict``, ``change`` (in the unit) and ``change_pct`` (of the earlier value)."""
    out: dict = {"verdict": "missing", "change": None, "change_pct": None}
    if before is None or after is None or not (math.isfinite(before) and math.isfinite(after)):
        return out
    change = after - before
    out["change"] = round(change, 3)
    out["change_pct"] = round(100.0 * change / abs(before), 1) if before else None
    mdc = mdc_for(metric, unit)
    if mdc is None:
        out["verdict"] = "no_figure"
        return out
    real = exceeds(mdc, change, before, unit)
    if real is None:
        out["verdict"] = "missing"
    elif not real:
        out["verdict"] = "within_error"
    else:
        out["verdict"] = _worded(metric, unit, change > 0,
                                 ("improved", "declined", "higher", "lower"))
    return out


@dataclass(frozen=True)
class Trend:
    """A metric's trend over sessions: ``verdict`` (``improving``, ``declining``, ``rising``,
    ``falling``, ``no_trend``, ``too_few``, ``no_figure``), the least-squares ``slope`` (in the
    unit per ``per``: "week" or "session") with its 95 % interval ``ci``, the fitted change over
    the span (``fitted_change`` in the unit, ``fitted_change_pct`` of the fitted first level),
    the MDC used, and ``shape``: "steady", "step" (``step_at``: the index of the first session
    after the step) or None."""

    verdict: str
    n: int
    slope: float | None = None
    ci: tuple[float, float] | None = None
    per: str = "session"
    fitted_change: float | None = None
    fitted_change_pct: float | None = None
    mdc_pct: float | None = None
    mdc_abs: float | None = None
    shape: str | None = None
    step_at: int | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["ci"] = list(self.ci) if self.ci is not None else None
        return d


def trend(values: list[float], metric: str, unit: str,
          days: list[float] | None = None) -> Trend:
    """The trend of one metric over a patient's sessions (oldest first): ``values`` in
    ``unit`` ("uV", "mV", "cmH2O"); ``metric`` "mvc" (for pressure: the squeeze above rest),
    "rest" or "endurance_pti"; ``days``: each session's time in days (slope per week), else
    the slope is per session. See the module's rules."""
    import numpy as np

    y = np.asarray([float(v) for v in values], dtype=float)
    n = int(y.size)
    mdc = mdc_for(metric, unit)
    base = {"n": n, "mdc_pct": mdc.pct if mdc else None, "mdc_abs": mdc.abs if mdc else None}
    if mdc is None:
        return Trend("no_figure", **base)
    if n < MIN_TREND_SESSIONS or not np.all(np.isfinite(y)):
        return Trend("too_few" if n < MIN_TREND_SESSIONS else "missing", **base)
    x, per = np.arange(n, dtype=float), "session"
    if days is not None and len(days) == n and np.ptp(np.asarray(days, float)) > 0:
        x, per = np.asarray(days, dtype=float), "week"
    from scipy.special import stdtrit  # Student's t quantile; here: imports stay light

    # least squares (as scipy.stats.linregress): slope, intercept, the slope's standard error
    xm, ym = float(x.mean()), float(y.mean())
    sxx = float(np.sum((x - xm) ** 2))
    slope = float(np.sum((x - xm) * (y - ym)) / sxx)
    intercept = ym - slope * xm
    rss_line = float(np.sum((y - (intercept + slope * x)) ** 2))
    se = math.sqrt(rss_line / (n - 2) / sxx)
    t = float(stdtrit(n - 2, 0.975))
    lo, hi = slope - t * se, slope + t * se
    span = float(x[-1] - x[0])
    fitted = slope * span
    start = float(intercept + slope * x[0])
    level = start if start > 0 else float(y[0])
    real = bool(exceeds(mdc, fitted, level, unit)) and (lo > 0 or hi < 0)
    scale = 7.0 if per == "week" else 1.0
    result = {"slope": round(slope * scale, 4), "ci": (round(lo * scale, 4), round(hi * scale, 4)),
              "per": per, "fitted_change": round(fitted, 3),
              "fitted_change_pct": round(100.0 * fitted / level, 1) if level > 0 else None}
    words = ("improving", "declining", "rising", "falling")
    step = _step(y, mdc, unit, rss_line)
    if step is not None:
        at, up = step
        return Trend(_worded(metric, unit, up, words), shape="step", step_at=at,
                     **base, **result)
    if real:
        return Trend(_worded(metric, unit, slope > 0, words), shape="steady", **base, **result)
    return Trend("no_trend", **base, **result)


def _beyond(mdc: Mdc, change: np.ndarray, base: np.ndarray, unit: str) -> np.ndarray:
    """``exceeds`` for arrays: True where a change is beyond the MDC, False where it is not
    or cannot be told (a relative figure from a level of 0 or less)."""
    import numpy as np

    change, base = np.abs(np.asarray(change, float)), np.asarray(base, float)
    real = np.ones(change.shape, dtype=bool)
    if mdc.pct is not None:
        safe = np.where(base > 0, base, np.nan)
        with np.errstate(invalid="ignore"):
            real &= (base > 0) & (100.0 * change / safe > mdc.pct)
    if mdc.abs is not None:
        real &= change > mdc.abs
    if mdc.floor_uV is not None:
        real &= change * EMG_UNITS.get(unit or "", 1.0) >= mdc.floor_uV
    return real


def _within(mdc: Mdc, change: np.ndarray, base: np.ndarray, unit: str) -> np.ndarray:
    """True where a change is known to be within the MDC."""
    import numpy as np

    told = np.ones(np.shape(change), dtype=bool) if mdc.pct is None else np.asarray(base) > 0
    return told & ~_beyond(mdc, change, base, unit)


def _step(y: np.ndarray, mdc: Mdc, unit: str, rss_line: float) -> tuple[int, bool] | None:
    """(index of the first session after it, upwards) when the series is one real step
    between two flat runs (module docstring), else None. Every split at once (cumulative
    sums), so a long history stays quick."""
    import numpy as np

    n = y.size
    ks = np.arange(STEP_MIN_RUN, n - STEP_MIN_RUN + 1)
    if ks.size == 0:
        return None
    cs, cs2 = np.cumsum(y), np.cumsum(y * y)
    sa, sa2 = cs[ks - 1], cs2[ks - 1]
    sb, sb2 = cs[-1] - sa, cs2[-1] - sa2
    na, nb = ks.astype(float), (n - ks).astype(float)
    ma, mb = sa / na, sb / nb
    rss = np.maximum(sa2 - sa * sa / na, 0.0) + np.maximum(sb2 - sb * sb / nb, 0.0)
    range_a = (np.maximum.accumulate(y) - np.minimum.accumulate(y))[ks - 1]
    range_b = (np.maximum.accumulate(y[::-1]) - np.minimum.accumulate(y[::-1]))[::-1][ks]
    ok = (_within(mdc, range_a, ma, unit) & _within(mdc, range_b, mb, unit)
          & _beyond(mdc, mb - ma, ma, unit) & (rss <= STEP_FIT * rss_line))
    if not ok.any():
        return None
    best = int(np.flatnonzero(ok)[np.argmin(rss[ok])])
    return int(ks[best]), bool(mb[best] > ma[best])


def device_name(session_device: dict | None) -> str | None:
    """A session's device, as the recording named it (its port may change between sessions;
    the device does not)."""
    name = (session_device or {}).get("name")
    return (str(name).strip() or None) if name is not None else None


def value(metric: str, row: dict) -> float | None:
    """The number judged for a metric of a progress row: for a pressure MVC the squeeze
    above rest (Tennfjord's strength), else the row's own value."""
    v = row.get(metric)
    if not isinstance(v, int | float) or isinstance(v, bool) or not math.isfinite(v):
        return None
    if metric == "mvc" and v <= 0:  # no MVC (rest-only calibration)
        return None
    if metric == "mvc" and unit_kind(row.get("unit")) == "pressure":
        rest = value("rest", row)
        return float(v) - rest if rest is not None else None
    return float(v)


def _unit(metric: Metric, row: dict) -> str | None:
    if metric.device_bound:
        return row.get("unit")
    return {"best_hold_s": "s", "quick_count": "count"}.get(metric.key, "")


def _usable(metric: Metric, row: dict) -> str | None:
    """Why a row's device-bound metric cannot be judged (a verdict), or None when it can."""
    if metric.key == "mvc" and row.get("mvc_source") in UNMEASURED_MVC:
        return "not_measured"
    if row.get("unit") is None:  # no calibration: nothing to compare
        return "missing"
    if unit_kind(row.get("unit")) is None:
        return "no_figure"
    if row.get("device") is None:
        return "device_unknown"
    if value(metric.key, row) is None:
        return "missing"
    return None


def _same_device(a: dict, b: dict) -> bool:
    return a.get("device") == b.get("device") and a.get("unit") == b.get("unit")


def _days(rows: list[dict]) -> list[float] | None:
    try:
        times = [datetime.fromisoformat(str(r["date"])) for r in rows]
    except (KeyError, ValueError):
        return None
    return [(t - times[0]).total_seconds() / 86400.0 for t in times]


def _pair(metric: Metric, before: dict | None, row: dict) -> dict:
    """A row's metric against an earlier row (the first or the previous one)."""
    if before is None:
        return {"verdict": "first", "change": None, "change_pct": None, "compared_with": None}
    out = {"verdict": "missing", "change": None, "change_pct": None,
           "compared_with": before.get("date")}
    if metric.device_bound:
        why = _usable(metric, row) or _usable(metric, before)
        if why is None and not _same_device(before, row):
            why = "other_device"
        if why is not None:
            return {**out, "verdict": why}
    return {**out, **compare(value(metric.key, before), value(metric.key, row), metric.key,
                             _unit(metric, row))}


def judge_metric(metric: Metric, row: dict, earlier: list[dict]) -> dict:
    """One metric of a progress row against the earlier rows of the same exercise (oldest
    first): its ``value`` and ``unit``, the ``mdc`` used, and ``vs_first`` (the first session
    on the same device with a judgeable value), ``vs_previous`` and ``trend``."""
    unit = _unit(metric, row)
    mdc = mdc_for(metric.key, unit)
    out = {"value": value(metric.key, row), "unit": unit,
           "mdc_pct": mdc.pct if mdc else None, "mdc_abs": mdc.abs if mdc else None,
           "mdc_floor_uV": mdc.floor_uV if mdc else None,
           "source": mdc.source if mdc else "-",
           "vs_previous": _pair(metric, earlier[-1] if earlier else None, row)}
    if not metric.device_bound:  # no figure in the sources: numbers, never a verdict
        out["vs_first"] = _pair(metric, earlier[0] if earlier else None, row)
        out["trend"] = {**Trend("no_figure", len(earlier) + 1).to_dict(), "since": None,
                        "step_date": None}
        return out
    same = [r for r in earlier if _usable(metric, r) is None and _same_device(r, row)]
    why = _usable(metric, row)
    if why is not None:
        out["vs_first"] = {"verdict": why, "change": None, "change_pct": None,
                           "compared_with": None}
        out["trend"] = {**Trend(why, len(same)).to_dict(), "since": None, "step_date": None}
        return out
    out["vs_first"] = _pair(metric, same[0] if same else None, row)
    series = [*same, row]
    got = trend([value(metric.key, r) for r in series], metric.key, unit, _days(series))
    out["trend"] = {**got.to_dict(), "since": series[0].get("date"),
                    "step_date": series[got.step_at].get("date")
                    if got.step_at is not None else None}
    return out


def changes(rows: list[dict]) -> list[dict]:
    """Per progress row (in time order), each metric judged against the first session of the
    same exercise on the same device, against the previous session of the same exercise,
    and as a trend (``judge_metric``). A row needs ``protocol``, ``date``, ``device`` (the
    name, or None), ``unit``, ``mvc_source``, ``rest`` and the metrics' keys."""
    out: list[dict] = []
    earlier: dict[str | None, list[dict]] = {}
    for row in rows:
        same = earlier.setdefault(row["protocol"], [])
        out.append({m.key: judge_metric(m, row, same) for m in METRICS})
        same.append(row)
    return out


def series(values: list[float | None], metric: str, unit: str,
           days: list[float] | None = None) -> list[dict]:
    """Known-truth helper: one metric's values on one device (oldest first), each session
    judged as the progress table does (``judge_metric``: ``vs_first``, ``vs_previous``,
    ``trend``). A pressure ``mvc`` is taken as the squeeze above rest already."""
    rows = []
    for k, v in enumerate(values):
        row = {"protocol": "p", "date": None, "device": "device", "unit": unit,
               "mvc_source": "recorded", "rest": 0.0, metric: v}
        if days is not None:
            row["date"] = (datetime(2000, 1, 1) + timedelta(days=days[k])).isoformat(
                sep=" ", timespec="minutes")
        rows.append(row)
    return [judge_metric(BY_KEY[metric], row, rows[:k]) for k, row in enumerate(rows)]
