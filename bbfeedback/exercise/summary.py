"""Session summaries: totals, fatigue, resting tone, quick count, endurance, Glazer, PERFECT,
and the short sentences (Dutch and English) a therapist reads at a glance.

``summarise`` gives the common part for every protocol and, from the table ``SUMMARIES``
keyed by scoring type, the part of each kind of exercise the protocol has (its own scoring
and its sections': the daily set has quick and endurance sections in a "holds" protocol).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bbfeedback import texts as words
from bbfeedback.detect.calibration import Calibration
from bbfeedback.exercise import scoring
from bbfeedback.exercise.protocols import BASELINE, PARAMS, REST, WORK, Protocol, Step
from bbfeedback.exercise.scores import Flag, RepScore
from bbfeedback.exercise.trace_store import Trace

PERFECT_CAP = 10


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
    return max(rep.peak - cal.baseline_mean, 0.0) if rep.peak == rep.peak else 0.0


def fatigue_ratio(reps: list[RepScore], cal: Calibration) -> float | None:
    """Peak above rest of the last repetition over that of the first (1 = no decline)."""
    active = [r for r in reps if not r.has(Flag.NO_CONTRACTION)]
    if len(active) < 2 or _above(active[0], cal) <= 0:
        return None
    return round(_above(active[-1], cal) / _above(active[0], cal), 3)


def quick_count(reps: list[RepScore], cal: Calibration, fraction: float) -> int:
    """Quick contractions before fatigue: until a peak falls below ``fraction`` of the mean of
    the first three peaks (above rest), or a contraction is missing."""
    if not reps:
        return 0
    first = [_above(r, cal) for r in reps[:3] if not r.has(Flag.NO_CONTRACTION)]
    ref = float(np.mean(first)) if first else 0.0
    count = 0
    for r in reps:
        if r.has(Flag.NO_CONTRACTION) or _above(r, cal) < fraction * ref:
            break
        count += 1
    return count


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
           cal: Calibration, mdf: list[tuple[float, float]]) -> dict:
    """Per-phase Glazer metrics. Latencies and median frequency are less reliable between
    days than mean/peak amplitude (Oleksy 2021): reported, and marked so."""
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
    for name in ("phasic", "tonic"):
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


def perfect(trace: Trace, hold_reps: list[RepScore], fast_reps: list[RepScore], cal: Calibration,
            repeat_fraction: float, fast_pct: float, unit: str) -> dict:
    """PERFECT numbers from a trace: E, R, F (P only as a note / pressure estimate)."""
    E = 0.0
    R = 0
    if hold_reps and hold_reps[0].onset_s is not None:
        first = hold_reps[0]
        E = endurance_time(trace, first.onset_s, first.cue_s + 11.0)
        for r in hold_reps[:PERFECT_CAP]:
            if r.onset_s is None:
                break
            e = endurance_time(trace, r.onset_s, r.cue_s + 11.0)
            if e < E - 0.5 or _above(r, cal) < repeat_fraction * _above(first, cal):
                break
            R += 1
    F = 0
    for r in fast_reps[:PERFECT_CAP]:
        pct = r.peak_pct_mvc
        relaxed = not r.has(Flag.INCOMPLETE_RELAXATION)
        if r.has(Flag.NO_CONTRACTION) or pct is None or pct < fast_pct or not relaxed:
            break
        F += 1
    out = {"E": E, "R": R, "F": F}
    if unit == "cmH2O" and hold_reps:
        out["P"] = oxford_from_pressure(max(r.peak for r in hold_reps) - cal.baseline_mean)
        out["P_note"] = "estimated from squeeze pressure (Angelo 2017 bins, device-specific)"
    else:
        out["P"] = None
        out["P_note"] = "P is a palpation grade; EMG gives only % MVC"
    return out


def oxford_from_pressure(squeeze_cmH2O: float) -> int:
    """Modified Oxford grade from squeeze pressure above rest (Angelo 2017 bins)."""
    for grade, upper in ((0, 7.5), (1, 14.55), (2, 26.55), (3, 41.55), (4, 60.55)):
        if squeeze_cmH2O < upper:
            return grade
    return 5


def texts(reps: list[RepScore], summary: dict) -> tuple[str, str]:
    """The summary's sentences (Dutch, English): their words and which summary keys and flags
    they read are the table ``bbfeedback.texts.SENTENCES``."""
    rows = [r.to_dict() for r in reps]
    return words.summary_text(summary, rows, "nl"), words.summary_text(summary, rows, "en")


# --- the table: what each kind of exercise adds to the summary -------------------------------
def _quick(facts: SessionFacts) -> dict:
    """Quick contractions before fatigue, over the quick sections' repetitions."""
    kind = {s.section: s.scoring for s in facts.steps}
    quick = [r for r in facts.reps if kind.get(r.section) == "quick"]
    if not quick:
        return {}
    return {"quick_count": quick_count(quick, facts.cal, facts.protocol.param("fatigue_fraction"))}


def _endurance(facts: SessionFacts) -> dict:
    """How long each as-long-as-possible hold was kept."""
    until = {s.section for s in facts.steps if s.phase.until_fail}
    if not until:
        return {}
    return {"endurance_hold_s": [r.hold_s for r in facts.reps_in(until)]}


def _glazer(facts: SessionFacts) -> dict:
    by_section: dict[str, list[RepScore]] = {}
    for r in facts.reps:
        by_section.setdefault(r.section, []).append(r)
    return {"glazer": glazer(facts.trace, facts.section_spans((WORK, BASELINE)), by_section,
                             facts.cal, list(facts.mdf))}


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


def kinds(protocol: Protocol, steps: list[Step] | tuple[Step, ...]) -> list[str]:
    """The scoring types a session of ``protocol`` summarises, in table order: the protocol's,
    its sections' and, for a section with an as-long-as-possible hold, endurance."""
    have = {protocol.scoring} | {s.scoring for s in steps}
    if any(s.phase.until_fail for s in steps):
        have.add("endurance")
    return [k for k in SUMMARIES if k in have]


def summarise(facts: SessionFacts) -> dict:
    """The session summary: common totals, each kind's part, sets per day, the sentences."""
    reps, cal = list(facts.reps), facts.cal
    rest_steps = [s for s in facts.steps
                  if s.phase.kind in (REST, BASELINE) and s.index in facts.spans
                  and s.rep is None and s.section != "lead-in"]
    rests = [facts.spans[s.index] for s in rest_steps]
    out: dict = {
        "reps": len(reps),
        "reps_met": sum(r.met for r in reps),
        "fatigue_ratio": fatigue_ratio(reps, cal),
        "resting_tone": resting_tone(facts.trace, rests, cal, rest_steps, reps,
                                     facts.protocol.param("rest_limit_uV")),
    }
    for kind in kinds(facts.protocol, facts.steps):
        out.update(SUMMARIES[kind](facts))
    if facts.protocol.sets_per_day:
        out["sets_per_day"] = list(facts.protocol.sets_per_day)
    out["text_nl"], out["text_en"] = texts(reps, out)
    return out
