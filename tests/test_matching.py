"""The matcher's rules (``exercise/matching.py``), each on contractions made by hand: which of
the patient's own contractions answers a repetition's cue."""

from __future__ import annotations

import pytest

from bbfeedback.detect.contractions import Contraction
from bbfeedback.exercise import matching
from bbfeedback.exercise.matching import (
    EARLY_S,
    LATE_S,
    answer,
    early_answer,
    expected_lag_s,
    late_answer,
    reaction_window,
)


def c(onset_s: float, offset_s: float) -> Contraction:
    fs = 1000.0
    return Contraction("pfm", onset_s, offset_s, 40.0, 30.0, "uV", 0.2, 0.2,
                       int(onset_s * fs), int(offset_s * fs))


def closed(*spans: tuple[float, float]) -> list[tuple[Contraction, bool]]:
    return [(c(a, b), False) for a, b in spans]


def test_hold_window_runs_from_before_the_cue_to_the_end_of_the_work():
    w = reaction_window(10.0, 6.0, 5.0, False, rest_before_s=10.0, rest_after_s=10.0)
    assert (w.start_s, w.end_s) == (10.0 - EARLY_S, 16.0)
    assert w.min_s == 1.0  # a twitch under min(30 % of 5 s, 1 s) is no hold
    short_rest = reaction_window(10.0, 6.0, 5.0, False, rest_before_s=2.0, rest_after_s=2.0)
    assert short_rest.start_s == 9.0  # at most half the rest before


def test_quick_window_reaches_a_normal_reaction_after_a_short_cue():
    w = reaction_window(10.0, 0.3, 0.3, True, rest_before_s=4.7, rest_after_s=4.7)
    assert w.end_s == pytest.approx(10.0 + LATE_S)
    # its tail reaches the next cue's early window (2 s before it, at most half the rest)
    assert w.tail_end_s == pytest.approx(10.0 + 0.3 + 4.7 - 2.0)
    tight = reaction_window(10.0, 0.3, 0.3, True, rest_before_s=1.2, rest_after_s=1.2)
    assert tight.end_s == pytest.approx(10.9) == tight.tail_end_s
    assert tight.start_s == pytest.approx(9.4)
    # a3: 1 s work, 2 s rests; a squeeze 1.03 s after the cue is the cue's (walkthrough)
    a3 = reaction_window(10.0, 1.0, 0.5, True, rest_before_s=2.0, rest_after_s=2.0)
    assert a3.end_s == pytest.approx(11.5) and a3.start_s == pytest.approx(9.0)
    assert a3.tail_end_s == pytest.approx(12.0)
    nxt = reaction_window(13.0, 1.0, 0.5, True, rest_before_s=2.0, rest_after_s=2.0)
    assert a3.end_s <= nxt.start_s


def test_nearest_the_cue_in_order_once():
    w = reaction_window(10.0, 6.0, 5.0, False, 10.0, 10.0)
    ev = closed((8.5, 13.5), (11.0, 16.0))
    assert answer(ev, 10.0, w, float("-inf")).onset_s == 11.0
    # the one nearer the cue was the previous repetition's answer: the next one answers
    assert answer(ev, 10.0, w, after_s=11.0) is None
    assert answer(ev, 10.0, w, after_s=8.5).onset_s == 11.0


def test_a_twitch_loses_to_a_hold_but_is_an_answer_alone():
    w = reaction_window(10.0, 6.0, 5.0, False, 10.0, 10.0)
    twitch_then_hold = closed((9.9, 10.3), (11.5, 16.0))
    assert answer(twitch_then_hold, 10.0, w, float("-inf")).onset_s == 11.5
    assert answer(closed((9.9, 10.3)), 10.0, w, float("-inf")).onset_s == 9.9


def test_a_hold_still_going_on_counts_as_a_hold():
    w = reaction_window(10.0, 6.0, 5.0, False, 10.0, 10.0)
    ev = [(c(9.95, 10.2), False), (c(10.8, 11.0), True)]  # the second is still held
    assert answer(ev, 10.0, w, float("-inf")).onset_s == 10.8


def test_outside_the_window_is_no_answer():
    w = reaction_window(10.0, 6.0, 5.0, False, 10.0, 10.0)
    assert answer(closed((7.0, 12.0)), 10.0, w, float("-inf")) is None  # 3 s early
    assert answer(closed((16.5, 20.0)), 10.0, w, float("-inf")) is None  # after the work


