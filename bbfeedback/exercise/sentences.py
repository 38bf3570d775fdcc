"""The rules of the session summary's sentences: which sentences a summary says, and with
which numbers. The words are ``bbfeedback.texts`` (``SUMMARY``, ``ADVICE``): one catalogue
in Dutch and English, keyed by the same sentence keys; this module decides, the catalogue
says it. A summary is read as its JSON dict and its repetitions as ``RepScore``s (a stored
one through ``RepScore.from_dict``), so a session, a replayed recording and a stored summary
are said alike.

- ``SENTENCES``: the therapist's sentences, in reading order; each rule gives its
  template's values, or None to leave the sentence out.
- ``PATIENT``: the patient's sentences, in order of what matters most for next time:
  results (``good``) first, then at most ``PATIENT_PROBLEMS`` problems, and the first
  problem's one thing to do next time (an assessment says only ``PATIENT_ASSESSMENT``).

Adding a sentence is a rule here and a row of words in ``texts``
(``tests/test_sentences.py`` fails on a key with only one of the two).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bbfeedback import texts as words
from bbfeedback.exercise.scores import Flag, RepScore
from bbfeedback.exercise.shown import is_assessment_summary as assessment
from bbfeedback.texts import Numbers, flag_name, unit

Values = Callable[[dict, Sequence[RepScore]], dict | None]
Item = tuple[str, dict]  # a sentence key and its template's values


def _both(name: str, row: tuple[str, str]) -> dict[str, str]:
    """A word table's (nl, en) row as the values ``{name}_nl`` and ``{name}_en``: a rule
    does not know the language, its template picks the one it needs."""
    return {f"{name}_nl": row[0], f"{name}_en": row[1]}


# --- the therapist's sentences ---------------------------------------------------------------
def _with_flag(code: str) -> Values:
    """The repetitions flagged ``code``, by number (said when there is one)."""
    def values(summary: dict, reps: Sequence[RepScore]) -> dict | None:
        which = [r.index for r in reps if r.has(code)]
        return {"reps": Numbers(which, len(reps))} if which else None
    return values


def _holds(summary: dict, reps: Sequence[RepScore]) -> tuple[int, int, float | None]:
    """(hold repetitions, of them met, their one target or None): the summary's ``holds``
    (quick squeezes and as-long-as-possible holds are not holds: their own sentences say
    how they went); older summaries without it: every repetition."""
    if "holds" in summary:
        return summary["holds"], summary.get("holds_met", 0), summary.get("hold_target_s")
    targets = {r.target_hold_s for r in reps}
    return (summary.get("reps") or 0, summary.get("reps_met") or 0,
            targets.pop() if len(targets) == 1 else None)


def _incomplete(summary: dict, reps: Sequence[RepScore]) -> dict | None:
    """A session stopped early: how many of the planned repetitions were done."""
    if not summary.get("incomplete"):
        return None
    return {"reps": summary.get("reps", 0), "planned": summary.get("planned_reps", 0)}


def _held(summary: dict, reps: Sequence[RepScore]) -> dict | None:
    """Holds met of one target; never in an assessment (it measures, it sets no target)."""
    n, met, hold = _holds(summary, reps)
    return {"met": met, "n": n, "hold": hold} if n and hold and not assessment(summary) \
        else None


def _held_mixed(summary: dict, reps: Sequence[RepScore]) -> dict | None:
    """Holds met when their targets differ (no one time to say)."""
    n, met, hold = _holds(summary, reps)
    return {"met": met, "n": n} if n and not hold and not assessment(summary) else None


def _holds_shorter(summary: dict, reps: Sequence[RepScore]) -> dict | None:
    """The section whose holds got shorter (``summary.hold_fatigue``: last third against
    first third, with a falling slope)."""
    h = summary.get("hold_fatigue")
    return {"first": h["first_s"], "last": h["last_s"]} if h and h.get("shorter") else None


def _quick_skipped(summary: dict, reps: Sequence[RepScore]) -> dict | None:
    """Single weak or unreleased flicks the quick count left out without ending it, by the
    repetition they answered (the table's numbers)."""
    which = summary.get("quick_skipped")
    return {"flicks": Numbers(which)} if which else None


def _quick_skipped_between(summary: dict, reps: Sequence[RepScore]) -> dict | None:
    """The same, for flicks that answered no cue (her own pace, between the cues)."""
    n = summary.get("quick_skipped_between")
    return {"n": n} if n else None


def _flagged(key: str) -> Values:
    """No values; said when the summary's ``key`` is true (how the session calibrated)."""
    def values(summary: dict, reps: Sequence[RepScore]) -> dict | None:
        return {} if summary.get(key) else None
    return values


def _none_scored(summary: dict, reps: Sequence[RepScore]) -> dict | None:
    """No values; said when no repetition was scored (nothing else can be said then)."""
    return None if summary.get("reps") else {}


def _quick(faded: bool) -> Values:
    """The quick count, when it ended by fading (``faded``, with why: ``texts.QUICK_ENDS``)
    or by the section's end (older summaries without ``quick_faded``: by fading, as they
    said)."""
    def values(summary: dict, reps: Sequence[RepScore]) -> dict | None:
        n = summary.get("quick_count")
        if n is None or summary.get("quick_faded", True) != faded:
            return None
        why = words.QUICK_ENDS.get(summary.get("quick_ended") or "", ("", ""))
        return {"value": n, **_both("why", why)}
    return values


def _key(name: str) -> Values:
    """The summary value ``name`` as ``{value}``, when the summary has it."""
    def values(summary: dict, reps: Sequence[RepScore]) -> dict | None:
        v = summary.get(name)
        return None if v is None or v == [] else {"value": v}
    return values


FATIGUE_SAID_BELOW = 0.7  # muscle activity, last against first: a fall to below this is said


def _fatigue(summary: dict, reps: Sequence[RepScore]) -> dict | None:
    """Muscle activity that fell (``fatigue_ratio``) below ``FATIGUE_SAID_BELOW``, in %."""
    fr = summary.get("fatigue_ratio")
    return {"pct": 100 * fr} if fr is not None and fr < FATIGUE_SAID_BELOW else None


def _lift(summary: dict, reps: Sequence[RepScore]) -> dict | None:
    """The lift's distinct floors and quick releases, of how many lifts (the repetitions
    scored as a lift; older files without them: every repetition)."""
    if summary.get("floors_distinct") is None:
        return None
    n = sum(1 for r in reps if r.lift is not None) or summary.get("reps", 0)
    return {"floors": summary["floors_distinct"], "quick": summary.get("release_quick", 0),
            "n": n}


def _glazer(summary: dict, reps: Sequence[RepScore]) -> dict | None:
    """Glazer's rest before and after the exercises, in the unit of the resting tone."""
    g = summary.get("glazer") or {}
    pre, post = (g.get(k, {}).get("mean") for k in ("pre-baseline", "post-baseline"))
    if pre is None or post is None:
        return None
    return {"pre": pre, "post": post,
            "unit": unit((summary.get("resting_tone") or {}).get("unit") or "")}


def _median(values: list[float]) -> float | None:
    vals = sorted(values)
    return None if not vals else (vals[(len(vals) - 1) // 2] + vals[len(vals) // 2]) / 2


def _tense_rest(summary: dict, reps: Sequence[RepScore]) -> dict | None:
    """The repetitions flagged tense_rest, their median rest level and ratio to the rest
    before the session, and the absolute limit (tense_rest is for EMG in µV only)."""
    which = [r for r in reps if r.has(Flag.TENSE_REST)]
    if not which:
        return None
    return {"reps": Numbers((r.index for r in which), len(reps)),
            "level": _median([r.rest_level for r in which if r.rest_level is not None]),
            "ratio": _median([r.rest_ratio for r in which if r.rest_ratio is not None]),
            "limit": (summary.get("resting_tone") or {}).get("limit")}


def _check(test: Callable[[dict], bool]) -> Values:
    """The summary's ``signal_check`` as values, when ``test`` holds for it."""
    def values(summary: dict, reps: Sequence[RepScore]) -> dict | None:
        check = summary.get("signal_check") or {}
        return dict(check) if check and test(check) else None
    return values


def _disagree(check: dict) -> bool:
    """The calibration's squeezes differed widely (``squeezes_agree`` False)."""
    return check.get("squeezes_agree") is False and bool(check.get("squeezes"))


def _fourth_squeeze(check: dict) -> str:
    """What the one more squeeze, asked for when the first three disagreed, showed: the key
    of its words in ``texts.SQUEEZE_WORDS`` ("more_none" when none was asked for)."""
    if not check.get("one_more_asked"):
        return "more_none"
    return {True: "more_confirmed", False: "more_unconfirmed"}.get(
        check.get("one_more_confirmed"), "more_none")


def _squeezes(summary: dict, reps: Sequence[RepScore]) -> dict | None:
    """Calibration squeezes that disagreed: their range and the MVC taken, and whether to
    calibrate again (not when a fourth squeeze confirmed one of them: that settles it)."""
    check = summary.get("signal_check") or {}
    if not _disagree(check) or check.get("mvc") is None:
        return None
    levels = check["squeezes"]
    kind = "gentle" if summary.get("mvc_estimated") else "maximal"  # the half ones: gentle
    settled = check.get("one_more_asked") and check.get("one_more_confirmed")
    said = words.SQUEEZE_WORDS
    return {"lo": min(levels), "hi": max(levels), "mvc": check["mvc"],
            "unit": unit(check.get("unit") or ""),
            **_both("more", said[_fourth_squeeze(check)]), **_both("what", said[f"what_{kind}"]),
            **_both("mvc", said[f"mvc_{kind}"]),
            **_both("again", said["settled" if settled else "again"])}


# why a repetition is not_judged
ARTEFACT_FLAGS = ("lead_off", "spikes", "saturation", "burst", "mains", "motion",
                  "signal_gap")


def _not_judged(summary: dict, reps: Sequence[RepScore]) -> dict | None:
    """The repetitions not judged (a disturbed signal) and the disturbances found in them."""
    which = [r for r in reps if r.has(Flag.NOT_JUDGED)]
    if not which:
        return None
    causes = [c.value for r in which for c in r.flags if c in ARTEFACT_FLAGS]
    return {"reps": Numbers((r.index for r in which), len(reps)),
            "why_nl": ", ".join(dict.fromkeys(flag_name(c, "nl") for c in causes)),
            "why_en": ", ".join(dict.fromkeys(flag_name(c, "en") for c in causes))}


def _perfect(summary: dict, reps: Sequence[RepScore]) -> dict | None:
    """PERFECT's E, R and F (P is a palpation grade: the report says it)."""
    p = summary.get("perfect")
    return None if p is None else {"E": p.get("E"), "R": p.get("R"), "F": p.get("F")}


# in the order they are read; a new summary key or flag sentence is one row (and its words
# in ``texts.SUMMARY``)
SENTENCES: dict[str, Values] = {
    "weak_signal": _check(lambda c: bool(c.get("weak"))),
    "squeezes_disagree": _squeezes,
    "pressure_only": _check(lambda c: bool(c.get("pressure_only"))),
    "not_judged": _not_judged,
    "no_reps": _none_scored,
    "incomplete": _incomplete,
    "reps_met": _held,
    "reps_met_mixed": _held_mixed,
    "late_onset": _with_flag("late_onset"),
    "early_onset": _with_flag("early_onset"),
    "incomplete_relaxation": _with_flag("incomplete_relaxation"),
    "tense_rest": _tense_rest,
    "no_contraction": _with_flag("no_contraction"),
    "knack_late": _with_flag("knack_late"),
    "co_contraction": _with_flag("co_contraction"),
    "straining": _with_flag("straining"),
    "too_strong": _with_flag("too_strong"),
    "quick_count": _quick(faded=True),
    "quick_count_steady": _quick(faded=False),
    "quick_skipped": _quick_skipped,
    "quick_skipped_between": _quick_skipped_between,
    "endurance_hold_s": _key("endurance_hold_s"),
    "floors_distinct": _lift,
    "control_faded_from": _key("control_faded_from"),
    "fatigue_ratio": _fatigue,
    "hold_shorter": _holds_shorter,
    "glazer": _glazer,
    "perfect": _perfect,
    "possible_straining": _with_flag("possible_straining"),
    "mvc_from_recording": _flagged("mvc_from_recording"),
    "no_mvc": _flagged("no_mvc"),
    "mvc_estimated": _flagged("mvc_estimated"),
}


def summary_items(summary: dict, reps: Sequence[RepScore]) -> list[Item]:
    """The therapist's sentences this summary says, in reading order, with their values."""
    return [(key, values) for key, rule in SENTENCES.items()
            if (values := rule(summary, reps)) is not None]


def summary_text(summary: dict, reps: Sequence[RepScore], lang: str) -> str:
    """The summary's sentences in ``lang``: what a therapist reads at a glance."""
    return " ".join(words.format_text(words.pick(words.SUMMARY[key], lang), lang, **values)
                    for key, values in summary_items(summary, reps))


# --- the patient's sentences ------------------------------------------------------------------
@dataclass(frozen=True)
class Advice:
    """When the patient is told one thing (``texts.ADVICE``: what happened and, for a problem,
    the one thing to do next time): ``values`` as a summary sentence's; ``good``: a result,
    said before the problems and with no advice of its own."""

    values: Values
    good: bool = False


def _any_flag(*codes: str) -> Values:
    """No values (the patient hears no repetition numbers); said when any repetition has
    one of ``codes``."""
    def values(summary: dict, reps: Sequence[RepScore]) -> dict | None:
        return {} if any(r.has(c) for r in reps for c in codes) else None
    return values


def _when(test: Callable[[dict], bool]) -> Values:
    """No values; said when ``test`` holds for the summary."""
    def values(summary: dict, reps: Sequence[RepScore]) -> dict | None:
        return {} if test(summary) else None
    return values


def _p_quick(faded: bool) -> Values:
    """The quick count (a count of times, not a unit), when it ended by fading or not."""
    def values(summary: dict, reps: Sequence[RepScore]) -> dict | None:
        n = summary.get("quick_count")
        if not n or bool(summary.get("quick_faded", True)) != faded:
            return None
        return {"n": n}
    return values


def _p_held(all_met: bool) -> Values:
    """Holds met, when all were (``all_met``) or not; never in an assessment."""
    def values(summary: dict, reps: Sequence[RepScore]) -> dict | None:
        n, met, _ = _holds(summary, reps)
        if not n or assessment(summary) or (met >= n) != all_met:
            return None
        return {"met": met, "n": n}
    return values


def _p_lift(which: str) -> Values:
    """The lift: ``floors`` not always distinct, ``release`` not always in one go, ``good``
    both every time."""
    def values(summary: dict, reps: Sequence[RepScore]) -> dict | None:
        got = _lift(summary, reps)
        if got is None or not got["n"]:
            return None
        floors, quick = got["floors"] >= got["n"], got["quick"] >= got["n"]
        ok = {"floors": not floors, "release": not quick, "good": floors and quick}[which]
        return {} if ok else None
    return values


# in order of what matters most for next time: the first problem found gives the advice;
# results (``good``) are said first, then at most ``PATIENT_PROBLEMS`` problems
PATIENT: dict[str, Advice] = {
    "no_reps": Advice(_none_scored),
    "not_judged": Advice(_any_flag("not_judged")),
    "assessment": Advice(_when(assessment)),
    "straining": Advice(_any_flag("straining", "possible_straining")),
    "co_contraction": Advice(_any_flag("co_contraction")),
    "knack_late": Advice(_any_flag("knack_late")),
    "too_strong": Advice(_any_flag("too_strong")),
    "not_relaxed": Advice(_any_flag("incomplete_relaxation", "tense_rest")),
    "control_faded": Advice(_key("control_faded_from")),
    "hold_shorter": Advice(_holds_shorter),
    "weaker": Advice(_fatigue),
    "quick_not_released": Advice(_when(lambda s: s.get("quick_ended") in ("not_released",
                                                                          "held"))),
    "early": Advice(_any_flag("early_onset")),
    "late": Advice(_any_flag("late_onset")),
    "no_contraction": Advice(_any_flag("no_contraction")),
    "held_some": Advice(_p_held(False)),
    "lift_floors": Advice(_p_lift("floors")),
    "lift_release": Advice(_p_lift("release")),
    "incomplete": Advice(_when(lambda s: bool(s.get("incomplete")))),
    # results: said first, no advice of their own
    "held_all": Advice(_p_held(True), good=True),
    "quick_faded": Advice(_p_quick(True), good=True),
    "quick_steady": Advice(_p_quick(False), good=True),
    "endurance": Advice(_key("endurance_hold_s"), good=True),
    "lift_good": Advice(_p_lift("good"), good=True),
}
PATIENT_PROBLEMS = 2  # at most this many problems said: one thing to work on is enough
PATIENT_ASSESSMENT = ("no_reps", "not_judged", "assessment")  # an assessment says only these
WELL = "well"  # nothing found: "you did it well" and "keep it up" (``texts.ADVICE``)


def patient_items(summary: dict, reps: Sequence[RepScore]) -> tuple[list[Item], str]:
    """(what the patient is told: the results, then at most ``PATIENT_PROBLEMS`` problems,
    each with its values; the key whose advice is the one thing to do next time: the first
    problem's, or ``WELL``). Nothing found says ``WELL``."""
    found = [(key, values) for key, rule in PATIENT.items()
             if (values := rule.values(summary, reps)) is not None
             and (not assessment(summary) or key in PATIENT_ASSESSMENT)]
    goods = [(key, values) for key, values in found if PATIENT[key].good]
    problems = [(key, values) for key, values in found if not PATIENT[key].good]
    said = goods + problems[:PATIENT_PROBLEMS]
    return said or [(WELL, {})], problems[0][0] if problems else WELL


def patient_sentences(summary: dict, reps: Sequence[RepScore], lang: str) -> tuple[list[str], str]:
    """(what happened, the one thing to do next time) for the patient, in ``lang``."""
    said, advice = patient_items(summary, reps)
    return ([words.format_text(words.pick(words.ADVICE[key][:2], lang), lang, **values)
             for key, values in said], words.pick(words.ADVICE[advice][2:], lang))


def patient_text(summary: dict, reps: Sequence[RepScore], lang: str) -> str:
    """The patient's summary in ``lang``: what went well, at most two things that did not,
    and one thing to do next time."""
    said, advice = patient_sentences(summary, reps, lang)
    return " ".join([*said, advice])
