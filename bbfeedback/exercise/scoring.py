"""Scores of a repetition: pure functions of the trace and the detector's contractions.

Rules (documented in docs/scoring.md):
- Each repetition is judged from the patient's own contraction (``Answer``, found by
  ``matching``): hold, work average and peak over the work moved to her onset; her rest from
  her own let-go to her next onset (``rest_window``).
  Without an answer the cue's windows are judged (no contraction, or one carried over).
- hold_s: longest stretch inside the target band during the work phase(s), dips shorter than
  ``DIP_BRIDGE_S`` bridged. ``met``: the band was reached and hold_s >= target - tolerance,
  tolerance = 10 % of the target, at least 0.2 s, at most 0.5 s (or 10 %) and half the target.
- Latencies (assessments.md, Nu-Tek rule): work average = mean of the work segment without
  its first second (the peak for work shorter than 1.5 s, and for a quick squeeze); rise_s =
  cue -> 75 % of it (from her onset when she began before the cue; None when she was already
  there: still tense), release_s = relax cue -> 37.5 % of it (from her last 75 % when she was
  down before the cue), both above the resting baseline. Slower than 2 s is flagged:
  late_onset from the cue; slow_release from her *own* end of the work (a late start is not
  said again as a slow release).
- onset_s / offset_s: her answer's (the detector's contraction, refined to the sample);
  without one, from the detector's contractions overlapping the work phase
  (``Activity.onset_offset``). A contraction begun over ``PRE_CUE_S`` before the cue is
  carried over: no onset, no rise. offset None: still contracted at the end of the rest.
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


def _floor_hold(trace: Trace, cal: Calibration, step: WorkStep,
                floor_s: tuple[float, float] | None, pct_mvc: float | None) -> float:
    """How long a lift floor was held in its band (see ``score_rep``)."""
    if floor_s is None:
        return 0.0
    lo, hi = step.band
    if pct_mvc is not None and cal.mvc is not None and lo <= cal.level(pct_mvc) <= hi:
        return float(floor_s[1] - floor_s[0])
    return hold_in_band(trace, WorkStep(floor_s[0], floor_s[1], step.band,
                                        step.target_hold_s, step.reach_s))


def work_average(trace: Trace, start_s: float, end_s: float) -> float:
    seg, _ = trace.window(start_s + 1.0 if end_s - start_s >= 1.5 else start_s, end_s)
    if seg.size == 0:
        return float("nan")
    return float(seg.mean() if end_s - start_s >= 1.5 else seg.max())


# the envelope this long before the cue counts for the repetition; a contraction that began
# earlier is carried over from before (its onset is not the repetition's)
PRE_CUE_S = 1.0
# a recording without cues fits the protocol's rhythm when its contractions begin within
# this of the cues (``app/alignment.py``; within a session ``matching`` finds her answer)
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


@dataclass(frozen=True)
class Answer:
    """The patient's own contraction for a repetition (``matching.answer``): its onset, its
    offset (None: still contracted at the end of the rest) and the onset of her next
    contraction (None: none before the end of the rest), where her rest ends. ``onset_s``
    None: no contraction answered the cue (the rest still ends at her next one). ``early``:
    she began in the rest before the reaction window (``matching.early_answer``)."""

    onset_s: float | None
    offset_s: float | None
    next_onset_s: float | None
    early: bool = False


# a rest shorter than this between her let-go and her next contraction is not judged for
# relaxation (there was no rest to keep)
MIN_REST_S = 0.5


def rest_window(rest: tuple[float, float], let_go_s: float,
                answer: Answer | None) -> tuple[float, float] | None:
    """The rest as the patient had it: from her own let-go (down to 37.5 % of her work
    average, ``release_span``; when she never got there, her own end of the work) to the end
    of the rest phase or the onset of her next contraction, whichever is first; its first
    second (half, when shorter than 2 s) is the let-go's tail, not the rest. Not from the
    detector's offset: a rest too tense to fall below its *off* level would leave no rest to
    judge. None: no rest left to judge."""
    mine = answer is not None and answer.onset_s is not None
    a, b = let_go_s if mine else max(rest[0], let_go_s), rest[1]
    a = min(a, b)
    if answer is not None:
        # cut at her next contraction - unless that leaves no rest at all: then what the
        # detector took for a contraction is the rest itself, too tense (a rest at twice her
        # own level crosses the *on* level), and the whole rest phase is judged
        if answer.next_onset_s is not None and answer.next_onset_s - a >= MIN_REST_S:
            b = min(b, answer.next_onset_s)
    if b - a < MIN_REST_S:
        return None
    skip = 1.0 if b - a >= 2.0 else (b - a) / 2
    return a + skip, b


def rise_time(trace: Trace, cue_s: float, onset_s: float | None, end_s: float, base: float,
              level: float) -> float | None:
    """Seconds to 75 % of the work average above rest: from the cue (the reaction to it is
    part of it, Nu-Tek), or from her own onset when she began before the cue. None: the
    level never rose above rest, or was not reached."""
    if not level > base:
        return None
    start = cue_s if onset_s is None or onset_s >= cue_s else onset_s
    seg, t0 = trace.window(start, end_s)
    up = seg >= base + 0.75 * (level - base)
    if up.size and up[0]:  # already there when timing began: still tense from before
        return None
    hit = first_time(up, t0, trace.rate_hz)
    return None if hit is None else round(max(0.0, float(hit - start)), 3)


def release_span(trace: Trace, let_go_s: float, until_s: float, base: float,
                 level: float, since_s: float | None = None) -> tuple[float, float] | None:
    """(start, end) of letting go, Nu-Tek: from ``let_go_s`` - or, when she was down already
    (a short hold), from the last time she was at 75 % of the work average before it, but
    not before ``since_s`` (her own onset: never another squeeze's fall); or, when she rose
    only after it (a flick begun late), from ``let_go_s`` to her fall after her rise - to
    37.5 % of it above rest. None: she never got there before ``until_s`` (or never rose)."""
    if not level > base:
        return None
    hi, lo = base + 0.75 * (level - base), base + 0.375 * (level - base)
    seg, t0 = trace.window(let_go_s, until_s)
    start = let_go_s
    if seg.size and seg[0] <= lo:  # already down: from the last time at 75 % before it
        frm = let_go_s - 60.0 if since_s is None else max(let_go_s - 60.0, since_s)
        before, b0 = trace.window(frm, let_go_s)
        up = np.flatnonzero(before >= hi)
        if up.size:
            start = b0 + up[-1] / trace.rate_hz
            seg, t0 = trace.window(start, until_s)
        else:  # not up yet: she rises after it, and her fall is timed after her rise
            top = np.flatnonzero(seg >= hi)
            if top.size == 0:
                return None
            seg, t0 = seg[top[0]:], t0 + top[0] / trace.rate_hz
    down = first_time(seg <= lo, t0, trace.rate_hz)
    return None if down is None else (float(start), float(max(down, start)))


def score_rep(index: int, steps: list[WorkStep], rest: tuple[float, float] | None,
              trace: Trace, cal: Calibration, activity: Activity, section: str,
              posture: str | None, lift: LiftScore | None = None,
              rest_limit_uV: float = PARAMS["rest_limit_uV"],
              answer: Answer | None = None, quick: bool = False) -> RepScore:
    """Score one repetition (one or more consecutive work steps and the rest after them)
    from the patient's own contraction (``answer``, see ``matching``): the hold, work
    average and peak are taken over the work steps moved to her onset, her rest from her
    own end of the work to her next contraction (``rest_window``). Without an answer the
    cue's own windows are judged (no contraction; or one carried over from before)."""
    cue, end = steps[0].start_s, steps[-1].end_s
    mine = answer is not None and answer.onset_s is not None
    shift_s = answer.onset_s - cue if mine else 0.0
    own = shifted(steps, shift_s)
    a, b = own[0].start_s, own[-1].end_s  # the work as the patient did it
    if shift_s and trace.window(a, b)[0].size < 2:  # the signal ends before it: as cued
        return score_rep(index, steps, rest, trace, cal, activity, section, posture, lift,
                         rest_limit_uV, None, quick)
    base = cal.baseline_mean
    work, _ = trace.window(a, b)
    peak = float(work.max()) if work.size else float("nan")
    mean = work_average(trace, a, b)
    if quick and mine:  # a flick's average is over the flick itself: its work phase (1-2 s
        # with its reach) is mostly the rest after it
        flick, _ = trace.window(answer.onset_s, b if answer.offset_s is None
                                else min(answer.offset_s, b))
        mean = float(flick.mean()) if flick.size else mean
    if not np.isfinite(mean):  # cut off within its first second: its peak
        mean = peak
    until = max(rest[1] if rest else end + NO_REST_S, b)
    contracted = mine or activity.contracted(trace, cue, end)
    onset, offset = (answer.onset_s, answer.offset_s) if mine else (
        activity.onset_offset(cue, end, until) if contracted else (None, None))
    holds = [hold_in_band(trace, s) for s in own]
    if lift is not None and mine and lift.floors_s is not None \
            and len(lift.floors_s) == len(own):
        # a lift's floors as she built them (``lift_floors``): each floor held for its own
        # plateau when the plateau's level lies in its band (a step of the envelope, whose
        # wobble about a band's edge is no letting go), else for its time in the band within
        # the plateau; not within the cue's windows moved to her onset (her floors need not
        # last as long as the cues did); a floor not found was not held
        holds = [_floor_hold(trace, cal, s, f, pct) for s, f, pct in
                 zip(own, lift.floors_s, lift.floors_pct_mvc, strict=True)]
    target = sum(s.target_hold_s for s in steps)
    # the level the latencies are timed against: the work average (Nu-Tek), a flick's peak
    first_avg = peak if quick else work_average(trace, a, own[0].end_s)
    last_avg = peak if quick else work_average(trace, own[-1].start_s, b)
    carried = not mine and onset is not None and onset < cue - PRE_CUE_S
    rise = rise_time(trace, cue, onset, max(end, b), base, first_avg) \
        if contracted and not carried else None
    # release_s as Nu-Tek times it, from the relax cue (from her last 75 % when she was down
    # before it); slow_release judges her own let-go, from her own end of the work, so a
    # late start is not said again as a slow release
    since = cue - PRE_CUE_S if onset is None else onset  # (her own squeeze's fall only)
    cued = release_span(trace, end, until, base, last_avg, since) if contracted else None
    release = None if cued is None else round(cued[1] - cued[0], 3)
    fall = cued if b == end else (
        release_span(trace, b, until, base, last_avg, since) if contracted else None)
    own_release = None if fall is None else fall[1] - fall[0]
    let_go = fall[1] if fall is not None and mine else b
    residual = rest_level = None
    span = rest_window(rest, let_go, answer) if rest is not None else None
    if span is not None:
        seg, _ = trace.window(*span)
        if seg.size:
            rest_level = float(np.median(seg))  # robust: a spike does not move it
            residual = cal.pct_mvc(rest_level)
            # activity left above her rest: a rest a little below the pre-session rest is
            # no activity (0), not "-1 % MVC" (rest_level and rest_ratio keep the level)
            residual = None if residual is None else max(0.0, float(residual))
    met = contracted and all(h > 0 for h in holds) and all(
        h >= s.target_hold_s - tolerance_s(s.target_hold_s) for h, s in zip(holds, steps,
                                                                              strict=True))
    late = contracted and not carried and (
        rise is None and onset is not None and onset - cue > LATENCY_LIMIT_S
        or rise is not None and rise > LATENCY_LIMIT_S and (onset is None or onset >= cue))
    flags = []
    if not contracted:
        flags.append(Flag.NO_CONTRACTION)
    else:
        if late:
            flags.append(Flag.LATE_ONSET)
        if mine and answer.early:
            flags.append(Flag.EARLY_ONSET)
        if not met:
            flags.append(Flag.SHORT_HOLD)
        # never let go: a contraction of hers overlaps the work and had not ended by the end
        # of the rest (an envelope on the *on* level just before the cue, with no contraction
        # over the work, is no hold she kept)
        if own_release is None and offset is None and onset is not None or \
                own_release is not None and own_release > LATENCY_LIMIT_S:
            flags.append(Flag.SLOW_RELEASE)
    if residual is not None and residual > RELAX_LIMIT_PCT:
        flags.append(Flag.INCOMPLETE_RELAXATION)
    if rest_level is not None and tense_at_rest(rest_level, cal, rest_limit_uV):
        flags.append(Flag.TENSE_REST)
    ratio = None if rest_level is None else rest_ratio(rest_level, cal)
    if carried:  # contracted from before: the onset is when 75 % of the work average was hit
        onset = None
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


# the pelvic floor must be on before the cough: its onset at least this long before the cough's
# abdominal or pressure rise (both envelopes carry the same filter delay, so 0 s is "before")
KNACK_LEAD_S = 0.0


def first_rise(trace: Trace, level: float, start_s: float, end_s: float) -> float | None:
    """The first time the envelope reaches ``level`` between two times (None: never)."""
    seg, t0 = trace.window(start_s, end_s)
    return first_time(seg >= level, t0, trace.rate_hz)


def knack_late(pelvic_onset_s: float | None, cough_rise_s: float | None) -> bool:
    """The Knack (Miller, Ashton-Miller & DeLancey 1998): the pelvic floor is on before the
    cough. Late when the cough's rise (abdominal EMG or pressure) came first, or the pelvic
    floor never came on; not judged (False) without a cough's rise to time it by."""
    if cough_rise_s is None:
        return False
    return pelvic_onset_s is None or pelvic_onset_s > cough_rise_s - KNACK_LEAD_S


def straining(pelvic_floor_quiet: bool, rise: float | None, pressure_step: float | None,
              abdominal_rose: bool) -> bool:
    """Pushing instead of squeezing (Valsalva: pressure and abdominal EMG up, pelvic-floor EMG
    flat or below rest, clinical-reference.md §5-6): the pelvic floor stayed below its *on*
    level while the pressure rose by at least its *on* step, or the abdominal channel rose."""
    pushed = (rise is not None and pressure_step is not None and rise >= pressure_step) \
        or abdominal_rose
    return bool(pelvic_floor_quiet and pushed)
