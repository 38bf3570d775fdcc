"""The lift judged from the patient's own contraction (``bbfeedback/exercise/lift.py``).

Known truth of our own: each lift is a stack of ``truth.model`` squeezes (one per floor, each
starting when its floor begins, all let go together, or floor by floor on the way down), the
EMG drawn from it by ``truth.model`` (band-limited carrier, 5 % slow wobble, amplifier noise),
its envelope a centred 0.15 s moving RMS (the pipeline's window) kept at 100 Hz (the trace
store's rate). Not ``bbfeedback.exercise.simulate``: the program is not judged by itself.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from truth import model

from bbfeedback.detect.calibration import Calibration
from bbfeedback.exercise import lift
from bbfeedback.exercise.lift import lift_floors
from bbfeedback.exercise.scores import LiftScore

FS_HZ = model.FS_HZ
TRACE_HZ = 100.0
WINDOW_S = 0.15
REST_UV = 3.0
SPAN_UV = 40.0  # MVC - rest
CAL = Calibration(REST_UV, 0.3, REST_UV + SPAN_UV)
DURATION_S = 25.0
CUE_S = 5.0
# b5-lift's parameters
MIN_STEP_PCT, MAX_CV_PCT, RELEASE_QUICK_S = 8.0, 35.0, 1.5
SEEDS = range(5)
# a floor's level within this of the one she made: the model's ±5 % wobble is ±4 % MVC at
# floor 3, and a median over 3 s of an envelope with 10 % noise moves by a few % more
TOL_PCT = 8.0


def staircase(levels_pct: list[float], floor_s: list[float], onset_s: float = CUE_S,
              rise_s: float = 0.3, fall_s: float = 0.3,
              down_s: float = 0.0) -> tuple[list[model.Squeeze], float]:
    """Squeezes making floors at ``levels_pct`` (% MVC), floor k beginning ``sum(floor_s[:k])``
    after the onset; all let go together when the top floor ends, or (``down_s``) the top
    first and each floor below held ``down_s`` longer. Returns them and when she is back at
    rest (her true offset)."""
    top_end = onset_s + sum(floor_s)
    squeezes, prev, start = [], 0.0, onset_s
    n = len(levels_pct)
    for k, (level, hold) in enumerate(zip(levels_pct, floor_s, strict=True)):
        end = top_end + (n - 1 - k) * down_s
        squeezes.append(model.Squeeze(start, (level - prev) / 100 * SPAN_UV,
                                      end - start - rise_s, rise_s, fall_s))
        prev, start = level, start + hold
    return squeezes, top_end + (n - 1) * down_s + fall_s


def envelope(squeezes: list[model.Squeeze], seed: int,
             wobble: float = model.WOBBLE) -> np.ndarray:
    """The 100 Hz RMS envelope (µV) of EMG drawn from the squeezes (``model.emg``: 5 %
    wobble; ``wobble`` 0 or another depth draws the same way with that depth)."""
    rng = np.random.default_rng(seed)
    if wobble == model.WOBBLE:
        raw, _ = model.emg(DURATION_S, REST_UV, squeezes, rng)
    else:
        t = model.times(DURATION_S, FS_HZ)
        true = REST_UV + sum(sq.level * model.shape(t, sq) for sq in squeezes)
        if wobble:
            true = true * model.wobble(t, rng, wobble)
        raw = (true * model.emg_carrier(t.size, FS_HZ, rng)
               + model.AMP_NOISE_UV * rng.standard_normal(t.size))
    n = int(round(WINDOW_S * FS_HZ))
    c = np.concatenate([[0.0], np.cumsum(raw ** 2)])
    i = np.arange(raw.size)
    lo, hi = np.clip(i - n // 2, 0, raw.size), np.clip(i - n // 2 + n, 0, raw.size)
    rms = np.sqrt((c[hi] - c[lo]) / np.maximum(hi - lo, 1))
    return rms[:: int(FS_HZ / TRACE_HZ)]


def judge(env: np.ndarray, onset_s: float, offset_s: float | None, t0_s: float = 0.0,
          after: np.ndarray | None = None) -> LiftScore:
    return lift_floors(env, TRACE_HZ, t0_s, onset_s, offset_s, 3, CAL, MIN_STEP_PCT,
                       MAX_CV_PCT, RELEASE_QUICK_S, after=after)


def lift_of(levels: list[float], floor_s: list[float], seed: int, **kw) -> LiftScore:
    wobble = kw.pop("wobble", model.WOBBLE)
    squeezes, offset_s = staircase(levels, floor_s, **kw)
    return judge(envelope(squeezes, seed, wobble), squeezes[0].onset_s, offset_s)


GOOD = ([25.0, 50.0, 75.0], [3.5, 3.5, 3.5])


@pytest.mark.parametrize("seed", SEEDS)
def test_good_lift_three_distinct_floors_let_go_in_one_go(seed):
    s = lift_of(*GOOD, seed)
    assert s.floors_distinct and s.release_quick
    assert np.allclose(s.floors_pct_mvc, GOOD[0], atol=TOL_PCT), s
    assert all(cv <= MAX_CV_PCT for cv in s.floors_cv_pct)
    # each floor found lies in the floor she made (to a piece of the ramps either side)
    made = [(CUE_S + 3.5 * k, CUE_S + 3.5 * (k + 1)) for k in range(3)]
    assert all(a - 0.6 <= f[0] and f[1] <= b + 0.6
               for f, (a, b) in zip(s.floors_s, made, strict=True)), s
    assert all(f[1] - f[0] >= lift.MIN_FLOOR_S for f in s.floors_s)
    assert s.let_go_s <= 0.8  # a 0.3 s fall


@pytest.mark.parametrize("seed", SEEDS)
def test_her_timing_off_the_cue_does_not_matter(seed):
    """She starts 0.8 s before or after the cue; the function gets her onset and offset, so
    the floors are found where she made them and the verdicts are the good lift's."""
    results = {}
    for early_late_s in (-0.8, 0.0, 0.8):
        squeezes, offset_s = staircase(*GOOD, onset_s=CUE_S + early_late_s)
        s = judge(envelope(squeezes, seed), squeezes[0].onset_s, offset_s)
        assert s.floors_distinct and s.release_quick, (early_late_s, s)
        assert np.allclose(s.floors_pct_mvc, GOOD[0], atol=TOL_PCT), (early_late_s, s)
        # the floors follow her, not the cue
        assert abs(s.floors_s[0][0] - squeezes[0].onset_s) <= 0.5
        results[early_late_s] = s
    # where the envelope starts on the recording clock is no matter either: the same lift
    squeezes, offset_s = staircase(*GOOD, onset_s=CUE_S + 0.8)
    env = envelope(squeezes, seed)
    cut = 300  # the trace begins 3 s into the recording
    assert judge(env[cut:], squeezes[0].onset_s, offset_s, t0_s=cut / TRACE_HZ) \
        == results[0.8]


