"""Scores of a repetition: pure functions of the trace and the detector's contractions.

Rules (documented in the README):
- Each repetition follows the patient (``patient_shift``): the detected contraction whose
  onset is nearest the cue, up to ``FOLLOW_S`` (1.5 s) before or after it, is the patient's
  own; hold, work average, peak and the following rest are taken over the work moved to it.
- hold_s: longest stretch inside the target band during the work phase(s), dips shorter than
  ``DIP_BRIDGE_S`` bridged. ``met``: the band was reached and hold_s >= target - tolerance,
  tolerance = 10 % of the target, at least 0.2 s, at most 0.5 s (or 10 %) and half the target.
- Latencies (assessments.md, Nu-Tek rule): work average = mean of the work segment without
  its first second (the peak for work shorter than 1.5 s); rise_s = cue -> 75 % of it,
  release_s = relax cue -> 37.5 % of it, both measured above the resting baseline, and with
  the repetition's own work average (the device uses the previous one, which rep 1 lacks);
  for a multi-step rep (the lift) rise uses the first step, release the last. Slower than
  2 s is flagged (late_onset / slow_release).
- onset_s / offset_s: from the detector's contractions overlapping the work phase (the onset
  of the first, the offset of the last; see ``Activity.onset_offset``): one rule with the
  contraction events. A contraction begun over ``PRE_CUE_S`` before the cue is carried over:
  the onset is then when 75 % of the work average was reached. offset None: still contracted
  at the end of the rest. Both None: no contraction detected in the work phase.
- rest_residual_pct: median level in the following rest, skipping its first second, in % MVC
  above baseline (a median: three spikes in a rest do not make it tense); above
  ``RELAX_LIMIT_PCT`` flags incomplete_relaxation.
- rest_level / rest_ratio: median of that rest (robust to a spike or an early next
  contraction), and its ratio to the pre-session rest (the calibration baseline). EMG in µV
  only: ``tense_at_rest`` (tense_rest) when above the patient's own rest by
  ``TENSE_REST_SD`` SD and by ``TENSE_REST_RATIO``, or above the absolute ``rest_limit_uV``
  (a device-dependent norm: clinical-reference.md §1/§4). Pressure at rest drifts and carries
  abdominal pressure: no rest rule for it.
- co-contraction and straining (``rose``, ``co_contracting``, ``straining``): a channel
  "rises" when it reaches its own contraction detector's *on* level (its own rest + the
  larger of 3 SD, 10 % of its MVC span, 0.5 x its rest for EMG, 2 cmH2O for pressure);
  pressure against the 2 s before the cue (it drifts).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bbfeedback.detect.calibration import Calibration
from bbfeedback.detect.contractions import Contraction
from bbfeedback.exercise.protocols import PARAMS
from bbfeedback.exercise.scores import RELAX_LIMIT_PCT, Flag, LiftScore, RepScore
from bbfeedback.exercise.trace_store import Trace

DIP_BRIDGE_S = 0.25
# a work phase whose hold is this short or shorter is a quick squeeze (a3, b4, PERFECT F,
# Glazer flicks): judged on reaching its band and letting go, never on hold time
QUICK_HOLD_S = 1.0
LATENCY_LIMIT_S = 2.0
# rest judged against the patient's own pre-session rest: above it by this many SD of its
# envelope (the detector's onset rule, Hodges & Bui 1996) and by this factor
TENSE_REST_SD = 3.0
TENSE_REST_RATIO = 1.5
PRESSURE_BEFORE_S = 2.0  # a pressure rise is against its median over this long before the cue


def tolerance_s(target_s: float) -> float:
    """How much shorter than the target a hold may be and still count as met: 10 % of the
    target, at least 0.2 s, at most 0.5 s or half the target (whichever is less)."""
    return min(max(0.2, 0.1 * target_s), max(0.5, 0.1 * target_s), 0.5 * target_s)


def longest_run(mask: np.ndarray, rate_hz: float) -> float:
    """Longest True stretch in seconds, bridging False gaps shorter than DIP_BRIDGE_S."""
    if not mask.any():
        return 0.0
    idx = np.flatnonzero(mask)
    breaks = np.flatnonzero(np.diff(idx) > DIP_BRIDGE_S * rate_hz + 1)
    starts = np.concatenate([[idx[0]], idx[breaks + 1]])
    ends = np.concatenate([idx[breaks], [idx[-1]]])
    return float((ends - starts + 1).max() / rate_hz)


def first_time(mask: np.ndarray, t0: float, rate_hz: float) -> float | None:
    hit = np.flatnonzero(mask)
    return None if hit.size == 0 else t0 + hit[0] / rate_hz


@dataclass
class WorkStep:
    """One work phase as it happened: cue time, end, band in physical units, target hold."""

    start_s: float
    end_s: float
    band: tuple[float, float]
    target_hold_s: float
    reach_s: float


def hold_in_band(trace: Trace, step: WorkStep) -> float:
    seg, _ = trace.window(step.start_s, step.end_s)
    lo, hi = step.band
    return longest_run((seg >= lo) & (seg <= hi), trace.rate_hz)


def work_average(trace: Trace, start_s: float, end_s: float) -> float:
    seg, _ = trace.window(start_s + 1.0 if end_s - start_s >= 1.5 else start_s, end_s)
    if seg.size == 0:
        return float("nan")
    return float(seg.mean() if end_s - start_s >= 1.5 else seg.max())


# the envelope this long before the cue counts for the repetition; a contraction that began
# earlier is carried over from before (its onset is not the repetition's)
PRE_CUE_S = 1.0
# a contraction whose onset is up to this far from its cue (before or after) is the
# patient's own contraction for it: the repetition's hold and rest follow it (issue 12)
FOLLOW_S = 1.5
NO_REST_S = 3.0  # without a rest after it, a repetition is followed this long for its release


@dataclass(frozen=True)
class Activity:
    """What the contraction detector knows of the scored channel when a repetition is scored:
    the contractions it reported (``closed``), the ones still going on (``open``, their
    onsets only are final) and its *on* level."""

    closed: tuple[Contraction, ...]
    open: tuple[Contraction, ...]
    on_level: float

    def contracted(self, trace: Trace, cue: float, end: float) -> bool:
        """Did the envelope reach the *on* level in the work phase (or just before its cue)?"""
        seg, _ = trace.window(cue - PRE_CUE_S, end)
        return bool((seg >= self.on_level).any())

    def onset_offset(self, cue: float, end: float,
                     until: float) -> tuple[float | None, float | None]:
        """Onset and offset of the muscle activity of a work phase, from the detector's
        contractions overlapping it: the onset of the first, the offset of the last.

        None, None: no contraction overlaps. Offset None: the last is still going on, or
        ended only after ``until`` (the end of the rest: not relaxed in time)."""
        over = [(c, False) for c in self.closed if c.onset_s < end and c.offset_s > cue]
        over += [(c, True) for c in self.open if c.onset_s < end]
        if not over:
            return None, None
        over.sort(key=lambda item: item[0].onset_s)
        first, (last, still_open) = over[0][0], over[-1]
        offset = None if still_open or last.offset_s > until else last.offset_s
        return first.onset_s, offset


def patient_shift(activity: Activity, cue: float, limit_s: float, after_s: float) -> float:
    """How far the patient's own contraction for a cue is from it: onset - cue of the
    detected contraction whose onset is nearest the cue within ``limit_s`` either side and
    after ``after_s`` (the previous repetition's); 0.0 when there is none. Cue windows
    guide, they do not cut: a patient who starts 0.8 s early or 1.2 s late is scored on
    the contraction they made, not on the part of it inside the cue's window."""
    onsets = [c.onset_s for c in activity.closed + activity.open
              if abs(c.onset_s - cue) <= limit_s and c.onset_s > after_s]
    if not onsets:
        return 0.0
    return float(min(onsets, key=lambda t: abs(t - cue)) - cue)


def rest_ratio(level: float, cal: Calibration) -> float | None:
    """A rest level over the pre-session rest (EMG in µV only: pressure is zeroed)."""
    if cal.unit != "uV" or not cal.baseline_mean > 0 or not np.isfinite(level):
        return None
    return float(level / cal.baseline_mean)


def tense_at_rest(level: float, cal: Calibration,
                  limit_uV: float = PARAMS["rest_limit_uV"]) -> bool:
    """EMG at rest above the patient's own pre-session rest (by ``TENSE_REST_SD`` SD and by
    ``TENSE_REST_RATIO``) or above the absolute norm ``limit_uV``."""
    if cal.unit != "uV" or not np.isfinite(level):
        return False
    ratio = rest_ratio(level, cal)
    above_own = ratio is not None and ratio > TENSE_REST_RATIO \
        and level > cal.baseline_mean + TENSE_REST_SD * cal.baseline_sd
    return bool(above_own or level > limit_uV)


def shifted(steps: list[WorkStep], shift_s: float) -> list[WorkStep]:
    """The work steps as the patient did them: ``shift_s`` later (earlier when < 0)."""
    return [WorkStep(s.start_s + shift_s, s.end_s + shift_s, s.band, s.target_hold_s,
                     s.reach_s) for s in steps]


def score_rep(index: int, steps: list[WorkStep], rest: tuple[float, float] | None,
              trace: Trace, cal: Calibration, activity: Activity, section: str,
              posture: str | None, lift: LiftScore | None = None,
              rest_limit_uV: float = PARAMS["rest_limit_uV"],
              shift_s: float = 0.0) -> RepScore:
    """Score one repetition (one or more consecutive work steps and the rest after them).
    ``shift_s`` (``patient_shift``): the hold, work average and peak are taken over the work
    steps moved to the patient's own onset, the rest starts that much later; rise and
    release stay timed from the cues (reaction to the cue is what they measure)."""
    cue, end = steps[0].start_s, steps[-1].end_s
    own = shifted(steps, shift_s)
    a, b = own[0].start_s, own[-1].end_s  # the work as the patient did it
    if shift_s and trace.window(a, b)[0].size < 2:  # the signal ends before it: as cued
        return score_rep(index, steps, rest, trace, cal, activity, section, posture, lift,
                         rest_limit_uV)
    if rest is not None and shift_s > 0:
        rest = (min(rest[0] + shift_s, rest[1]), rest[1])
    base = cal.baseline_mean
    work, _ = trace.window(a, b)
    peak = float(work.max()) if work.size else float("nan")
    mean = work_average(trace, a, b)
    if not np.isfinite(mean):  # cut off within its first second: its peak
        mean = peak
    until = rest[1] if rest else end + NO_REST_S
    contracted = activity.contracted(trace, min(cue, a), max(end, b))
    onset, offset = activity.onset_offset(min(cue, a), max(end, b), until) if contracted \
        else (None, None)
    holds = [hold_in_band(trace, s) for s in own]
    target = sum(s.target_hold_s for s in steps)
    rise = release = None
    first_avg = work_average(trace, a, own[0].end_s)
    last_avg = work_average(trace, own[-1].start_s, b)
    if contracted and first_avg > base:  # no squeeze: no latency (not "0,00 s")
        seg, t0 = trace.window(cue, max(end, b))
        rise = first_time(seg >= base + 0.75 * (first_avg - base), t0, trace.rate_hz)
        rise = None if rise is None else round(max(0.0, float(rise - cue)), 3)
    if contracted and last_avg > base:
        seg, t0 = trace.window(end, until)
        release = first_time(seg <= base + 0.375 * (last_avg - base), t0, trace.rate_hz)
        release = None if release is None else round(max(0.0, float(release - end)), 3)
    residual = rest_level = None
    if rest is not None:
        skip = 1.0 if rest[1] - rest[0] >= 2.0 else (rest[1] - rest[0]) / 2
        seg, _ = trace.window(rest[0] + skip, rest[1])
        if seg.size:
            residual = cal.pct_mvc(float(np.median(seg)))  # robust: a spike does not move it
            residual = None if residual is None else float(residual)
            rest_level = float(np.median(seg))
    met = contracted and all(h > 0 for h in holds) and all(
        h >= s.target_hold_s - tolerance_s(s.target_hold_s) for h, s in zip(holds, steps,
                                                                              strict=True))
    flags = []
    if not contracted:
        flags.append(Flag.NO_CONTRACTION)
    else:
        if rise is None or rise > LATENCY_LIMIT_S:
            flags.append(Flag.LATE_ONSET)
        if not met:
            flags.append(Flag.SHORT_HOLD)
        if release is None or release > LATENCY_LIMIT_S:
            flags.append(Flag.SLOW_RELEASE)
    if residual is not None and residual > RELAX_LIMIT_PCT:
        flags.append(Flag.INCOMPLETE_RELAXATION)
    if rest_level is not None and tense_at_rest(rest_level, cal, rest_limit_uV):
        flags.append(Flag.TENSE_REST)
    ratio = None if rest_level is None else rest_ratio(rest_level, cal)
    if onset is not None and onset < min(cue, a) - PRE_CUE_S:
        # contracted from before: the onset is when 75 % of the work average was reached
        onset = None if rise is None else cue + rise
    return RepScore(
        index=index,
        cue_s=round(float(cue), 3),
        onset_s=None if onset is None else round(float(onset), 3),
        offset_s=None if offset is None else round(float(offset), 3),
        target_hold_s=round(target, 3),
        hold_s=round(sum(holds), 3),
        step_holds_s=tuple(round(h, 3) for h in holds),
        met=bool(met),
        rise_s=rise,
        release_s=release,
        peak=round(peak, 3),
        peak_pct_mvc=pct_of(cal, peak),
        mean=round(mean, 3),
        mean_pct_mvc=pct_of(cal, mean),
        rest_residual_pct=None if residual is None else round(residual, 2),
        rest_level=None if rest_level is None else round(rest_level, 3),
        rest_ratio=None if ratio is None else round(ratio, 2),
        unit=cal.unit,
        flags=tuple(flags),
        section=section,
        posture=posture,
        lift=lift,
    )


def pct_of(cal: Calibration, value: float) -> float | None:
    """``value`` in % MVC, as the scores give it (None without an MVC)."""
    if cal.mvc is None or not np.isfinite(value):
        return None
    return round(float(cal.pct_mvc(value)), 2)


def rose(trace: Trace, on_level: float, start_s: float, end_s: float) -> bool:
    """Did the envelope reach ``on_level`` (its detector's) between two times?"""
    seg, _ = trace.window(start_s, end_s)
    return bool(seg.size and (seg >= on_level).any())


def co_contracting(acc: Trace, on_level: float, spans: list[tuple[float, float]]) -> bool:
    """The accessory (abdominal) channel's mean over any of ``spans`` (the work phases that do
    not allow it) above its own *on* level: its own rest (the session's calibration rest) + the
    larger of 3 SD and 0.5 x that rest (its "MVC" is taken during pelvic-floor squeezes, so
    10 % of its span adds next to nothing)."""
    for a, b in spans:
        seg, _ = acc.window(a, b)
        if seg.size and float(seg.mean()) > on_level:
            return True
    return False


def pressure_rise(pressure: Trace, cue_s: float, end_s: float) -> float | None:
    """How far the pressure rose in the work phase (its 90th percentile: a short push in a
    quick phase counts, a spike does not) above its median over the ``PRESSURE_BEFORE_S``
    before the cue (the probe drifts and the breath moves it: not against the calibration)."""
    work, _ = pressure.window(cue_s, end_s)
    before, _ = pressure.window(cue_s - PRESSURE_BEFORE_S, cue_s)
    if work.size == 0 or before.size == 0:
        return None
    return float(np.percentile(work, 90) - np.median(before))


# a pelvic-floor squeeze reaches its plateau within a few tenths of a second; a push
# (Valsalva) builds abdominal pressure more slowly, with a held breath. Pressure alone cannot
# tell them apart (Bø & Sherburn 2005, Phys Ther 85:269; clinical-reference §5, §9): a rise
# from 10 % to 90 % slower than this is flagged possible_straining, a caveat, not a verdict
PUSH_RISE_S = 1.0


def slow_push(pressure: Trace, cue_s: float, end_s: float) -> bool:
    """Did the pressure of a work phase rise like a push: from 10 % to 90 % of its rise
    (above the median of the ``PRESSURE_BEFORE_S`` before the cue, to the 90th percentile
    of the work) in more than ``PUSH_RISE_S``?"""
    work, t0 = pressure.window(cue_s - PRE_CUE_S, end_s)
    before, _ = pressure.window(cue_s - PRESSURE_BEFORE_S, cue_s)
    if work.size < 3 or before.size == 0:
        return False
    base, top = float(np.median(before)), float(np.percentile(work, 90))
    if top - base < 2.0:  # no rise worth a look (cmH2O: detector's smallest step)
        return False
    t10 = first_time(work >= base + 0.1 * (top - base), t0, pressure.rate_hz)
    i10 = int(round((t10 - t0) * pressure.rate_hz))
    t90 = first_time(work[i10:] >= base + 0.9 * (top - base), t10, pressure.rate_hz)
    return t90 is not None and t90 - t10 > PUSH_RISE_S


def straining(pelvic_floor_quiet: bool, rise: float | None, pressure_step: float | None,
              abdominal_rose: bool) -> bool:
    """Pushing instead of squeezing (Valsalva: pressure and abdominal EMG up, pelvic-floor EMG
    flat or below rest, clinical-reference.md §5-6): the pelvic floor stayed below its *on*
    level while the pressure rose by at least its *on* step, or the abdominal channel rose."""
    pushed = (rise is not None and pressure_step is not None and rise >= pressure_step) \
        or abdominal_rose
    return bool(pelvic_floor_quiet and pushed)


def lift_score(trace: Trace, steps: list[WorkStep], rest: tuple[float, float] | None,
                cal: Calibration, min_step_pct: float, max_cv_pct: float,
                release_quick_s: float) -> LiftScore:
    """floors_distinct (three steady levels, each above the one before), release_quick."""
    floors: list[tuple[float | None, float | None]] = []
    for s in steps:
        seg, _ = trace.window((s.start_s + s.end_s) / 2, s.end_s)  # the settled half
        if seg.size < 2:  # a floor the session never reached (stopped early)
            floors.append((None, None))
            continue
        cv = float(100 * seg.std() / max(seg.mean() - cal.baseline_mean, 1e-9))
        floors.append((float(cal.pct_mvc(float(np.median(seg)))), cv))
    known = all(f is not None for f, _ in floors)
    distinct = known and floors[0][0] > 0 and all(
        b[0] - a[0] >= min_step_pct for a, b in zip(floors, floors[1:], strict=False)) and all(
        cv <= max_cv_pct for _, cv in floors)
    quick = False
    if rest is not None:
        seg, t0 = trace.window(rest[0], rest[1])
        down = first_time(seg <= cal.level(10.0), t0, trace.rate_hz)
        quick = down is not None and down - rest[0] <= release_quick_s
    return LiftScore(tuple(_round1(f) for f, _ in floors), tuple(_round1(c) for _, c in floors),
                     bool(distinct), bool(quick))


def _round1(v: float | None) -> float | None:
    return None if v is None else round(v, 1)
