"""Session summaries: totals, fatigue (amplitude and hold time), resting tone, quick count,
endurance, Glazer, PERFECT, the short sentences (Dutch and English) a therapist reads at a
glance, and the patient's own sentences (u-form, no units, one thing to do next time).

``summarise`` gives the common part for every protocol and, from the table ``SUMMARIES``
keyed by scoring type, the part of each kind of exercise the protocol has (its own scoring
and its sections': the daily set has quick and endurance sections in a "holds" protocol).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from bbfeedback.detect.calibration import Calibration, squeezes_agree
from bbfeedback.detect.contractions import Contraction
from bbfeedback.exercise import matching, scoring, sentences
from bbfeedback.exercise.calibrator import SOURCES
from bbfeedback.exercise.protocols import BASELINE, PARAMS, REST, WORK, Protocol, Step
from bbfeedback.exercise.scores import RELAX_LIMIT_PCT, Flag, RepScore
from bbfeedback.exercise.shown import shown
from bbfeedback.exercise.trace_store import Trace

PERFECT_CAP = 10
# assessments measure, they do not coach: their holds are never "te kort" against the cue
# (PERFECT counts holds of the patient's own E; Glazer reports its metrics)
ASSESSMENTS = ("glazer", "perfect")


@dataclass(frozen=True)
class SessionFacts:
    """What the summaries read: the protocol's steps, when they ran, the scored repetitions."""

    protocol: Protocol
    steps: tuple[Step, ...]  # the protocol's own steps (no calibration)
    spans: dict[int, tuple[float, float]]  # step index -> (start, end) of the steps that ran
    reps: tuple[RepScore, ...]
    trace: Trace  # the scored channel
    cal: Calibration
    mdf: tuple[tuple[float, float], ...]  # (time, median frequency) of 1-s EMG epochs
    contractions: tuple[Contraction, ...] = ()  # the detector's, of the scored channel
    kinds: tuple[str, ...] = ("emg",)  # the kinds of the session's channels
    marks: tuple = ()  # the scored channel's artefact marks (``signal_quality.Mark``)

    def section_spans(self, kinds: tuple[str, ...]) -> dict[str, list[tuple[float, float]]]:
        """(start, end) of the steps of these kinds that ran, by section."""
        out: dict[str, list] = {}
        for s in self.steps:
            if s.index in self.spans and s.phase.kind in kinds:
                out.setdefault(s.section, []).append(self.spans[s.index])
        return out

    def reps_in(self, sections: set[str]) -> list[RepScore]:
        return [r for r in self.reps if r.section in sections]


def _above(rep: RepScore, cal: Calibration) -> float:
    """The repetition's peak above rest (0 with no peak: none, or not a number)."""
    if rep.peak is None or rep.peak != rep.peak:
        return 0.0
    return max(rep.peak - cal.baseline_mean, 0.0)


FATIGUE_MIN_REPS = 3  # fewer repetitions in a section: no fatigue figure


def fatigue_ratio(reps: list[RepScore], cal: Calibration) -> float | None:
    """Peak above rest of the last repetition over that of the first, within one exercise:
    the repetitions of one section with one target (1 = no decline). None with fewer than
    ``FATIGUE_MIN_REPS`` of them contracting. Surface EMG: muscle activity, not strength."""
    active = [r for r in reps if not r.has(Flag.NO_CONTRACTION)]
    if len(active) < FATIGUE_MIN_REPS or _above(active[0], cal) <= 0:
        return None
    return round(_above(active[-1], cal) / _above(active[0], cal), 3)


def control_faded_from(reps: list[RepScore], cal: Calibration, fraction: float) -> int | None:
    """Leaflet B (b2, b3): "stop when control fades". The first repetition from which two in
    a row fade: not held after earlier ones were, or muscle activity (peak above rest) below
    ``fraction`` of the best before it (the quick-contraction rule). None: control held to
    the end (or was never there: not reaching the target from the start is not fading)."""
    best, held, faded = 0.0, False, []
    for r in reps:  # fading is a decline: from holds that were met, or from the best so far
        above = _above(r, cal)
        faded.append((held and not r.met) or (best > 0 and above < fraction * best))
        best, held = max(best, above), held or r.met
    return next((reps[k].index for k in range(1, len(reps) - 1)
                 if faded[k] and faded[k + 1]), None)


def fatigue_by_section(reps: list[RepScore], cal: Calibration) -> dict[str, float | None]:
    """``fatigue_ratio`` of each section of holds (its repetitions with the first one's
    target hold): never the last rep of one exercise against the first of another. Quick
    squeezes and as-long-as-possible holds have their own measure of fatigue (the quick
    count until they fade, the times held)."""
    return {name: fatigue_ratio(g, cal) for name, g in _hold_sections(reps).items()}