@pytest.mark.parametrize("seed", SEEDS)
def test_jump_straight_to_the_top_is_not_distinct(seed):
    s = lift_of([75.0], [10.5], seed)
    assert not s.floors_distinct
    assert s.floors_pct_mvc[1:] == (None, None)  # one floor, 5 % wobble and all
    assert abs(s.floors_pct_mvc[0] - 75.0) <= TOL_PCT
    assert s.release_quick  # the let-go itself was fine


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("levels", [[35.0, 75.0], [25.0, 50.0]])
def test_two_floors_are_not_distinct(seed, levels):
    """(A long top floor's slow wobble may show as a piece a little higher: no third floor.)"""
    s = lift_of(levels, [5.25, 5.25], seed)
    assert not s.floors_distinct
    assert np.allclose(s.floors_pct_mvc[:2], levels, atol=TOL_PCT), s


@pytest.mark.parametrize("seed", SEEDS)
def test_a_floor_passed_through_is_no_floor(seed):
    """Floor 2 held 0.6 s, less than ``MIN_FLOOR_S``: two floors, not three."""
    s = lift_of([25.0, 50.0, 75.0], [3.5, 0.6, 3.5], seed)
    assert not s.floors_distinct
    assert s.floors_pct_mvc[2] is None


@pytest.mark.parametrize("seed", SEEDS)
def test_floors_down_or_a_quick_ramp_are_not_a_lift(seed):
    assert not lift_of([75.0, 50.0, 25.0], [3.5, 3.5, 3.5], seed).floors_distinct
    n = 30  # a smooth rise from rest to 75 % in 4 s, then held 1.5 s: no floors on the way
    ramp = lift_of([75.0 * (k + 1) / n for k in range(n)], [4.0 / n] * (n - 1) + [1.5], seed,
                   rise_s=4.0 / n)
    assert not ramp.floors_distinct


@pytest.mark.parametrize("seed", SEEDS)
def test_let_go_in_one_go_or_slowly(seed):
    quick = lift_of(*GOOD, seed, fall_s=0.3)
    slow = lift_of(*GOOD, seed, fall_s=4.0)  # 90 % -> 10 % MVC in 2.2 s
    by_floors = lift_of(*GOOD, seed, down_s=1.5)  # 75 -> 50 -> 25 -> rest, 1.5 s each
    assert quick.release_quick and quick.let_go_s <= 0.8
    assert not slow.release_quick and slow.let_go_s > RELEASE_QUICK_S
    assert not by_floors.release_quick and by_floors.let_go_s > 2.5
    assert quick.floors_distinct and slow.floors_distinct and by_floors.floors_distinct


