"""A repetition as the tables show it (command line, report, window, the patient's verdict).

An assessment measures, it does not coach: its holds are never "too short" against the cue,
a Glazer flick shows the flick rule's latencies, and a PERFECT hold shows the patient's own
endurance time and whether it counted for R. That is a clinical rule, so it is decided here,
in the exercise layer; ``bbfeedback.texts`` only puts the row into words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from bbfeedback.exercise.scores import Flag, RepScore
from bbfeedback.texts import QUICK_HOLD_S  # = scoring.QUICK_HOLD_S (tested); no numpy here

# a summary of these kinds is an assessment (``exercise.summary.ASSESSMENTS``)
ASSESSMENT_KEYS = ("glazer", "perfect")
NOT_JUDGED = {Flag.STOPPED.value, Flag.NOT_JUDGED.value}


@dataclass(frozen=True)
class ShownRep:
    """One row of a score table. ``flags`` are codes: a repetition's ``Flag`` values, and in
    a PERFECT assessment why a hold did not count for R (``shorter_than_e``,
    ``weaker_than_first``: words in ``texts.FLAGS``)."""

    index: int
    cue_s: float
    hold_s: float | None
    target_hold_s: float
    met: bool
    rise_s: float | None
    release_s: float | None
    peak_pct_mvc: float | None
    rest_residual_pct: float | None
    flags: tuple[str, ...]
    section: str

    @property
    def judged(self) -> bool:
        """Not cut off by Stop, not on an artefact: its "met" means something."""
        return not NOT_JUDGED & set(self.flags)


# a repetition held to target but done with one of these is not "well done" for the patient:
# letting go fully is half of the exercise (leaflet B's "in één keer helemaal loslaten";
# Glazer's post-contraction rest), and straining instead of lifting is the technique that can
# promote incontinence (Bump et al. 1991, AJOG 165:322; clinical-reference §5, §6)
NOT_LET_GO = (Flag.INCOMPLETE_RELAXATION, Flag.TENSE_REST)
WRONG_WAY = (Flag.STRAINING, Flag.POSSIBLE_STRAINING, Flag.CO_CONTRACTION, Flag.KNACK_LATE,
             Flag.TOO_STRONG)


def patient_verdict(rep: RepScore) -> str | None:
    """The patient's word on one repetition of an exercise (not an assessment): "praise"
    when it met its target the right way, "let_go" when she did not let go after it,
    "try_again" otherwise; None for one stopped or not judged (not hers to make)."""
    if not rep.counted:
        return None
    if any(rep.has(f) for f in NOT_LET_GO):
        return "let_go"
    if rep.met and not any(rep.has(f) for f in WRONG_WAY):
        return "praise"
    return "try_again"


def is_assessment_summary(summary: Mapping[str, Any] | None) -> bool:
    """Is this the summary of an assessment (PERFECT, Glazer)?"""
    s = summary or {}
    return bool(s.get("assessment")) or any(k in s for k in ASSESSMENT_KEYS)


def shown(rep: RepScore, summary: Mapping[str, Any] | None = None,
          is_assessment: bool = False) -> ShownRep:
    """``rep`` as the tables show it: in an assessment (``is_assessment``, or the summary
    says so) without ``short_hold``; a Glazer flick with its rise and release by the flick
    rule of its block (``glazer_flicks``); a PERFECT hold with its own endurance time held,
    the patient's E as target and met when it counted for R (``perfect.holds``); any other
    hold of an assessment met when she made it (a contraction answered the cue: an assessment
    measures the hold, it sets no target to reach)."""
    row = ShownRep(rep.index, rep.cue_s, rep.hold_s, rep.target_hold_s, rep.met, rep.rise_s,
                   rep.release_s, rep.peak_pct_mvc, rep.rest_residual_pct,
                   tuple(f.value for f in rep.flags), rep.section)
    summary = summary or {}
    if not (is_assessment or is_assessment_summary(summary)):
        return row
    return _assessed(row, summary)


def _assessed(row: ShownRep, summary: Mapping[str, Any]) -> ShownRep:
    row = replace(row, flags=tuple(f for f in row.flags if f != Flag.SHORT_HOLD.value))
    flick = next((f for f in summary.get("glazer_flicks") or ()
                  if f.get("index") == row.index), None)
    if flick is not None and row.section == "phasic":
        row = replace(row, rise_s=flick.get("onset_latency_s"),
                      release_s=flick.get("release_latency_s"))
    perfect = summary.get("perfect") or {}
    hold = next((h for h in perfect.get("holds") or () if h.get("index") == row.index), None)
    if hold is not None and row.judged:
        row = replace(row, hold_s=hold.get("e_s"), met=bool(hold.get("counted")),
                      flags=row.flags + ((hold["why"],) if hold.get("why") else ()))
        if (perfect.get("E") or 0) > QUICK_HOLD_S:  # (a shorter E would read as "snel")
            row = replace(row, target_hold_s=perfect["E"])
    elif row.judged and row.target_hold_s > QUICK_HOLD_S:
        row = replace(row, met=Flag.NO_CONTRACTION.value not in row.flags)
    return row
