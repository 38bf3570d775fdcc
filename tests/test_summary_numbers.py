"""Issue 23 (attacker findings), item 3: a summary sentence lists repetition numbers, and a
protocol of 1000 repetitions listed 990 of them ("Laat begonnen bij herhalingen 1, 2, 4,
…"). A few numbers are still written out; more become runs ("1–12, 15 en 20"), and beyond a
handful of parts a count: "990 van de 1000 herhalingen" / "990 of the 1000 repetitions"."""

from __future__ import annotations

import re

import pytest

from bbfeedback.exercise import sentences
from bbfeedback.exercise import summary as summary_mod
from bbfeedback.exercise.scores import RepScore


def _reps(n: int, flagged, *flags: str) -> list[RepScore]:
    """``n`` repetitions, those in ``flagged`` with ``flags``."""
    marked = set(flagged)
    return [RepScore.from_dict({"index": i, "met": True,
                                "flags": list(flags) if i in marked else [],
                                "rest_level": 9.0, "rest_ratio": 2.5})
            for i in range(1, n + 1)]


def _summary_texts(n: int, flagged, *flags: str) -> tuple[str, str]:
    summary = {"reps": n, "reps_met": n, "resting_tone": {"limit": 7.0, "unit": "uV"}}
    return summary_mod.texts(_reps(n, flagged, *flags), summary)


def _longest_number_list(text: str) -> int:
    """How many numbers the longest run of "1, 2, 3 en 4"-like text holds."""
    return max((len(re.findall(r"\d+", m)) for m in
                re.findall(r"\d+(?:(?:, | en | and |–)\d+)+", text)), default=0)


def test_990_of_1000_repetitions_is_said_as_a_count():
    scattered = [i for i in range(1, 1001) if i % 100 != 7]  # 990, with 10 gaps between
    nl, en = _summary_texts(1000, scattered, "late_onset", "tense_rest", "not_judged",
                            "spikes", "no_contraction")
    assert "Laat begonnen bij 990 van de 1000 herhalingen." in nl
    assert "Late onset in 990 of the 1000 repetitions." in en
    assert nl.startswith("990 van de 1000 herhalingen niet beoordeeld")
    assert en.startswith("990 of the 1000 repetitions not judged")
    assert "Gespannen in rust na 990 van de 1000 herhalingen:" in nl
    assert "Tense at rest after 990 of the 1000 repetitions:" in en
    for text in (nl, en):
        assert _longest_number_list(text) <= 2, text  # no list of them anywhere
        assert len(text) < 1000, text


def test_many_repetitions_in_a_few_runs_are_written_as_ranges():
    nl, en = _summary_texts(30, [*range(1, 13), 15, 20], "late_onset")
    assert "Laat begonnen bij herhalingen 1–12, 15 en 20." in nl
    assert "Late onset in repetitions 1–12, 15 and 20." in en
    nl, en = _summary_texts(1000, range(1, 991), "early_onset")  # one run: a range
    assert "bij herhalingen 1–990." in nl and "in repetitions 1–990." in en


@pytest.mark.parametrize("flagged,nl,en", [
    ([7], "bij herhaling 7.", "in repetition 7."),
    ([1, 2, 3], "bij herhalingen 1, 2 en 3.", "in repetitions 1, 2 and 3."),
    ([2, 4, 6, 8, 10], "bij herhalingen 2, 4, 6, 8 en 10.",
     "in repetitions 2, 4, 6, 8 and 10."),
])
def test_a_few_repetitions_are_still_listed(flagged, nl, en):
    got_nl, got_en = _summary_texts(12, flagged, "late_onset")
    assert nl in got_nl and en in got_en


def test_quick_flicks_without_a_total_are_counted():
    summary = {"reps": 40, "reps_met": 40, "quick_skipped": list(range(1, 40, 2))}
    rows = [RepScore.from_dict({"index": i, "met": True}) for i in range(1, 41)]
    nl = sentences.summary_text(summary, rows, "nl")
    en = sentences.summary_text(summary, rows, "en")
    assert "De snelle aanspanning bij 20 herhalingen niet meegeteld" in nl
    assert "The quick contraction in 20 repetitions not counted" in en