@pytest.mark.parametrize("seed", SEEDS)
def test_release_found_after_her_offset_in_after(seed):
    """The envelope may end at her offset (the detector's, before she is fully at rest): the
    rest that follows comes as ``after``; still contracted at its end: offset None."""
    squeezes, offset_s = staircase(*GOOD, fall_s=1.0)
    env = envelope(squeezes, seed)
    whole = judge(env, CUE_S, offset_s)
    i = int(round((offset_s - 0.5) * TRACE_HZ))  # her offset as a detector might put it
    cut = judge(env[: i + 1], CUE_S, i / TRACE_HZ, after=env[i + 1:])
    assert cut.release_quick == whole.release_quick
    assert abs(cut.let_go_s - whole.let_go_s) <= 0.1
    assert cut.floors_distinct and whole.floors_distinct
    alone = judge(env[: i + 1], CUE_S, None)  # nothing after: the let-go is not seen
    assert alone.floors_distinct and not alone.release_quick


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("wobble", [0.0, model.WOBBLE])
def test_floors_with_and_without_wobble(seed, wobble):
    assert model.WOBBLE == 0.05  # the model's slow wander: ±5 % of the level
    s = lift_of(*GOOD, seed, wobble=wobble)
    assert s.floors_distinct and s.release_quick
    assert np.allclose(s.floors_pct_mvc, GOOD[0], atol=TOL_PCT), s


@pytest.mark.parametrize("seed", SEEDS)
def test_her_onset_and_offset_to_within_a_few_tenths(seed):
    squeezes, offset_s = staircase(*GOOD)
    env = envelope(squeezes, seed)
    for d_on, d_off in [(-0.3, 0.0), (0.2, -0.2), (0.0, 1.0)]:
        s = judge(env, CUE_S + d_on, offset_s + d_off)
        assert s.floors_distinct and s.release_quick, (d_on, d_off, s)


def test_without_mvc_nothing_is_judged():
    squeezes, offset_s = staircase(*GOOD)
    env = envelope(squeezes, 0)
    s = lift_floors(env, TRACE_HZ, 0.0, CUE_S, offset_s, 3, Calibration(REST_UV, 0.3), 8.0,
                    35.0, 1.5)
    assert s.floors_pct_mvc == (None, None, None) and s.floors_s == (None, None, None)
    assert not s.floors_distinct and not s.release_quick and s.let_go_s is None


def test_json_keeps_the_old_keys_and_adds_the_floors_times():
    old = LiftScore((25.0, 50.0, 75.0), (5.0, 5.0, 5.0), True, True)
    assert list(old.to_dict()) == ["floors_pct_mvc", "floors_cv_pct", "floors_distinct",
                                   "release_quick"]
    new = lift_of(*GOOD, 0).to_dict()
    assert new["floors_s"][0][0] == pytest.approx(CUE_S, abs=0.5)
    assert new["let_go_s"] <= 0.8 and "release_s" not in new  # the rep's own release_s stays


finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(finite, max_size=800), rate_hz=st.floats(1.0, 2000.0),
       t0_s=st.floats(-100.0, 100.0), onset_s=st.floats(-100.0, 200.0),
       length_s=st.one_of(st.none(), st.floats(-5.0, 100.0)), floors=st.integers(0, 5),
       min_step=st.floats(0.0, 50.0), after=st.one_of(st.none(), st.lists(finite, max_size=200)),
       rest=st.floats(-10.0, 10.0), span=st.floats(0.01, 1e4))
def test_any_finite_envelope_gives_floors_within_its_range(values, rate_hz, t0_s, onset_s,
                                                           length_s, floors, min_step, after,
                                                           rest, span):
    cal = Calibration(rest, 0.1, rest + span)
    env = np.asarray(values, dtype=float)
    s = lift_floors(env, rate_hz, t0_s, onset_s, None if length_s is None else onset_s + length_s,
                    floors, cal, min_step, 35.0, 1.5,
                    after=None if after is None else np.asarray(after, dtype=float))
    assert len(s.floors_pct_mvc) == len(s.floors_cv_pct) == len(s.floors_s) == floors
    assert isinstance(s.floors_distinct, bool) and isinstance(s.release_quick, bool)
    found = [f for f in s.floors_pct_mvc if f is not None]
    if found:
        pct = cal.pct_mvc(env)
        assert all(pct.min() - 0.051 <= f <= pct.max() + 0.051 for f in found)
        assert found == sorted(found) or not s.floors_distinct
    assert s.let_go_s is None or s.let_go_s >= 0
    assert not s.release_quick or s.let_go_s is not None
