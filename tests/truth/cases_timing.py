"""The corpus's cases of issue 22: the patient's own timing, as a physiotherapist judges it.

A patient starts 1-2 s off the cue, flicks at her own pace, steps a lift up a little before or
after the cues, holds as long as she can, tires, coughs with her abdominals. The truth is what
she did (each squeeze's onset, level and length, set first in the model), never what the
program makes of it: a hold of 5 s is met however far from its cue it began, a relaxed rest is
relaxed, a count of quick squeezes counts her squeezes.

Each case runs live; the timing cases also offline (``--start-s`` the first work cue, unless
the case says otherwise). ``KNOWN_WRONG`` names the (case, check) pairs the program gets wrong
today: ``tests/test_truth_corpus.py`` marks them as expected failures, strictly, so a pair
that comes right must leave the set.

Names the truth needs that the program did not have when these were written: ``late_start``
(accepted beside ``late_onset``) for a start late for its cue, ``knack_late`` for a pelvic
floor that comes on only after the cough (the redesign uses it too), and a summary sentence
with "korter" (nl) / "shorter" (en) when holds get shorter. Other keys read: rep ``onset_s``,
``hold_s``, ``rise_s``, ``peak_pct_mvc``, ``floors_distinct``, ``floors_pct_mvc``,
``release_quick``; summary ``quick_count``, ``quick_faded``, ``reps_met``,
``floors_distinct``, ``release_quick``, ``endurance_hold_s``, ``perfect`` (E, R, F),
``glazer`` (per phase).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import replace

import numpy as np

from . import cases, model
from .cases import (
    TOL,
    Case,
    Check,
    Made,
    _near,
    _rep,
    all_met,
    has,
    lacks,
    met,
    nowhere,
    patient_has,
    reps_scored,
    rest_truth,
    summary_is,
    text_has,
)
from .model import FS_HZ, Signal, Squeeze
from .schedule import Act, Lift, Patient, Plan, live_plan, own_pace

A1, A2, A3, B4, B5 = "a1-strength", "a2-endurance", "a3-quick", "b4-wink", "b5-lift"
B2 = "b2-contract-relax"
PERFECT, GLAZER, COUGH = "perfect", "glazer", "b3-cough"
NORMAL = Patient()
ONSET_TOL_S = 0.3  # her onset as the program reports it: within this of the truth
HOLD_TOL_S = 0.5  # a hold's time as the program measures it: within this of the truth
LATENCY_TOL_S = 0.2  # rise and release latencies (the envelope's smoothing, the noise)
# a quick squeeze's peak in % MVC: its effort ±35 % (a peak is the maximum of a noisy
# envelope over a short plateau, the MVC the best 0.5 s mean of one: it reads 10-30 % high)
PEAK_TOL = 0.35
LATE = ("late_onset", "late_start")  # a start late for its cue: either name says it
ABD_REST_UV = 4.0  # the abdominal channel at rest (µV RMS)
ABD_COUGH_UV = 60.0  # a cough's abdominal burst above that rest


# --- recordings --------------------------------------------------------------------------------

def timed(protocol_id: str, patient: Patient = NORMAL, seed: int = 1, *,
          calibration: str | None = None,
          own: Callable[[Plan], list[Squeeze]] | None = None,
          redo: Callable[[Plan, list[Act]], list[Act]] | None = None,
          extra: Callable[[Plan], list[Squeeze]] | None = None,
          abd: Callable[[Plan, list[Act]], list[Squeeze]] | None = None) -> Made:
    """A live session's recording (calibration first) made with ``schedule.live_plan``.
    ``own``: she keeps her own pace (these squeezes instead of the repetitions'; the
    calibration's squeezes stay on their cues); ``redo``: what she did instead (the acts as
    planned in, hers out); ``extra``: more of her EMG (a raised tone);
    ``abd``: an abdominal EMG channel "abd" (the session's accessory) with these squeezes."""
    rng = np.random.default_rng(seed + cases.SEED_OFFSET)
    p, done = live_plan(protocol_id, patient, rng, calibration)
    if own is not None:
        done = [a for a in done if a.cue.calibration]
    if redo is not None:
        done = redo(p, done)
    squeezes = [a.emg for a in done] + (own(p) if own else []) + (extra(p) if extra else [])
    raw, _ = model.emg(p.duration_s, patient.rest_uv, squeezes, rng)
    sigs = [Signal("pfm", "emg", "uV", raw, model.EMG_RANGE_UV)]
    if abd is not None:
        raw_abd, _ = model.emg(p.duration_s, ABD_REST_UV, abd(p, done), rng)
        sigs.append(Signal("abd", "emg", "uV", raw_abd, model.EMG_RANGE_UV))
    return Made(model.Recording(FS_HZ, tuple(sigs)), p, tuple(done), patient)


def with_start(made: Made, start_s: float | None) -> Made:
    """The ``--start-s`` an offline case gives (``Plan.start_s``; None: none given, the
    program finds the start itself)."""
    return replace(made, plan=replace(made.plan, start_s=start_s))


_MADE: dict[tuple[str, int], Made] = {}


def remembered(name: str, make: Callable[[], Made]) -> Callable[[], Made]:
    """``make`` run once per seed: the case's recording and its truth checks read the same."""
    def once() -> Made:
        key = (name, cases.SEED_OFFSET)
        if key not in _MADE:
            _MADE[key] = make()
        return _MADE[key]
    return once


def level_uv(p: Patient, pct: float) -> float:
    """The envelope (µV RMS, total) of an effort of ``pct`` % MVC."""
    return p.rest_uv + pct / 100.0 * (p.mvc_uv - p.rest_uv)


# --- checks -------------------------------------------------------------------------------------

def _value(res: dict, *keys: str | int) -> object:
    for k in keys:
        res = res[k]
    return res


def late(i: int) -> Check:
    return Check(f"rep{i}_flagged_late_onset_or_late_start",
                 lambda res: (r := _rep(res, i)) is not None and bool(set(LATE) & set(r["flags"])))


def not_met(i: int) -> Check:
    return Check(f"rep{i}_not_met", lambda res: (r := _rep(res, i)) is not None
                 and r["met"] is False)


def onsets_near(make: Callable[[], Made], reps: Iterable[int],
                tol_s: float = ONSET_TOL_S) -> Check:
    """Each repetition's reported onset is her squeeze's (the one made for its cue)."""
    reps = tuple(reps)

    def test(res: dict) -> bool:
        made = make()
        for i in reps:
            r = _rep(res, i)
            truth = made.act("rep", i).emg.onset_s
            if r is None or r.get("onset_s") is None or abs(r["onset_s"] - truth) > tol_s:
                return False
        return True
    span = f"{reps[0]}" if len(reps) == 1 else f"{reps[0]}-{reps[-1]}"
    return Check(f"rep{span}_onsets_within_{tol_s:g}s_of_hers", test)


def hold_near(i: int, truth_s: float, tol_s: float = HOLD_TOL_S) -> Check:
    return Check(f"rep{i}_hold_{truth_s:g}s_within_{tol_s:g}s",
                 lambda res: (r := _rep(res, i)) is not None and r.get("hold_s") is not None
                 and abs(r["hold_s"] - truth_s) <= tol_s)


def peaks_near(pcts: dict[int, float], tol: float = PEAK_TOL) -> Check:
    """Each repetition's peak (% MVC) is hers (the truth ±``tol``)."""
    return Check(f"peaks_pct_mvc_within_{tol:.0%}_of_hers", lambda res: all(
        (r := _rep(res, i)) is not None and _near(r.get("peak_pct_mvc"), pct, tol)
        for i, pct in pcts.items()))


def floors(i: int, distinct: bool) -> Check:
    return Check(f"rep{i}_floors_distinct_{distinct}",
                 lambda res: (r := _rep(res, i)) is not None
                 and r.get("floors_distinct") is distinct)


def floors_near(i: int, truths: tuple[float, ...], tol: float = TOL) -> Check:
    def test(res: dict) -> bool:
        r = _rep(res, i)
        got = None if r is None else r.get("floors_pct_mvc")
        return got is not None and len(got) == len(truths) and all(
            _near(g, t, tol) for g, t in zip(got, truths, strict=True))
    return Check(f"rep{i}_floors_near_{'_'.join(f'{t:g}' for t in truths)}", test)


def released_in_one_go(i: int) -> Check:
    return Check(f"rep{i}_release_quick",
                 lambda res: (r := _rep(res, i)) is not None and r.get("release_quick") is True)


def summary_near(keys: tuple[str | int, ...], truth: float, tol: float = TOL) -> Check:
    """A summary number within ``tol`` (relative) of the truth."""
    return Check(f"summary_{'_'.join(map(str, keys))}_within_{tol:.0%}_of_{truth:.3g}",
                 lambda res: _near(_value(res["summary"], *keys), truth, tol))


def summary_within(keys: tuple[str | int, ...], truth: float, tol: float) -> Check:
    """A summary number within ``tol`` (absolute, in its unit) of the truth."""
    def test(res: dict) -> bool:
        v = _value(res["summary"], *keys)
        return v is not None and math.isfinite(v) and abs(v - truth) <= tol
    return Check(f"summary_{'_'.join(map(str, keys))}_{truth:.3g}_within_{tol:g}", test)


def rises_near(reps: Iterable[int], truth_s: float, tol_s: float = LATENCY_TOL_S) -> Check:
    reps = tuple(reps)
    return Check(f"rep{reps[0]}-{reps[-1]}_rise_{truth_s:.2f}s_within_{tol_s:g}s",
                 lambda res: all((r := _rep(res, i)) is not None and r.get("rise_s") is not None
                                 and abs(r["rise_s"] - truth_s) <= tol_s for i in reps))


# --- a1: starts off the cue, one late start, another rhythm, shorter and shorter holds -------

OFF_CUE = Patient(latency_by_rep={1: -1.0, 2: -1.8, 3: -1.5, 4: 1.0, 5: 1.8})
LATE_3 = Patient(latency_by_rep={3: 2.5})
NINE_S = Patient(latency_by_rep={k: 0.5 - (k - 1) * 1.0 for k in range(1, 6)})  # 9 s cycles
# holds of 6, 5, 4, 3, 2 s in the band (60 % MVC up): the plateau and 0.087 s of each ramp
SHORTER = Patient(ramp_s=(0.2, 0.2), plateau_by_rep={k: 7.0 - k - 0.15 for k in range(1, 6)})

off_cue = remembered("off-cue", lambda: timed(A1, OFF_CUE, seed=401))
late_3 = remembered("late-3", lambda: timed(A1, LATE_3, seed=402))
nine_s = remembered("nine-s", lambda: (lambda m: with_start(m, m.act("rep", 1).emg.onset_s))(
    timed(A1, NINE_S, seed=403)))
nine_s_no_start = remembered("nine-s-no-start", lambda: with_start(
    timed(A1, NINE_S, seed=404, calibration="none"), None))
shorter = remembered("shorter", lambda: timed(A1, SHORTER, seed=405))
# hold 3 begun 2.6 s before its cue: in the rest, before the reaction window (2 s, half the
# 4 s rest), still held at the cue; held its 5 s from there
EARLY_3 = Patient(latency_by_rep={3: -2.6})
early_3 = remembered("early-3", lambda: timed(A1, EARLY_3, seed=406))

OFF_CUE_CHECKS = (reps_scored(5), *all_met(5), nowhere("short_hold"),
                  nowhere("incomplete_relaxation"), nowhere("tense_rest"),
                  onsets_near(off_cue, range(1, 6)))
LATE_CHECKS = (late(3), lacks(3, "incomplete_relaxation", "tense_rest"),
               lacks(3, "short_hold"), lacks(3, "slow_release"),
               *[met(i) for i in (1, 2, 4, 5)], *[lacks(i, *LATE) for i in (1, 2, 4, 5)],
               onsets_near(late_3, range(1, 6)))
EARLY_CHECKS = (has(3, "early_onset"), met(3), lacks(3, "short_hold", "no_contraction"),
                lacks(3, *LATE), lacks(2, "incomplete_relaxation", "tense_rest"),
                *[met(i) for i in (1, 2, 4, 5)], *[lacks(i, "early_onset") for i in (1, 2, 4, 5)],
                onsets_near(early_3, range(1, 6)),
                patient_has("nl", "voordat het scherm dat vroeg"),
                patient_has("en", "before the screen asked"))
# the attack on issue 22 (findings 1, 2, 4/5): flicks anticipated beyond the reaction window
# (a3: 2 s rests, a 1 s early window), a patient anticipating every hold by 1.7 s analysed
# with --start-s the first cue, a b2 hold done wholly before its cue
ANTICIPATING_A3 = Patient(latency_by_rep={k: -1.1 for k in range(1, 13)})
a3_anticipating = remembered("a3-anticipating", lambda: timed(A3, ANTICIPATING_A3, seed=407))
A3_ANTICIPATING_CHECKS = (reps_scored(12), *all_met(12), nowhere("no_contraction"),
                          nowhere("tense_rest"), nowhere("incomplete_relaxation"),
                          *[has(i, "early_onset") for i in range(2, 13)],
                          lacks(1, "early_onset"), summary_is("quick_count", 12),
                          summary_is("reps_met", 12))
# the walkthrough: a wink begun after its 1.5 s window and before the next cue's early one
# (b4: 0.8 s work, 2 s rests: 1.5-1.8 s after the cue) by a patient who reacts after her
# cues is hers, begun late - not "geen aanspanning" here and an orphan there (a start 2.6 s
# late is 0.2 s before the next cue here: that one is the next cue's, by any clock)
LATE_WINK = Patient(latency_s=(0.84, 0.87), latency_by_rep={4: 1.7})
b4_late_wink = remembered("b4-late-wink", lambda: timed(B4, LATE_WINK, seed=410))
B4_LATE_WINK_CHECKS = (reps_scored(10), nowhere("no_contraction"), *all_met(10),
                       onsets_near(b4_late_wink, range(1, 11)))
ANTICIPATING_A1 = Patient(latency_by_rep={k: -1.7 for k in range(1, 6)})
a1_anticipating = remembered("a1-anticipating", lambda: timed(A1, ANTICIPATING_A1, seed=408))
A1_ANTICIPATING_CHECKS = (reps_scored(5), *all_met(5), nowhere("early_onset"),
                          nowhere("short_hold"), nowhere("tense_rest"),
                          nowhere("incomplete_relaxation"),
                          onsets_near(a1_anticipating, range(1, 6)))
B2_BEFORE = Patient(latency_by_rep={3: -3.0})
b2_before = remembered("b2-before", lambda: timed(B2, B2_BEFORE, seed=409))
B2_BEFORE_CHECKS = (has(3, "early_onset"), met(3),
                    lacks(3, "short_hold", "slow_release", "no_contraction"),
                    lacks(2, "incomplete_relaxation", "tense_rest"),
                    *[lacks(i, "early_onset") for i in (1, 2, 4, 5)])
NINE_S_CHECKS = (reps_scored(5), *all_met(5), nowhere("short_hold"),
                 nowhere("incomplete_relaxation"), nowhere("tense_rest"))
SHORTER_CHECKS = (*[hold_near(k, 7.0 - k) for k in range(1, 6)], met(1), met(2),
                  *[has(k, "short_hold") for k in (3, 4, 5)],
                  text_has("nl", "korter"), text_has("en", "shorter"))


# --- quick squeezes: 0.85 s reaction, her own pace, only six, one weak ------------------------

B4_PCTS = [69.0, 57.0, 64.0, 60.0, 70.0, 58.0, 66.0, 62.0, 68.0, 59.0]
A3_PCTS = [*B4_PCTS, 63.0, 67.0]


def _flicker(pcts: list[float]) -> Patient:
    """Quick squeezes 0.84-0.87 s after each cue, at these % MVC (repetition by repetition)."""
    return Patient(latency_s=(0.84, 0.87),
                   levels={("rep", k): level_uv(NORMAL, pct) for k, pct in enumerate(pcts, 1)})


FLICKER_B4, FLICKER_A3 = _flicker(B4_PCTS), _flicker(A3_PCTS)
ONE_WEAK = Patient(levels={("rep", 7): level_uv(NORMAL, 30.0)})  # below a3's band (50 %)
STRONG, FADING = 16, [45.0, 40.0, 35.0, 30.0, 25.0, 20.0]

b4_flicks = remembered("b4-flicks", lambda: timed(B4, FLICKER_B4, seed=411))
a3_flicks = remembered("a3-flicks", lambda: timed(A3, FLICKER_A3, seed=412))
own_pace_a3 = remembered("own-pace", lambda: timed(
    A3, seed=413, own=lambda p: own_pace(p.start_s + 0.5, 1.5, [100.0] * STRONG + FADING,
                                         NORMAL)))
six_flicks = remembered("six-flicks", lambda: timed(
    A3, seed=414, own=lambda p: own_pace(p.start_s + 0.5, 5.0, [100.0] * 6, NORMAL)))
one_weak = remembered("one-weak", lambda: timed(A3, ONE_WEAK, seed=415))


def _flick_checks(made: Callable[[], Made], pcts: list[float],
                  mvc_known: bool = True) -> tuple[Check, ...]:
    """Every flick counted for its cue, met, at her onset; its peak hers when her MVC can be
    known (not offline after a gentle calibration: no maximal squeeze is in the file)."""
    n = len(pcts)
    peaks = (peaks_near(dict(enumerate(pcts, 1))),) if mvc_known else ()
    return (reps_scored(n), nowhere("no_contraction"), *all_met(n), *peaks,
            onsets_near(made, range(1, n + 1)), summary_is("quick_count", n))


OWN_PACE_CHECKS = (summary_is("quick_count", STRONG), summary_is("quick_faded", True),
                   *[met(i) for i in range(1, 9)],
                   *[lacks(i, "incomplete_relaxation") for i in range(1, 9)])
ONE_WEAK_CHECKS = (summary_is("quick_count", 11), summary_is("reps_met", 11), not_met(7),
                   has(7, "too_weak"), *[met(i) for i in range(1, 13) if i != 7])


# --- the lift: good at ±0.8 s, jumped, two floors ------------------------------------------

# each floor 3.5 s (a 0.3 s step, 3.2 s flat): her lift is 10.5 s, the cued one 11 s (floor
# cues 4, 3.5 and 3.5 s apart), so floor windows moved with her onset do not fit her floors
GOOD = Lift()  # 25, 50, 75 % MVC, let go in one go
JUMPED = Lift(((75.0, 10.2),))  # straight to the top, as long as the three floors
TWO_FLOORS = Lift(((25.0, 3.2), (50.0, 6.7)))  # never reaches floor 3


def _lift(how: Lift, offset_s: float, seed: int) -> Callable[[], Made]:
    return remembered(f"lift-{seed}", lambda: timed(
        B5, Patient(lift=replace(how, offset_s=offset_s)), seed=seed))


lift_late, lift_early = _lift(GOOD, 0.8, 421), _lift(GOOD, -0.8, 422)
jumped_late, jumped_early = _lift(JUMPED, 0.8, 423), _lift(JUMPED, -0.8, 424)
two_floors = _lift(TWO_FLOORS, 0.5, 425)

GOOD_LIFT = (reps_scored(3), *[c for i in (1, 2, 3) for c in (
    floors(i, True), released_in_one_go(i))],
    summary_is("floors_distinct", 3), summary_is("release_quick", 3))
# her floors in % MVC: known live (gentle calibration, her "half" exactly 50 %), not offline
# (no maximal squeeze in the file); whether she "met" floor 3 (75 % in [62, 300]) hangs on
# the MVC estimate's error, so it is not judged here
# live, each floor held its 3.2 s in its band: met, though her floors do not last as long as
# the cues (4, 3.5, 3.5 s) - her own plateaus are timed, not the cue's windows (attack, issue 22)
GOOD_LIFT_LIVE = (*GOOD_LIFT, *[floors_near(i, (25.0, 50.0, 75.0)) for i in (1, 2, 3)],
                  *[met(i) for i in (1, 2, 3)], *[lacks(i, "short_hold") for i in (1, 2, 3)])
JUMPED_LIFT = (reps_scored(3), *[c for i in (1, 2, 3) for c in (
    floors(i, False), released_in_one_go(i), not_met(i))],
    summary_is("floors_distinct", 0), summary_is("release_quick", 3))
TWO_FLOOR_LIFT = (reps_scored(3), *[floors(i, False) for i in (1, 2, 3)],
                  summary_is("floors_distinct", 0))


# --- a2: holds as long as she can, 17 s and 10 s --------------------------------------------

# in the band [30, 75] % MVC at 50 %: the plateau and 0.087 s of each 0.2 s ramp
ENDURANCE = Patient(ramp_s=(0.2, 0.2), plateau_by_rep={1: 16.85, 2: 9.85})
a2_holds = remembered("a2", lambda: timed(A2, ENDURANCE, seed=431))
A2_CHECKS = (reps_scored(2), hold_near(1, 17.0), hold_near(2, 10.0), nowhere("short_hold"),
             Check("summary_endurance_hold_s_17_10_within_0.5s", lambda res: (
                 (h := res["summary"]["endurance_hold_s"]) is not None and len(h) == 2
                 and all(v is not None and abs(v - t) <= HOLD_TOL_S
                         for v, t in zip(h, (17.0, 10.0), strict=True)))))


# --- assessments: PERFECT with fatigue, Glazer with known values ---------------------------

# E: onset to below 50 % of the initial peak = rise 0.2 + plateau 5.7 + half the 0.2 s fall
PERFECT_E = 6.0
TIRING = Patient(ramp_s=(0.2, 0.2), plateau_by_rep={
    k: (PERFECT_E - 0.3 if k <= 2 else 2.7) for k in range(1, 11)})  # R = 2, then 3 s holds
perfect_tiring = remembered("perfect", lambda: timed(PERFECT, TIRING, seed=441))
PERFECT_CHECKS = (summary_within(("perfect", "E"), PERFECT_E, 0.5),
                  Check("summary_perfect_R_2",
                        lambda res: res["summary"]["perfect"]["R"] == 2),
                  Check("summary_perfect_F_10",
                        lambda res: res["summary"]["perfect"]["F"] == 10),
                  # met as an assessment counts it: the 2 holds of her own E and the 10
                  # flicks, not the cued 10 s holds (none of which she held)
                  summary_is("reps_met", 12), summary_is("holds_met", 2),
                  nowhere("short_hold"))

REACT_S, RAMP_S = 0.5, 0.2
# the device's rules (assessments.md): cue -> 75 % of the work average above rest (a raised
# cosine rise: 2/3 of it); relax cue -> 37.5 % of it (58 % of the fall, after she lets go)
ONSET_LATENCY_S = REACT_S + RAMP_S * math.acos(1 - 2 * 0.75) / math.pi
RELEASE_AFTER_S = 0.5  # she lets go of a tonic hold this long after the relax cue
RELEASE_LATENCY_S = RELEASE_AFTER_S + RAMP_S * math.acos(1 - 2 * 0.625) / math.pi
GLAZER_PATIENT = Patient(
    ramp_s=(RAMP_S, RAMP_S), latency_by_rep={k: REACT_S for k in range(1, 12)},
    plateau_by_rep={**{k: 0.3 for k in range(1, 6)},  # flicks
                    **{k: 10.0 + 1.0 - REACT_S - RAMP_S + RELEASE_AFTER_S
                       for k in range(6, 11)}})  # tonic: work 11 s (hold 10 + reach 1)
POST_TONE_UV = 1.5  # after the endurance hold her rest stays this much higher


def _post_tone(p: Plan) -> list[Squeeze]:
    """Her rest after the endurance contraction: 1.5 µV higher to the end (from 0.5 s after
    she let go, over 2 s)."""
    endurance = p.cues[-1]
    let_go = endurance.t_s + REACT_S + RAMP_S + 60.3 + RAMP_S  # acts: plateau hold + 0.3
    return [Squeeze(let_go + 0.5, POST_TONE_UV, p.duration_s, 2.0, 0.2)]


def _carrier_median_hz() -> float:
    """The model's EMG median frequency (power spectrum), about 109 Hz."""
    f = np.arange(0.0, 500.0, 0.01)
    power = np.cumsum(model.emg_spectrum(f) ** 2)
    return float(f[np.searchsorted(power, power[-1] / 2)])


glazer_known = remembered("glazer", lambda: timed(GLAZER, GLAZER_PATIENT, seed=442,
                                                  extra=_post_tone))
PRE, POST = rest_truth(NORMAL), math.hypot(NORMAL.rest_uv + POST_TONE_UV, model.AMP_NOISE_UV)
GLAZER_CHECKS = (
    summary_near(("glazer", "pre-baseline", "mean"), PRE),
    summary_near(("glazer", "post-baseline", "mean"), POST),
    summary_near(("glazer", "post_vs_pre"), POST / PRE),
    summary_near(("glazer", "phasic", "peak_mean"), NORMAL.mvc_uv),
    summary_within(("glazer", "phasic", "onset_latency_s"), ONSET_LATENCY_S, LATENCY_TOL_S),
    rises_near(range(1, 6), ONSET_LATENCY_S),
    summary_near(("glazer", "tonic", "mean"), NORMAL.mvc_uv),
    summary_within(("glazer", "tonic", "onset_latency_s"), ONSET_LATENCY_S, LATENCY_TOL_S),
    summary_within(("glazer", "tonic", "release_latency_s"), RELEASE_LATENCY_S,
                   LATENCY_TOL_S),
    summary_near(("glazer", "tonic", "median_frequency_hz"), _carrier_median_hz(), 0.2),
    summary_near(("glazer", "endurance", "mean"), level_uv(NORMAL, 50.0)),
    summary_within(("glazer", "endurance", "ratio_last_first_10s"), 1.0, 0.15),
    nowhere("short_hold"))


# --- the cough: the Knack (pelvic floor first), and a pelvic floor that comes late -------------

COUGH_REPS = (6, 7, 8)  # after b3-long-hold's five holds
KNACK_LEAD_S = 0.2  # the Knack: her pelvic floor is on this long before the cough at least
LATE_BY_S = 0.3  # late: her pelvic floor comes on this long after the cough


def _cough_reps(late: bool) -> Callable[[Plan, list[Act]], list[Act]]:
    """Her squeezes of the cough repetitions (each one squeeze, whatever the protocol's
    phases: one "squeeze before you cough" cue, or "squeeze" then "cough now"), from
    ``_coughs``; every other act as planned."""
    def redo(p: Plan, done: list[Act]) -> list[Act]:
        out = [a for a in done if a.cue.rep not in COUGH_REPS or a.cue.calibration]
        for rep in COUGH_REPS:
            onset, _, end = _coughs(p, rep, late)
            cue = next(c for c in p.cues if c.rep == rep and not c.calibration)
            level = cue.phase.target_pct_mvc / 100.0
            out.append(Act(cue, Squeeze(onset, level * (NORMAL.mvc_uv - NORMAL.rest_uv),
                                        end - onset - 0.4, 0.2, 0.2),
                           Squeeze(onset, level * NORMAL.squeeze_cmh2o, end - onset - 0.6,
                                   0.3, 0.3)))
        return sorted(out, key=lambda a: a.cue.t_s)
    return redo


def _coughs(p: Plan, rep: int, late: bool) -> tuple[float, float, float]:
    """(her pelvic-floor onset, the cough's abdominal onset, her let-go) in a cough
    repetition: she reacts 0.5 s after a cue. The Knack: on at the first cue, the cough on
    the cough cue (the rep's last work cue) and never sooner than ``KNACK_LEAD_S`` after her
    onset. Late: she coughs on the cough cue and squeezes ``LATE_BY_S`` after it. She lets go
    0.3 s after the relax cue."""
    cues = [c for c in p.cues if c.rep == rep and not c.calibration]
    relax = cues[-1].t_s + cues[-1].phase.duration_s
    if late:
        cough = cues[-1].t_s + REACT_S
        return cough + LATE_BY_S, cough, relax + 0.3
    onset = cues[0].t_s + REACT_S
    return onset, max(onset + KNACK_LEAD_S, cues[-1].t_s + REACT_S), relax + 0.3


def _abd(late: bool) -> Callable[[Plan, list[Act]], list[Squeeze]]:
    """The abdominal channel: a burst with each cough (0.5 s), quiet otherwise."""
    def abd(p: Plan, done: list[Act]) -> list[Squeeze]:
        return [Squeeze(_coughs(p, rep, late)[1], ABD_COUGH_UV, 0.2, 0.1, 0.2)
                for rep in COUGH_REPS]
    return abd


BRACE_UV = 30.0  # abdominals braced from 1 s before the first cue to the relax cue


def _abd_braced(p: Plan, done: list[Act]) -> list[Squeeze]:
    """Abdominals braced through each cough repetition (on 1 s before its first cue, off
    at the relax cue), the cough's burst on top: the cough is the rise above the bracing,
    not the bracing (attack on issue 22, finding 6)."""
    out = []
    for rep in COUGH_REPS:
        cues = [c for c in p.cues if c.rep == rep and not c.calibration]
        relax = cues[-1].t_s + cues[-1].phase.duration_s
        start = cues[0].t_s - 1.0
        out.append(Squeeze(start, BRACE_UV, relax - start - 0.4, 0.2, 0.2))
        out.append(Squeeze(_coughs(p, rep, False)[1], ABD_COUGH_UV, 0.2, 0.1, 0.2))
    return out


knack_braced = remembered("knack-braced", lambda: timed(
    COUGH, seed=453, redo=_cough_reps(False), abd=_abd_braced))
KNACK_BRACED_CHECKS = (reps_scored(8), *[met(i) for i in COUGH_REPS],
                       *[lacks(i, "knack_late") for i in COUGH_REPS])
knack = remembered("knack", lambda: timed(COUGH, seed=451, redo=_cough_reps(False),
                                          abd=_abd(False)))
knack_late = remembered("knack-late", lambda: timed(COUGH, seed=452, redo=_cough_reps(True),
                                                    abd=_abd(True)))
KNACK_CHECKS = (reps_scored(8), *all_met(8), nowhere("co_contraction"),
                nowhere("knack_late"))
KNACK_LATE_CHECKS = (reps_scored(8), nowhere("co_contraction"),
                     *[has(i, "knack_late") for i in COUGH_REPS],
                     *[lacks(i, "knack_late") for i in range(1, 6)])


# --- the cases ---------------------------------------------------------------------------------

def _both(name: str, about: str, protocol: str, make: Callable[[], Made],
          checks: tuple[Check, ...], live: tuple[Check, ...] | None = None) -> list[Case]:
    """The case live (``live``: its checks there, if other) and offline (``--start-s`` the
    first work cue)."""
    return [Case(f"{name}-live", about, protocol, "live", make, live or checks),
            Case(f"{name}-offline", f"{about}; offline", protocol, "offline", make, checks)]


TIMING_CASES: list[Case] = [
    *_both("a1-starts-off-cue", "starts -1.0, -1.8, -1.5, +1.0, +1.8 s from the cue, holds "
           "5 s, rests relaxed", A1, off_cue, OFF_CUE_CHECKS),
    *_both("a1-late-start-2.5s", "hold 3 begun 2.5 s after its cue, held 5 s, relaxed", A1,
           late_3, LATE_CHECKS),
    *_both("a1-early-start-2.6s", "hold 3 begun 2.6 s before its cue (in the rest), held 5 s",
           A1, early_3, EARLY_CHECKS),
    *_both("a3-flicks-anticipated-1.1s", "every flick 1.1 s before its cue (a 1 s early "
           "window), strong and let go", A3, a3_anticipating, A3_ANTICIPATING_CHECKS),
    *_both("b4-wink-begun-1.7s-late", "wink 4 begun 1.7 s after its cue (after its window), "
           "the others at 0.85 s", B4, b4_late_wink, B4_LATE_WINK_CHECKS),
    *_both("a1-anticipating-1.7s", "every hold begun 1.7 s before its cue", A1,
           a1_anticipating, A1_ANTICIPATING_CHECKS),
    *_both("b2-hold-before-its-cue", "hold 3 begun 3 s before its cue, over before it", B2,
           b2_before, B2_BEFORE_CHECKS),
    Case("b3-cough-knack-braced-live", "abdominals braced through each cough repetition, the "
         "pelvic floor on 0.5 s after the first cue, the cough later", COUGH, "live",
         knack_braced, KNACK_BRACED_CHECKS),
    Case("a1-9s-cycles-start-offline", "her own 9 s rhythm (cues every 10 s), --start-s her "
         "first squeeze", A1, "offline", nine_s, (*NINE_S_CHECKS,
                                                  onsets_near(nine_s, range(1, 6)))),
    Case("a1-9s-cycles-no-start-offline", "her own 9 s rhythm, no calibration in the file, "
         "no --start-s", A1, "offline", nine_s_no_start,
         (*NINE_S_CHECKS, onsets_near(nine_s_no_start, range(1, 6)))),
    Case("a1-holds-shorter-live", "holds of 6, 5, 4, 3, 2 s at full strength", A1, "live",
         shorter, SHORTER_CHECKS),
    Case("b4-flicks-0.85s-live", "winks 0.84-0.87 s after the 0.3 s cue, 57-70 % MVC", B4,
         "live", b4_flicks, _flick_checks(b4_flicks, B4_PCTS)),
    Case("b4-flicks-0.85s-offline", "the same offline (gentle calibration: MVC unknown)", B4,
         "offline", b4_flicks, _flick_checks(b4_flicks, B4_PCTS, mvc_known=False)),
    *_both("a3-flicks-0.85s", "quick squeezes 0.84-0.87 s after the cue, 57-70 % MVC", A3,
           a3_flicks, _flick_checks(a3_flicks, A3_PCTS)),
    *_both("a3-own-pace-1.5s", "flicks every 1.5 s whatever the cues: 16 strong, then 6 "
           "fading (45 to 20 % MVC)", A3, own_pace_a3, OWN_PACE_CHECKS),
    Case("a3-six-flicks-5s-live", "only 6 flicks, every 5 s, then nothing", A3, "live",
         six_flicks, (summary_is("quick_count", 6), nowhere("incomplete_relaxation"),
                      nowhere("tense_rest"))),
    Case("a3-one-weak-live", "12 quick squeezes, number 7 at 30 % MVC", A3, "live", one_weak,
         ONE_WEAK_CHECKS),
    *_both("b5-lift-good-late-0.8s", "floors 25/50/75 % MVC 3.5 s each, 0.8 s after "
           "the cues, let go in one go", B5, lift_late, GOOD_LIFT, GOOD_LIFT_LIVE),
    *_both("b5-lift-good-early-0.8s", "the same 0.8 s before the cues", B5, lift_early,
           GOOD_LIFT, GOOD_LIFT_LIVE),
    Case("b5-lift-jumped-late-0.8s-live", "straight to 75 % MVC, 0.8 s after the cue", B5,
         "live", jumped_late, JUMPED_LIFT),
    Case("b5-lift-jumped-early-0.8s-offline", "straight to 75 % MVC, 0.8 s before the cue",
         B5, "offline", jumped_early, JUMPED_LIFT),
    Case("b5-lift-two-floors-live", "25 then 50 % MVC, floor 3 never reached", B5, "live",
         two_floors, TWO_FLOOR_LIFT),
    *_both("a2-holds-17s-10s", "as long as she can: 17 s, then 10 s, at 50 % MVC", A2,
           a2_holds, A2_CHECKS),
    Case("perfect-fatigue-live", "E 6 s, two such holds then 3 s ones (R 2), 10 strong "
         "flicks (F 10)", PERFECT, "live", perfect_tiring, PERFECT_CHECKS),
    Case("glazer-known-live", "rest 3 µV, flicks and tonic holds at 42 µV (reaction 0.5 s, "
         "let go 0.5 s after the relax cue), 60 s at 50 %, rest after +1.5 µV", GLAZER,
         "live", glazer_known, GLAZER_CHECKS),
    Case("b3-cough-knack-live", "abdominals fire with each cough, the pelvic floor 0.2 s "
         "before it", COUGH, "live", knack, KNACK_CHECKS),
    Case("b3-cough-knack-late-live", "the pelvic floor 0.3 s after each cough", COUGH, "live",
         knack_late, KNACK_LATE_CHECKS),
]

# the (case, check) pairs the program gets wrong today (``benchmarks/bench_clinical.py -v``
# on the working tree of the redesign, issue 22): each is an expected failure, strictly, so
# one that comes right must leave this set
KNOWN_WRONG: set[tuple[str, str]] = set()  # every judgement of these cases is right now:
# the flicks' rests end at her next flick, assessments never say "te kort", a flick's rise is
# timed to its peak and Glazer's release from the relax cue (issue 22)