def test_too_early_is_her_answer_when_it_was_a_squeeze():
    w = reaction_window(10.0, 6.0, 5.0, False, 4.0, 4.0)  # starts at 8.0; twitch limit 1 s
    def yes(c, going):
        return True
    assert early_answer(closed((7.0, 12.0)), w, float("-inf"), 6.0, yes).onset_s == 7.0
    # a hold done wholly in the rest before the cue: her answer too, begun too early
    assert early_answer(closed((6.5, 9.5)), w, float("-inf"), 6.0, yes).onset_s == 6.5
    # a twitch in the rest is no hold
    assert early_answer(closed((7.0, 7.5)), w, float("-inf"), 6.0, yes) is None
    # begun in the work before (the previous repetition's): not this one's
    assert early_answer(closed((5.0, 12.0)), w, float("-inf"), 6.0, yes) is None
    # the previous repetition's answer: taken
    assert early_answer(closed((7.0, 12.0)), w, 7.0, 6.0, yes) is None
    # not a squeeze (a tense rest crossing the *on* level): no answer
    assert early_answer(closed((7.0, 12.0)), w, float("-inf"), 6.0, lambda c, g: False) is None
    # the latest of two
    assert early_answer(closed((6.2, 7.4), (7.5, 11.0)), w, float("-inf"), 6.0,
                        yes).onset_s == 7.5


def test_an_early_flick_counts_for_a_quick_squeeze():
    w = reaction_window(10.0, 0.3, 0.3, True, 2.0, 2.0)  # starts at 9.0
    flick = closed((8.9 - 0.1, 9.2 - 0.1))
    assert early_answer(flick, w, float("-inf"), 8.0, lambda c, g: True).onset_s == \
        pytest.approx(8.8)


def test_her_own_reaction_is_followed():
    """A patient who keeps anticipating by ~1.2 s: of two flicks in the window, the one at
    her own timing answers, not the one nearer the cue."""
    w = reaction_window(10.0, 0.3, 0.3, True, 4.7, 4.7)
    ev = closed((8.8, 9.2), (10.4, 10.8))
    assert answer(ev, 10.0, w, float("-inf")).onset_s == 10.4  # no history: nearest the cue
    lag = expected_lag_s([-1.1, -1.3, -1.2])
    assert lag == pytest.approx(-1.2)
    assert answer(ev, 10.0, w, float("-inf"), lag).onset_s == 8.8


def test_expected_lag_is_a_bounded_median_of_the_last_answers():
    assert expected_lag_s([]) == 0.0
    assert expected_lag_s([5.0, 0.2, 0.4, 0.3]) == pytest.approx(0.3)  # the last three
    assert expected_lag_s([0.1, 0.5]) == pytest.approx(0.3)
    assert expected_lag_s([4.0, 4.0, 4.0]) == LATE_S
    assert expected_lag_s([-9.0]) == -EARLY_S
    assert matching.DRIFT_REPS == 3


@pytest.mark.parametrize("pid", ["a3-quick", "b4-wink", "perfect", "a-daily", "glazer"])
def test_the_quick_target_box_holds_a_squeeze_begun_in_a_normal_time(pid):
    """Walkthrough (issue 22): the box reached only over where a squeeze may begin, so a
    squeeze begun 0.6-0.9 s after a 0.3 s cue peaked and let go after it. Begun 0.9 s
    after its cue, held 0.5 s with 0.3 s of ramps, it ends inside its box; the box never
    reaches the next cue's early window."""
    from bbfeedback.exercise import protocols
    from bbfeedback.exercise.scoring import QUICK_HOLD_S
    from bbfeedback.exercise.targets import _reaction_tail

    steps = protocols.load(pid).timeline()
    quick = [i for i, s in enumerate(steps) if s.rep is not None
             and 0 < s.phase.hold_s <= QUICK_HOLD_S and not s.phase.until_fail]
    assert quick
    for i in quick:
        s = steps[i]
        box_end = s.start_s + s.phase.duration_s + _reaction_tail(steps, i)
        assert box_end >= s.start_s + 0.9 + 0.5 + 0.3, (pid, s.rep)
        nxt = next((t for t in steps[i + 1:] if t.rep is not None), None)
        if nxt is not None:
            rest = nxt.start_s - (s.start_s + s.phase.duration_s)
            assert box_end <= nxt.start_s - min(EARLY_S, rest / 2) + 1e-9


def test_a_squeeze_between_two_quick_cues_goes_by_her_timing():
    """b4: a wink 2.6 s after its cue lies after that cue's window and before the next
    one's: ``late_answer`` gives it to its cue (the rep scorer asks only when she has been
    reacting after her cues; an anticipating patient's goes to the next cue, early)."""
    w = reaction_window(10.0, 0.3, 0.3, True, rest_before_s=4.7, rest_after_s=4.7)
    ev = closed((12.6, 13.1))
    assert answer(ev, 10.0, w, float("-inf")) is None
    assert late_answer(ev, w, float("-inf")).onset_s == 12.6
    assert late_answer(ev, w, 12.6) is None  # taken
    assert late_answer(closed((13.2, 13.6)), w, float("-inf")) is None  # the next cue's