def session_fatigue(by_section: dict[str, float | None]) -> float | None:
    """The session's one figure (progress table, summary sentence): the lowest section ratio
    (the exercise that tired most), None when no section has one."""
    known = [v for v in by_section.values() if v is not None]
    return min(known) if known else None


# holds got shorter: the mean hold of the last third of a section's repetitions below this
# share of the first third's (the amplitude sentence's 70 %, ``sentences._fatigue``), with a
# falling least-squares slope over the repetitions (clinical-reference.md §7, spec
# exercises.md "fatigue across repetitions (decline of peak / hold time from first to
# last)"; leaflets: stop when fatigue sets in). No published threshold: a parameter here
HOLD_SHORTER_RATIO = 0.7


def hold_fatigue(reps: list[RepScore]) -> dict | None:
    """Fatigue as hold time, beside ``fatigue_ratio``'s amplitude, within one exercise (the
    repetitions of one section with one target): the contracting repetitions (judged, with a
    hold) split in thirds (at least one each); ``first_s`` and ``last_s`` the mean hold of the
    first and last third, ``ratio`` last / first, ``slope_s_per_rep`` the least-squares slope
    of hold over the repetitions, ``shorter`` when the ratio is below ``HOLD_SHORTER_RATIO``
    and the slope falls. None with fewer than ``FATIGUE_MIN_REPS`` of them or no first hold.
    Holds falling from 6 to 2 s: ratio 0.33, "werden korter"."""
    held = [float(r.hold_s) for r in reps if r.hold_s is not None
            and not r.has(Flag.NO_CONTRACTION)]
    if len(held) < FATIGUE_MIN_REPS:
        return None
    n = max(1, len(held) // 3)
    first, last = float(np.mean(held[:n])), float(np.mean(held[-n:]))
    if first <= 0:
        return None
    slope = float(np.polyfit(np.arange(len(held)), held, 1)[0])
    ratio = last / first
    return {"first_s": round(first, 2), "last_s": round(last, 2), "ratio": round(ratio, 3),
            "slope_s_per_rep": round(slope, 3),
            "shorter": bool(ratio < HOLD_SHORTER_RATIO and slope < 0)}


def hold_fatigue_by_section(reps: list[RepScore]) -> dict[str, dict | None]:
    """``hold_fatigue`` of each section of holds, grouped as ``fatigue_by_section``."""
    return {name: hold_fatigue(g) for name, g in _hold_sections(reps).items()}


def _hold_sections(reps: list[RepScore]) -> dict[str, list[RepScore]]:
    """The repetitions of each section of holds (target over ``QUICK_HOLD_S``) with the
    first one's target."""
    groups: dict[str, list[RepScore]] = {}
    for r in reps:
        if r.target_hold_s > scoring.QUICK_HOLD_S:
            groups.setdefault(r.section, []).append(r)
    return {name: [r for r in g if r.target_hold_s == g[0].target_hold_s]
            for name, g in groups.items()}


def session_hold_fatigue(by_section: dict[str, dict | None]) -> dict | None:
    """The section whose holds got shortest (lowest ratio), with its name; None: none has a
    figure."""
    known = [(name, v) for name, v in by_section.items() if v is not None]
    if not known:
        return None
    name, v = min(known, key=lambda item: item[1]["ratio"])
    return {"section": name, **v}


QUICK_EARLY_S = 1.5  # a contraction begun this long before the first quick cue is one of them


QUICK_MAX_S = 2.0  # a contraction longer than this is held, not a quick squeeze let go
QUICK_FADE_RUN = 2  # this many fading flicks in a row end the count (one is a lapse)
QUICK_LAST_RELEASE_S = 1.0  # the last flick is looked at this long after it for its release


@dataclass(frozen=True)
class QuickCount:
    """The quick count (``quick_count``): ``count`` her strong, released flicks before they
    faded; ``ended`` why the count ended ("weaker", "not_released"), None when the section
    ended first; ``skipped`` the single lapses not counted (1-based, in her flicks) that did
    not end it; ``flicks`` how many of her contractions were looked at."""

    count: int
    ended: str | None
    skipped: tuple[int, ...] = ()
    flicks: int = 0
    skipped_onsets_s: tuple[float, ...] = field(default=(), compare=False)  # their onsets


def quick_count(contractions: list[Contraction], span: tuple[float, float], trace: Trace,
                cal: Calibration, fraction: float) -> QuickCount:
    """Quick contractions at the patient's own pace, counted until they fade.

    Sources: leaflet A exercise 3 ("tel hoe vaak", at least 5, until fatigue: the count before
    fatigue is the result) and the PERFECT scheme's F (Laycock & Jerwood 2001, Physiotherapy
    87:631: the number of fast contractions, each relaxed fully, before the muscle fatigues);
    both leaflets: stop when fatigue sets in, when control of contract and relax gets worse.

    Her flicks are the detector's contractions with an onset in ``span`` (the quick section,
    from ``QUICK_EARLY_S`` before its first cue), in order; the cues only pace, so there is no
    ceiling (16 strong flicks then fading count 16 when the protocol cues 12) and no cue
    window. A flick *fades* when

    - its peak above rest is below ``fraction`` (``fatigue_fraction``) of the best so far
      (weaker), or
    - its release is lost: the lowest level between it and the next flick (the last one: the
      ``QUICK_LAST_RELEASE_S`` after it) stays above ``RELAX_LIMIT_PCT`` % MVC, or it was held
      longer than ``QUICK_MAX_S`` (two squeezes run together, not let go).

    ``QUICK_FADE_RUN`` (2) weaker flicks in a row, or 2 with their release lost in a row, end
    the count: the count is the strong, released flicks before them. A single weak or
    unreleased flick is a lapse, not fatigue: it is not counted (``skipped``) and the count
    goes on (so 11 strong of 12 count 11). A flick both weak and unreleased counts towards
    both runs. The two-in-a-row rule is this project's (the sources give no number; leaflet
    B's "stop when control fades" uses it too: ``control_faded_from``)."""
    a, b = span
    mine = sorted((c for c in contractions if a - QUICK_EARLY_S <= c.onset_s < b),
                  key=lambda c: c.onset_s)
    count, best, weak_run, loose_run, skipped = 0, 0.0, 0, 0, []
    for k, c in enumerate(mine):
        height = max(c.peak - cal.baseline_mean, 0.0)
        weak = height <= 0 or height < fraction * best
        until = mine[k + 1].onset_s if k + 1 < len(mine) else c.offset_s + QUICK_LAST_RELEASE_S
        loose = c.offset_s - c.onset_s > QUICK_MAX_S or not _released(trace, c.offset_s,
                                                                       until, cal)
        best = max(best, height)
        weak_run = weak_run + 1 if weak else 0
        loose_run = loose_run + 1 if loose else 0
        if weak_run >= QUICK_FADE_RUN or loose_run >= QUICK_FADE_RUN:
            run_start = k + 2 - QUICK_FADE_RUN  # 1-based: the first flick of the fading run
            kept = tuple(n for n in skipped if n < run_start)
            return QuickCount(count, "weaker" if weak_run >= QUICK_FADE_RUN else "not_released",
                              kept, len(mine), tuple(mine[n - 1].onset_s for n in kept))
        if weak or loose:
            skipped.append(k + 1)
        else:
            count += 1
    return QuickCount(count, None, tuple(skipped), len(mine),
                      tuple(mine[n - 1].onset_s for n in skipped))


def _released(trace: Trace, a: float, b: float, cal: Calibration) -> bool:
    """Back down between two contractions: the lowest level from one's offset to the next
    one's onset within ``RELAX_LIMIT_PCT`` % MVC of rest (no MVC: the detector's offset)."""
    seg, _ = trace.window(a, max(b, a + 1.0 / trace.rate_hz))
    if cal.mvc is None or seg.size == 0:
        return True
    return float(cal.pct_mvc(float(seg.min()))) <= RELAX_LIMIT_PCT


def resting_tone(trace: Trace, rests: list[tuple[float, float]], cal: Calibration,
                 steps: list[Step] | None = None, reps: list[RepScore] | None = None,
                 limit_uV: float = PARAMS["rest_limit_uV"]) -> dict:
    """The rest phases (each without its first second): ``mean``, ``pct_mvc``, ``cv_pct`` of
    all of them (the progress table's number), and, not pooled, ``by_posture`` and
    ``by_phase`` (``steps``: the rest steps, in the order of ``rests``), each with its median
    ``level``, ``ratio`` to the pre-session rest (``baseline``) and whether it was ``tense``
    (``scoring.tense_at_rest``: own rest + 3 SD and x 1.5, or above ``limit`` µV, EMG only);
    ``tense_rests``: the repetitions flagged tense_rest."""
    kept = [(v, k) for k, (a, b) in enumerate(rests) if b - a > 1.5
            and (v := trace.window(a + 1.0, b)[0]).size]
    if not kept:
        return {"mean": None, "pct_mvc": None, "cv_pct": None}
    allv = np.concatenate([v for v, _ in kept])
    mean = float(allv.mean())
    out = {"mean": round(mean, 3), "pct_mvc": _pct(cal, mean),
           "cv_pct": round(float(100 * allv.std() / max(mean, 1e-9)), 1), "unit": cal.unit,
           "baseline": round(cal.baseline_mean, 3),
           "limit": limit_uV if cal.unit == "uV" else None,
           "tense_rests": sum(r.has(Flag.TENSE_REST) for r in reps or [])}
    if steps is None:
        return out
    groups: dict[tuple, list[np.ndarray]] = {}
    for v, k in kept:
        s = steps[k]
        groups.setdefault(("posture", s.posture), []).append(v)
        groups.setdefault(("phase", s.section, s.phase.cue, s.phase.kind, s.posture), []).append(v)
    out["by_posture"], out["by_phase"] = [], []
    for key, vals in groups.items():
        row = ({"posture": key[1]} if key[0] == "posture" else
               {"section": key[1], "phase": key[2], "kind": key[3], "posture": key[4]})
        out["by_" + key[0]].append({**row, **_rest_group(vals, cal, limit_uV)})
    return out


def _rest_group(vals: list[np.ndarray], cal: Calibration, limit_uV: float) -> dict:
    """One posture's or phase's rests: how many, median level, ratio, % MVC, CV, tense."""
    allv = np.concatenate(vals)
    level = float(np.median(allv))
    ratio = scoring.rest_ratio(level, cal)
    return {"rests": len(vals), "level": round(level, 3),
            "ratio": None if ratio is None else round(ratio, 2), "pct_mvc": _pct(cal, level),
            "cv_pct": round(float(100 * allv.std() / max(float(allv.mean()), 1e-9)), 1),
            "tense": scoring.tense_at_rest(level, cal, limit_uV)}


def _pct(cal: Calibration, v: float) -> float | None:
    return None if cal.mvc is None else round(float(cal.pct_mvc(v)), 2)


def _mdf_slope(mdf: list[tuple[float, float]], a: float, b: float) -> tuple[float | None, ...]:
    pts = [(t, f) for t, f in mdf if a <= t <= b]
    if len(pts) < 3:
        return None, None, None
    t, f = np.array(pts).T
    slope, intercept = np.polyfit(t - t[0], f, 1)
    return (round(float(np.median(f)), 1), round(float(slope), 3),
            round(float(100 * slope / intercept), 3) if intercept else None)


def glazer(trace: Trace, sections: dict[str, list], reps_by_section: dict[str, list[RepScore]],
           cal: Calibration, mdf: list[tuple[float, float]],
           flicks: list[dict] | None = None) -> dict:
    """Per-phase Glazer metrics. Latencies and median frequency are less reliable between
    days than mean/peak amplitude (Oleksy 2021): reported, and marked so. ``flicks``: the
    phasic flicks (``glazer_flicks``) when already measured."""
    out: dict = {"reliability_note": "latencies and median frequency: poor between-day "
                                     "reliability; compare mean/peak amplitudes first"}
    for name in ("pre-baseline", "post-baseline"):
        spans = sections.get(name, [])
        if spans:
            a, b = spans[0]
            seg, _ = trace.window(a + 1.0, b)
            if seg.size < 2:  # a session stopped before this phase: nothing to say
                continue
            mean = float(seg.mean())
            out[name] = {"mean": round(mean, 3),
                         "cv_pct": round(float(100 * seg.std() / max(mean, 1e-9)), 1),
                         "median_frequency_hz": _mdf_slope(mdf, a, b)[0]}
    if flicks is None:
        flicks = glazer_flicks(trace, reps_by_section.get("phasic", []), cal)
    if flicks:
        out["phasic"] = {("peak_mean" if k == "peak" else k): _avg(f[k] for f in flicks)
                         for k in flicks[0] if k != "index"}
    for name in ("tonic",):
        reps = reps_by_section.get(name, [])
        if reps:
            out[name] = {
                "peak_mean": _avg(r.peak for r in reps),
                "mean": _avg(r.mean for r in reps),
                "onset_latency_s": _avg(r.rise_s for r in reps),
                "release_latency_s": _avg(r.release_s for r in reps),
            }
            if name == "tonic":
                spans = sections.get(name, [])
                cvs = []
                for a, b in spans:
                    seg, _ = trace.window(a + 1.0, b)
                    if seg.size >= 2:
                        cvs.append(100 * seg.std() / max(seg.mean(), 1e-9))
                out[name]["cv_pct"] = _avg(cvs)
                out[name]["median_frequency_hz"] = _avg(
                    _mdf_slope(mdf, a, b)[0] for a, b in spans)
    spans = sections.get("endurance", [])
    if spans:
        a, b = spans[0]
        seg, _ = trace.window(a, b)
        first, _ = trace.window(a, a + 10)
        last, _ = trace.window(b - 10, b)
        med, slope, slope_pct = _mdf_slope(mdf, a, b)
        out["endurance"] = {
            "mean": round(float(seg.mean()), 3) if seg.size >= 2 else None,
            "cv_pct": round(float(100 * seg.std() / max(seg.mean(), 1e-9)), 1)
            if seg.size >= 2 else None,
            "ratio_last_first_10s": round(float(last.mean() / first.mean()), 3)
            if first.size and last.size and first.mean() > 0 else None,
            "median_frequency_hz": med, "mdf_slope_hz_per_s": slope, "mdf_slope_pct_per_s":
            slope_pct,
        }
    if "pre-baseline" in out and "post-baseline" in out and out["pre-baseline"]["mean"] > 0:
        out["post_vs_pre"] = round(out["post-baseline"]["mean"] / out["pre-baseline"]["mean"], 3)
    return out


FLICK_WINDOW_S = 3.0  # a flick is looked for from its cue this long (next cue: >= 4 s on)


def flick(trace: Trace, cue_s: float, cal: Calibration) -> dict | None:
    """One Glazer flick, scored by its peak (a 0.3 s flick is over before the second second
    of its 2 s window, where a work average would start): ``peak`` and ``peak_pct_mvc``;
    ``onset_latency_s`` cue -> 75 % of the peak above rest (the device rule with the peak as
    work average: never shorter than the reaction); ``release_latency_s`` peak -> back to
    37.5 % of it ("time after peak", from the peak, not the relax cue); ``mean`` over the
    flick (from that onset to that release). None: no rise above rest."""
    seg, t0 = trace.window(cue_s, cue_s + FLICK_WINDOW_S)
    base = cal.baseline_mean
    if seg.size == 0 or not float(seg.max()) > base:
        return None
    k = int(np.argmax(seg))
    height = float(seg[k]) - base
    up = np.flatnonzero(seg[:k + 1] >= base + 0.75 * height)
    down = np.flatnonzero(seg[k:] <= base + 0.375 * height)
    rate = trace.rate_hz
    end = k + int(down[0]) if down.size else seg.size
    return {"peak": round(float(seg[k]), 3), "peak_pct_mvc": _pct(cal, float(seg[k])),
            "mean": round(float(seg[int(up[0]):end].mean()), 3),
            "onset_latency_s": round(float(t0 + up[0] / rate - cue_s), 3),
            "release_latency_s": round(float(down[0] / rate), 3) if down.size else None}


def glazer_flicks(trace: Trace, reps: list[RepScore], cal: Calibration) -> list[dict]:
    """Each Glazer flick by the flick rule (``flick``), with its repetition's ``index``: the
    block's averages and the per-repetition table read these same numbers (the table
    showed the work-average rule's 0,00 s where the block said 0,38 s)."""
    return [{"index": r.index, **f} for r in reps  # (a flick she did not make has no times)
            if not r.has(Flag.NO_CONTRACTION) and not r.has(Flag.NOT_JUDGED)
            and (f := flick(trace, r.cue_s, cal)) is not None]


def _avg(values) -> float | None:
    vals = [v for v in values if v is not None and v == v]
    return round(float(np.mean(vals)), 3) if vals else None


def endurance_time(trace: Trace, onset_s: float, end_s: float, cap_s: float = 10.0) -> float:
    """PERFECT E: from onset until the level falls below 50 % of the hold's initial peak."""
    seg, t0 = trace.window(onset_s, min(end_s, onset_s + cap_s + 1))
    if seg.size == 0:
        return 0.0
    n1 = max(1, int(round(1.0 * trace.rate_hz)))
    peak = float(seg[:n1].max())
    below = np.flatnonzero(seg[n1:] < 0.5 * peak)
    t = (n1 + below[0]) / trace.rate_hz if below.size else seg.size / trace.rate_hz
    return round(float(min(t, cap_s)), 2)


# a hold counts for R when it lasts at least E minus this: the 50 %-drop time is read to the
# envelope's 0.01 s, and a hold begun by a reaction time later than the first is the same hold
PERFECT_E_TOLERANCE_S = 0.5


def perfect(trace: Trace, hold_reps: list[RepScore], fast_reps: list[RepScore], cal: Calibration,
            repeat_fraction: float, fast_pct: float, unit: str) -> dict:
    """PERFECT numbers from a trace (Laycock & Jerwood 2001, Physiotherapy 87:631, as taught:
    clinical-reference.md §2): E, R, F (P only as a note / pressure estimate).

    - E: ``endurance_time`` of her first hold with a contraction (seconds until the level
      falls below half the hold's initial peak, at most 10).
    - R: repetitions of *her own* E-long hold, not of the cued 10 s: a hold counts when its
      own endurance time reaches E − ``PERFECT_E_TOLERANCE_S`` with a peak above rest of at
      least ``repeat_fraction`` of the first's, of at most 10 holds ("number of such holds
      (max 10)"); one late or missed hold does not end the count. ``R_consecutive``: those
      before the first that does not (assessments.md's "consecutive" reading).
    - F: the 1-s contractions with full relaxation between that reach ``fast_pct`` % MVC, of
      at most 10, counted as R is; ``F_consecutive`` the stricter reading.
    - ``holds``: each hold's ``index``, ``e_s`` (its endurance time) and whether it
      ``counted`` for R: what the per-repetition table shows for an assessment (it
      measures; it does not say "te kort" against the cue)."""
    E = 0.0
    first = next((r for r in hold_reps[:PERFECT_CAP] if r.onset_s is not None), None)
    if first is not None:
        E = endurance_time(trace, first.onset_s, first.onset_s + 11.0)
    holds = []
    for r in hold_reps[:PERFECT_CAP]:
        e = None if r.onset_s is None else endurance_time(trace, r.onset_s, r.onset_s + 11.0)
        long_enough = first is not None and e is not None and e >= E - PERFECT_E_TOLERANCE_S
        strong = first is not None and _above(r, cal) >= repeat_fraction * _above(first, cal)
        hold = {"index": r.index, "e_s": e, "counted": bool(long_enough and strong)}
        if e is not None and not hold["counted"]:  # why, for the table's remarks
            hold["why"] = "shorter_than_e" if not long_enough else "weaker_than_first"
        holds.append(hold)
    kept = [h["counted"] for h in holds]
    R = sum(kept)
    R_consecutive = kept.index(False) if False in kept else len(kept)
    fast = [not r.has(Flag.NO_CONTRACTION) and r.peak_pct_mvc is not None
            and r.peak_pct_mvc >= fast_pct and not r.has(Flag.INCOMPLETE_RELAXATION)
            for r in fast_reps[:PERFECT_CAP]]
    F = sum(fast)
    F_consecutive = fast.index(False) if False in fast else len(fast)
    out = {"E": E, "R": R, "R_consecutive": R_consecutive, "F": F,
           "F_consecutive": F_consecutive, "holds": holds}
    peaks = [r.peak for r in hold_reps if r.peak is not None and r.peak == r.peak]
    if unit == "cmH2O" and peaks:
        contracted = any(not r.has(Flag.NO_CONTRACTION) for r in hold_reps)
        out["P"] = oxford_from_pressure(max(peaks) - cal.baseline_mean, contracted)
        out["P_note"] = "estimated from squeeze pressure (Angelo 2017 bins, device-specific)"
    else:
        out["P"] = None
        out["P_note"] = "P is a palpation grade; EMG gives only % MVC"
    return out


def oxford_from_pressure(squeeze_cmH2O: float, contracted: bool = True) -> int:
    """Modified Oxford grade from squeeze pressure above rest (Angelo 2017 bins: 7.5-14.5
    very weak = 1, 14.6-26.5 weak = 2, 26.6-41.5 moderate = 3, 41.6-60.5 good = 4, above 60.6
    strong = 5). Angelo's scale has five grades and no bin below 7.5 cmH2O; grade 0 is "no
    contraction", so a detected squeeze below 7.5 is 1 (a flicker), and 0 only when the
    detector found no contraction."""
    if squeeze_cmH2O < 7.5:
        return 1 if contracted else 0
    for grade, upper in ((1, 14.55), (2, 26.55), (3, 41.55), (4, 60.55)):
        if squeeze_cmH2O < upper:
            return grade
    return 5


def texts(reps: list[RepScore], summary: dict) -> tuple[str, str]:
    """The therapist's summary sentences (Dutch, English), numbers included: which summary
    keys and flags they read are the rules ``exercise.sentences.SENTENCES``, their words
    ``bbfeedback.texts.SUMMARY``."""
    return (sentences.summary_text(summary, reps, "nl"),
            sentences.summary_text(summary, reps, "en"))


def patient_texts(reps: list[RepScore], summary: dict) -> tuple[str, str]:
    """The patient's sentences (Dutch, English): full sentences in the u-form, what went
    well and at most two things that did not, then one thing to do next time; no µV, MVC,
    × or numbers with units (those stay in the therapist's table). The rules
    ``exercise.sentences.PATIENT``, their words ``bbfeedback.texts.ADVICE``."""
    return (sentences.patient_text(summary, reps, "nl"),
            sentences.patient_text(summary, reps, "en"))


# --- the table: what each kind of exercise adds to the summary -------------------------------
def _quick(facts: SessionFacts) -> dict:
    """Quick contractions before fatigue, at the patient's own pace, over the quick section
    (the first, when a protocol has more than one)."""
    quick = {s.section for s in facts.steps if s.scoring == "quick"}
    spans = [span for name, spans in facts.section_spans((WORK, REST)).items()
             if name in quick for span in spans]
    if not spans:
        return {}
    span = (min(a for a, _ in spans), max(b for _, b in spans))
    got = quick_count(list(facts.contractions), span, facts.trace, facts.cal,
                      facts.protocol.param("fatigue_fraction"))
    # a skipped flick is named by the repetition it answered (the table's numbers); one that
    # answered no cue (her own pace, between the cues) is counted apart
    reps = [_answered(facts.reps_in(quick), t) for t in got.skipped_onsets_s]
    return {"quick_count": got.count, "quick_faded": got.ended is not None,
            "quick_ended": got.ended, "quick_skipped": [r for r in reps if r is not None],
            "quick_skipped_between": sum(r is None for r in reps),
            "quick_reps": len(facts.reps_in(quick))}


def _answered(reps: list[RepScore], onset_s: float) -> int | None:
    """The repetition a flick answered: the one that took it (its onset), else the one whose
    cue is nearest within the quick reaction window (``matching``); None: between cues."""
    for r in reps:
        if r.onset_s is not None and abs(r.onset_s - onset_s) < 1e-3:
            return r.index
    near = [r for r in reps
            if r.cue_s - matching.EARLY_S / 2 <= onset_s <= r.cue_s + matching.LATE_S]
    return min(near, key=lambda r: abs(onset_s - r.cue_s)).index if near else None


def _endurance(facts: SessionFacts) -> dict:
    """How long each as-long-as-possible hold was kept (the score: leaflet A exercise 2 has
    no target), and its trend: the last hold minus the first, in s (None: one hold)."""
    until = {s.section for s in facts.steps if s.phase.until_fail}
    if not until:
        return {}
    held = [r.hold_s for r in facts.reps_in(until) if r.hold_s is not None]
    return {"endurance_hold_s": held,
            "endurance_trend_s": round(held[-1] - held[0], 2) if len(held) > 1 else None}


def _glazer(facts: SessionFacts) -> dict:
    by_section: dict[str, list[RepScore]] = {}
    for r in facts.reps:
        by_section.setdefault(r.section, []).append(r)
    flicks = glazer_flicks(facts.trace, by_section.get("phasic", []), facts.cal)
    return {"glazer": glazer(facts.trace, facts.section_spans((WORK, BASELINE)), by_section,
                             facts.cal, list(facts.mdf), flicks),
            "glazer_flicks": flicks}


def _perfect(facts: SessionFacts) -> dict:
    p, cal = facts.protocol, facts.cal
    return {"perfect": perfect(facts.trace, facts.reps_in({"endurance-repetitions"}),
                               facts.reps_in({"fast"}), cal, p.param("repeat_peak_fraction"),
                               p.param("fast_peak_pct_mvc"), cal.unit)}


def _lift(facts: SessionFacts) -> dict:
    lifts = [r.lift for r in facts.reps if r.lift is not None]
    return {"floors_distinct": sum(lf.floors_distinct for lf in lifts),
            "release_quick": sum(lf.release_quick for lf in lifts)}


def _nothing(facts: SessionFacts) -> dict:
    return {}


# in the order their keys appear in the summary
SUMMARIES: dict[str, Callable[[SessionFacts], dict]] = {
    "quick": _quick,
    "endurance": _endurance,
    "glazer": _glazer,
    "perfect": _perfect,
    "lift": _lift,
    "holds": _nothing,
    "awareness": _nothing,  # too_strong is a flag of each repetition
}


# a maximal squeeze less than this many times the rest level hardly rises above the rest and
# the probe's noise: % MVC targets then mean little. Healthy women: rest about 2-7 µV, a
# maximal squeeze tens of µV (Oleksy 2020: 6.3 vs 37-50 µV, ratio 6-8; Kasper-Jędrzejewska
# 2025: rest about 22 % of MVC, ratio 4.5); below 3 the therapist is told to check the probe
# or assess strength by palpation (clinical-reference §1, §4)
WEAK_RATIO = 3.0


def signal_check(facts: SessionFacts) -> dict:
    """The numbers every score rests on, for the therapist: rest and MVC in the device's unit,
    their ratio (EMG) and whether it is too low (``WEAK_RATIO``), each calibration squeeze's
    level and whether they agree, whether one more squeeze was asked for (the first three
    disagreed) and whether it confirmed one of them, a pressure-only session (which cannot
    tell a push from a squeeze), and the repetitions not judged for an artefact."""
    cal = facts.cal
    emg = cal.unit == "uV"
    ratio = (cal.mvc / cal.baseline_mean if emg and cal.mvc is not None
             and cal.baseline_mean > 0 else None)
    squeezes = list(cal.squeezes) if cal.squeezes else None
    return {
        "unit": cal.unit, "rest": round(cal.baseline_mean, 3),
        "rest_sd": round(cal.baseline_sd, 3),
        "mvc": None if cal.mvc is None else round(cal.mvc, 3),
        "ratio": None if ratio is None else round(ratio, 2),
        "weak": bool(ratio is not None and ratio < WEAK_RATIO),
        "calibration": cal.source,
        "squeezes": squeezes,
        "squeezes_agree": None if squeezes is None else squeezes_agree(squeezes),
        "one_more_asked": cal.one_more is not None,
        "one_more_confirmed": cal.one_more,
        "pressure_only": "emg" not in facts.kinds,
        "marks": [{"kind": m.kind.value, "start_s": round(m.start_s, 3),
                   "end_s": round(m.end_s, 3)} for m in facts.marks],
    }


def kinds(protocol: Protocol, steps: list[Step] | tuple[Step, ...]) -> list[str]:
    """The scoring types a session of ``protocol`` summarises, in table order: the protocol's,
    its sections' and, for a section with an as-long-as-possible hold, endurance."""
    have = {protocol.scoring} | {s.scoring for s in steps}
    if any(s.phase.until_fail for s in steps):
        have.add("endurance")
    return [k for k in SUMMARIES if k in have]


def summarise(facts: SessionFacts) -> dict:
    """The session summary: common totals, each kind's part, sets per day, the sentences."""
    # a repetition cut off by Stop is shown but not counted (flag ``stopped``), nor is one on
    # an artefact (``not_judged``): it was done, so the session is not incomplete for it
    done = [r for r in facts.reps if not r.has(Flag.STOPPED)]
    facts = replace(facts, reps=tuple(r for r in done if r.counted))
    reps, cal = list(facts.reps), facts.cal
    rest_steps = [s for s in facts.steps
                  if s.phase.kind in (REST, BASELINE) and s.index in facts.spans
                  and s.rep is None and s.section != "lead-in"]
    rests = [facts.spans[s.index] for s in rest_steps]
    fatigue = fatigue_by_section(reps, cal)
    hold_by_section = hold_fatigue_by_section(reps)
    holds = [r for r in reps if r.target_hold_s > scoring.QUICK_HOLD_S]
    targets = {r.target_hold_s for r in holds}
    planned = len({(s.section, s.rep) for s in facts.steps if s.rep is not None})
    trace = facts.trace
    ended_s = trace.t0_s + trace.values.size / trace.rate_hz
    last_work = [s for s in facts.steps if s.phase.kind == WORK][-1:]
    cut = bool(last_work) and bool(last_work[0].index not in facts.spans
                                   or facts.spans[last_work[0].index][1] > ended_s + 1.0)
    out: dict = {
        "reps": len(reps),
        "reps_met": sum(r.met for r in reps),
        "planned_reps": planned,
        # stopped before its last work was done: kept, but left out of progress
        "incomplete": len(done) < planned or cut,
        "holds": len(holds),  # not the quick squeezes, not as-long-as-possible holds
        "holds_met": sum(r.met for r in holds),
        "hold_target_s": targets.pop() if len(targets) == 1 else None,
        "fatigue_ratio": session_fatigue(fatigue),
        "fatigue_by_section": fatigue,
        "hold_fatigue": session_hold_fatigue(hold_by_section),
        "hold_fatigue_by_section": hold_by_section,
        "resting_tone": resting_tone(facts.trace, rests, cal, rest_steps, reps,
                                     facts.protocol.param("rest_limit_uV")),
    }
    if facts.protocol.scoring in ASSESSMENTS:  # measured, not coached: no "te kort"
        out["assessment"] = True
    for kind in kinds(facts.protocol, facts.steps):
        out.update(SUMMARIES[kind](facts))
    if out.get("assessment"):  # met as the tables show it: PERFECT's holds counted for R
        # (her own E), Glazer's holds made; not the cued 10 s (``texts.shown_rep``)
        rows = [shown(r, out) for r in reps]
        out["reps_met"] = sum(r.met for r in rows)
        out["holds_met"] = sum(r.met for r, h in zip(rows, reps, strict=True)
                               if h.target_hold_s > scoring.QUICK_HOLD_S)
    if facts.protocol.param("stop_when_fading"):
        out["control_faded_from"] = control_faded_from(
            reps, cal, facts.protocol.param("fatigue_fraction"))
    if facts.protocol.sets_per_day:
        out["sets_per_day"] = list(facts.protocol.sets_per_day)
    if cal.mvc is None:  # calibration "none" (or "previous" without one): µV only
        out["no_mvc"] = True
    elif cal.source == SOURCES["gentle"]:
        out["mvc_estimated"] = True
    elif cal.source == "estimated":
        out["mvc_from_recording"] = True
    out["signal_check"] = signal_check(facts)
    out["text_nl"], out["text_en"] = texts(done, out)
    out["patient_text_nl"], out["patient_text_en"] = patient_texts(done, out)
    return out
