"""The corpus: each case a recording (how it is made), the path it takes through the program
(live, offline, command line) and its truth as named checks on the result dict.

The truth is what a physiotherapist would conclude from the known signal (issue 21), not what
the program happens to do: a repetition on an artefact is "not judged", an MVC is the
patient's own plateau (µV RMS of the envelope, ±25 %), a weak signal is said, a pressure-only
session carries its caveat. Many checks fail until issue 21 is built; they are left failing
on purpose, so the count of correct judgements (``benchmarks/bench_clinical.py``) is honest.

To add a case: write its recording as ``session(...)`` plus artefacts (``with_*`` below), and
append ``Case(name, about, protocol, path, make, checks)`` to ``CASES``; the tests and the
benchmark pick it up.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

import numpy as np

from . import model, progress, run
from .model import FS_HZ, Interval, Recording, Signal
from .schedule import Act, Patient, Plan, acts, plan

TOL = 0.25  # calibration numbers: the truth ±25 %
RATIO_TOL = 0.35  # MVC / rest: two numbers each ±25 %, robustly estimated
ARTEFACT_FLAGS = ("not_judged", "lead_off", "spikes", "burst", "saturation", "mains", "motion",
                  "signal_gap")
# added to every seed: the truth must hold for any draw of the noise, not one lucky one
# (``bench_clinical.py --seed N`` runs the corpus on other draws)
SEED_OFFSET = 0


# --- recordings ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Made:
    """A recording with its truth: the plan it follows, what the patient did, who she is."""

    recording: Recording
    plan: Plan
    acts: tuple[Act, ...]
    patient: Patient

    def act(self, kind: str, n: int) -> Act:
        """("rep", 3): the third repetition; ("cal", 2): the second calibration squeeze."""
        return next(a for a in self.acts if a.key == (kind, n))

    def rest_after(self, rep: int) -> Interval:
        """The rest phase after a repetition's work, on the recording clock."""
        cue = self.act("rep", rep).cue
        nxt = [a.cue.t_s for a in self.acts if a.cue.t_s > cue.t_s]
        end = nxt[0] if nxt else self.plan.duration_s
        return Interval(cue.t_s + cue.phase.duration_s, end)

    def with_emg(self, data: np.ndarray, **artefacts: list[Interval]) -> Made:
        sig = replace(self.recording.signal("pfm"), data=data)
        return replace(self, recording=self.recording.with_signal(sig, **artefacts))

    @property
    def emg(self) -> np.ndarray:
        return self.recording.signal("pfm").data


def session(protocol_id: str, patient: Patient | None = None, seed: int = 1, emg: bool = True,
            pressure: bool = False,
            emg_range: tuple[float, float] = model.EMG_RANGE_UV,
            calibration: str | None = None) -> Made:
    """A live session's recording (calibration first) of one patient, one seed."""
    patient = patient or Patient()
    p = plan(protocol_id, calibration, patient)
    rng = np.random.default_rng(seed + SEED_OFFSET)
    done = tuple(acts(p, patient, rng))
    sigs = []
    if emg:
        raw, _ = model.emg(p.duration_s, patient.rest_uv, [a.emg for a in done], rng)
        sigs.append(Signal("pfm", "emg", "uV", raw, emg_range))
    if pressure:
        pr = model.pressure(p.duration_s, patient.rest_cmh2o, [a.pressure for a in done], rng)
        sigs.append(Signal("pressure", "pressure", "cmH2O", pr, model.PRESSURE_RANGE_CMH2O))
    return Made(model.Recording(FS_HZ, tuple(sigs)), p, done, patient)


def with_burst(made: Made, kind: str, n: int, after_s: float = 2.0, swing: bool = False,
               seed: int = 11) -> Made:
    """A 0.4 s cable burst ``after_s`` into a squeeze's plateau, at 5x her MVC RMS."""
    mvc = made.patient.mvc_uv
    t0 = made.act(kind, n).emg.plateau.start_s + after_s
    rng = np.random.default_rng(seed + SEED_OFFSET)
    data, where = model.cable_burst(made.emg, t0, 5 * mvc, rng,
                                    swing_uv=3 * mvc if swing else 0.0)
    return made.with_emg(data, burst=[where])


def with_lead_off(made: Made, rep: int, after_s: float = 1.0) -> Made:
    t0 = made.act("rep", rep).emg.plateau.start_s + after_s
    data, where = model.lead_off(made.emg, t0)
    return made.with_emg(data, lead_off=[where])


def with_spikes_in_rest(made: Made, rep: int) -> Made:
    rest = made.rest_after(rep)
    data, where = model.spikes(made.emg, [rest.start_s + d for d in (1.5, 2.3, 3.1)])
    return made.with_emg(data, spikes=[where])


def with_saturation(made: Made, rep: int) -> Made:
    """Clipped at the device's range; the truth demands it clipped in ``rep`` only."""
    lo, hi = made.recording.signal("pfm").range
    data, where = model.saturate(made.emg, lo, hi)
    sq = made.act("rep", rep).emg
    if not where or not all(w.overlaps(sq.onset_s, sq.end_s) for w in where):
        raise AssertionError(f"saturation outside repetition {rep}: {where}")
    return made.with_emg(data, saturation=where)


def with_hum(made: Made, amp_uv: float = 20.0) -> Made:
    data, where = model.mains_hum(made.emg, amp_uv)
    return made.with_emg(data, mains=[where])


# --- checks ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Check:
    name: str
    test: Callable[[dict], bool]


def _rep(result: dict, i: int) -> dict | None:
    return next((r for r in result.get("reps", []) if r.get("index") == i), None)


def _judged(r: dict) -> bool:
    return "not_judged" not in r.get("flags", [])


def _near(value: float | None, truth: float, tol: float) -> bool:
    return value is not None and math.isfinite(value) and abs(value - truth) <= tol * truth


def _sc(result: dict) -> dict:
    return result["summary"]["signal_check"]


def reps_scored(n: int) -> Check:
    return Check(f"{n}_reps_scored", lambda res: len(res["reps"]) == n)


def met(i: int) -> Check:
    def test(res: dict) -> bool:
        r = _rep(res, i)
        return r is not None and r["met"] is True and _judged(r)
    return Check(f"rep{i}_met", test)


def all_met(n: int) -> list[Check]:
    return [met(i) for i in range(1, n + 1)]


def not_judged(i: int) -> Check:
    def test(res: dict) -> bool:
        r = _rep(res, i)
        return r is not None and not _judged(r) and r["met"] is not True
    return Check(f"rep{i}_not_judged", test)


def not_judged_or(i: int, flag: str) -> Check:
    def test(res: dict) -> bool:
        r = _rep(res, i)
        return r is not None and ((not _judged(r) and r["met"] is not True)
                                  or flag in r["flags"])
    return Check(f"rep{i}_not_judged_or_{flag}", test)


def met_or_not_judged(i: int) -> Check:
    def test(res: dict) -> bool:
        r = _rep(res, i)
        return r is not None and (r["met"] is True or not _judged(r))
    return Check(f"rep{i}_met_or_not_judged", test)


def has(i: int, flag: str) -> Check:
    return Check(f"rep{i}_{flag}",
                 lambda res: (r := _rep(res, i)) is not None and flag in r["flags"])


def lacks(i: int, *flags: str) -> Check:
    return Check(f"rep{i}_no_{'_or_'.join(flags)}",
                 lambda res: (r := _rep(res, i)) is not None
                 and not set(flags) & set(r["flags"]))


def nowhere(flag: str) -> Check:
    return Check(f"no_{flag}_on_any_rep",
                 lambda res: not any(flag in r["flags"] for r in res["reps"]))


def no_artefact_flags() -> Check:
    return Check("no_artefact_flags", lambda res: not any(
        set(ARTEFACT_FLAGS) & set(r["flags"]) for r in res["reps"]))


def judged_peaks_at_most(pct: float = 150.0) -> Check:
    """An artefact never becomes a peak: every judged repetition's peak is the patient's."""
    return Check(f"no_judged_peak_over_{pct:g}pct_mvc", lambda res: all(
        r.get("peak_pct_mvc") is None or r["peak_pct_mvc"] <= pct
        for r in res["reps"] if _judged(r)))


def calibration_near(key: str, truth: float, channel: str = "pfm", tol: float = TOL) -> Check:
    return Check(f"{channel}_{key}_within_{tol:.0%}_of_{truth:.3g}",
                 lambda res: _near(res["calibration"][channel][key], truth, tol))


def calibration_source(source: str, channel: str = "pfm") -> Check:
    return Check(f"{channel}_calibration_source_{source}",
                 lambda res: res["calibration"][channel]["source"] == source)


def signal_check_is(key: str, value: object) -> Check:
    return Check(f"signal_check_{key}_{value}", lambda res: _sc(res)[key] is value)


def signal_check_near(key: str, truth: float, tol: float = TOL) -> Check:
    return Check(f"signal_check_{key}_within_{tol:.0%}_of_{truth:.3g}",
                 lambda res: _near(_sc(res)[key], truth, tol))


def squeezes_near(truths: list[float], tol: float = TOL) -> Check:
    def test(res: dict) -> bool:
        got = _sc(res)["squeezes"]
        return got is not None and len(got) == len(truths) and all(
            _near(g, t, tol) for g, t in zip(got, truths, strict=True))
    return Check(f"signal_check_squeezes_near_{'_'.join(f'{t:g}' for t in truths)}", test)


def text_has(lang: str, phrase: str) -> Check:
    return Check(f"text_{lang}_says_{phrase.replace(' ', '_')}",
                 lambda res: phrase.lower() in res["summary"][f"text_{lang}"].lower())


def patient_has(lang: str, phrase: str) -> Check:
    return Check(f"patient_text_{lang}_says_{phrase.replace(' ', '_')}",
                 lambda res: phrase.lower() in res["summary"][f"patient_text_{lang}"].lower())


def text_lacks(lang: str, phrase: str) -> Check:
    return Check(f"text_{lang}_not_{phrase.replace(' ', '_')}",
                 lambda res: phrase.lower() not in res["summary"][f"text_{lang}"].lower())


def summary_is(key: str, value: object) -> Check:
    return Check(f"summary_{key}_{value}", lambda res: res["summary"][key] == value)


# --- truths shared by several cases ----------------------------------------------------------

def rest_truth(p: Patient) -> float:
    """The rest envelope: her rest and the amplifier's noise, in quadrature."""
    return math.hypot(p.rest_uv, model.AMP_NOISE_UV)


def calibrated(p: Patient) -> list[Check]:
    """MVC and rest are hers (envelope µV RMS, ±25 %)."""
    return [calibration_near("mvc", p.mvc_uv), calibration_near("baseline_mean", rest_truth(p))]


def strong_emg(p: Patient) -> list[Check]:
    """A strong EMG signal: not weak, not pressure-only, no weak-signal sentence."""
    return [signal_check_is("weak", False), signal_check_is("pressure_only", False),
            text_lacks("nl", "zwak signaal"), text_lacks("en", "weak signal")]


def signal_numbers(p: Patient) -> list[Check]:
    rest = rest_truth(p)
    return [signal_check_near("mvc", p.mvc_uv), signal_check_near("rest", rest),
            signal_check_near("ratio", p.mvc_uv / rest, RATIO_TOL)]


def clean(p: Patient, reps: int) -> list[Check]:
    return [reps_scored(reps), *all_met(reps), no_artefact_flags(), judged_peaks_at_most(),
            *strong_emg(p)]


def live_calibration(p: Patient) -> list[Check]:
    """Calibrated from three squeezes that agree."""
    return [calibration_source("session"), *calibrated(p), signal_check_is("squeezes_agree", True),
            squeezes_near([p.mvc_uv] * 3), *signal_numbers(p)]


def estimated(p: Patient | None) -> list[Check]:
    """Offline without a recorded calibration: estimated from the recording, and said."""
    out = [calibration_source("estimated"), text_has("nl", "geschat uit de opname")]
    return out + (calibrated(p) if p is not None else [])


def weak(p: Patient) -> list[Check]:
    return [signal_check_is("weak", True), text_has("nl", "zwak signaal"),
            text_has("en", "weak signal"), *signal_numbers(p), *calibrated(p)]


def pressure_session() -> list[Check]:
    """Pressure alone: said, with its caveat, and never clipped in its wide range."""
    return [signal_check_is("pressure_only", True), text_has("nl", "alleen druk"),
            text_has("en", "pressure alone"), nowhere("saturation")]


# --- the corpus ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    name: str
    about: str
    protocol: str
    path: str  # a key of ``run.PATHS``
    make: Callable[[], Made]
    checks: tuple[Check, ...]

    def result(self) -> dict:
        """Run once per process (every check of the case reads the same result)."""
        if self.name not in _RESULTS and self.path == "history":  # several sessions
            mades, pids, use_visit = self.make()
            _RESULTS[self.name] = progress.record_all(mades, pids, use_visit)
        if self.name not in _RESULTS:
            made = self.make()
            go = run.PATHS[self.path]
            args = () if self.path == "live" else (made.plan.start_s,)
            _RESULTS[self.name] = go(made.recording, self.protocol, *args)
        return _RESULTS[self.name]


_RESULTS: dict[str, dict] = {}

A1 = "a1-strength"
NORMAL = Patient()
SATURATING = Patient(mvc_uv=30.0, levels={("rep", 5): 80.0})
WEAK_15 = Patient(mvc_uv=4.5)
WEAK_2 = Patient(mvc_uv=6.0)
DISAGREE = Patient(levels={("cal", 1): 25.0, ("cal", 2): 42.0, ("cal", 3): 70.0})
PUSHER = Patient(pushes=frozenset({2, 4}))
A1_CLEAN = partial(session, A1)


def _burst_hold3() -> Made:
    return with_burst(A1_CLEAN(seed=2), "rep", 3, swing=True)


def _saturated() -> Made:
    return with_saturation(session(A1, SATURATING, seed=3, emg_range=(-150.0, 150.0)), 5)


def _pressure(patient: Patient = NORMAL) -> Made:
    return session(A1, patient, seed=4, emg=False, pressure=True)


def _b2() -> Made:
    return session("b2-contract-relax", seed=5)


BURST3 = [not_judged(3), met(1), met(2), met(4), met(5), judged_peaks_at_most()]
SATURATED = [not_judged_or(5, "saturation"), *[met(i) for i in range(1, 5)],
             *[lacks(i, "saturation") for i in range(1, 5)]]
PUSHES = [has(2, "possible_straining"), has(4, "possible_straining"),
          *[lacks(i, "possible_straining") for i in (1, 3, 5)]]

CASES: list[Case] = [
    Case("a1-clean-live", "5 holds of 5 s at 42 µV, rest 3 µV", A1, "live", A1_CLEAN,
         (*clean(NORMAL, 5), *live_calibration(NORMAL))),
    Case("a1-clean-offline", "the same, a plain EDF+ analysed", A1, "offline", A1_CLEAN,
         (*clean(NORMAL, 5), *estimated(NORMAL))),
    Case("a1-clean-cli", "the same, through `bbfeedback analyze --json`", A1, "cli",
         A1_CLEAN, (*all_met(5), no_artefact_flags(), *estimated(NORMAL))),
    Case("a1-burst-hold3-live", "0.4 s cable burst (5x MVC RMS, with a swing) in hold 3", A1,
         "live", _burst_hold3, (*BURST3, *calibrated(NORMAL))),
    Case("a1-burst-hold3-offline", "the same, offline: the burst must not become the MVC",
         A1, "offline", _burst_hold3, (*BURST3, *calibrated(NORMAL))),
    Case("a1-burst-calibration2-live", "cable burst in calibration squeeze 2", A1, "live",
         lambda: with_burst(A1_CLEAN(seed=6), "cal", 2, after_s=1.0),
         (reps_scored(5), *all_met(5), calibration_near("mvc", NORMAL.mvc_uv),
          judged_peaks_at_most())),
    Case("a1-leadoff-hold2-live", "2.5 s lead-off (exactly 0 µV) in hold 2", A1, "live",
         lambda: with_lead_off(A1_CLEAN(seed=7), 2),
         (not_judged(2), lacks(2, "short_hold"), met(1), met(3), met(4), met(5),
          *calibrated(NORMAL))),
    Case("a1-spikes-rest4-live", "three 2 ms spikes of 600 µV in the rest after hold 4", A1,
         "live", lambda: with_spikes_in_rest(A1_CLEAN(seed=8), 4),
         (lacks(4, "incomplete_relaxation", "tense_rest"), met_or_not_judged(4), met(1),
          met(2), met(3), met(5), judged_peaks_at_most(), *calibrated(NORMAL))),
    Case("a1-saturation-hold5-live", "±150 µV device, hold 5 at 80 µV RMS (MVC 30)", A1,
         "live", _saturated, (*SATURATED, calibration_near("mvc", SATURATING.mvc_uv))),
    Case("a1-saturation-hold5-offline", "the same from the EDF header's range", A1,
         "offline", _saturated, tuple(SATURATED)),
    Case("a1-pressure-clean-live", "pressure probe only, 5 quick-rising squeezes", A1,
         "live", _pressure,
         (*all_met(5), *pressure_session(), nowhere("possible_straining"),
          calibration_near("mvc", NORMAL.squeeze_cmh2o, "pressure"))),
    Case("a1-pressure-clean-offline", "the same, offline", A1, "offline", _pressure,
         (*all_met(5), *pressure_session(), nowhere("possible_straining"))),
    Case("a1-pressure-valsalva-live", "pressure only; holds 2 and 4 are Valsalva pushes", A1,
         "live", lambda: _pressure(PUSHER), (*PUSHES, *pressure_session())),
    Case("a1-weak-1.5x-live", "MVC 1.5x rest (4.5 µV over 3 µV)", A1, "live",
         lambda: session(A1, WEAK_15, seed=9), tuple(weak(WEAK_15))),
    Case("a1-weak-2x-live", "MVC 2x rest (6 µV over 3 µV)", A1, "live",
         lambda: session(A1, WEAK_2, seed=10), tuple(weak(WEAK_2))),
    Case("a1-squeezes-disagree-live", "calibration squeezes at 25, 42 and 70 µV: one more is "
         "asked for, and she makes it at 42", A1, "live",
         lambda: session(A1, DISAGREE, seed=12),
         (signal_check_is("squeezes_agree", False), calibration_near("mvc", 42.0),
          squeezes_near([25.0, 42.0, 70.0, 42.0]), signal_check_is("one_more_asked", True),
          signal_check_is("one_more_confirmed", True), *all_met(5))),
    Case("a1-mains-hum-live", "clean a1 under 20 µV of 50 Hz hum", A1, "live",
         lambda: with_hum(A1_CLEAN(seed=13)),
         (*clean(NORMAL, 5), *calibrated(NORMAL))),
    Case("b2-clean-live", "8 contract-relax at 60 % effort, gentle calibration at 50 %",
         "b2-contract-relax", "live", _b2,
         (*clean(NORMAL, 8), *calibrated(NORMAL), calibration_source("session-gentle"))),
    Case("b2-clean-offline", "the same offline (no maximal squeeze in the file: MVC unknown)",
         "b2-contract-relax", "offline", _b2,
         (reps_scored(8), *all_met(8), no_artefact_flags(), *estimated(None))),
    Case("a3-clean-live", "12 quick squeezes to MVC, no fading", "a3-quick", "live",
         lambda: session("a3-quick", seed=14),
         (*clean(NORMAL, 12), summary_is("quick_count", 12), *calibrated(NORMAL))),
    Case("b3-long-hold-clean-live", "5 holds of 5 s at 60 % effort, gentle calibration "
         "(leaflet B: no maximal squeezes)", "b3-long-hold", "live",
         lambda: session("b3-long-hold", seed=15),
         (*clean(NORMAL, 5), *calibrated(NORMAL), calibration_source("session-gentle"))),
]



# --- sessions over weeks, and one visit: recorded live, added to a history ------------------
def _series(mvcs: list[float], rests: list[float] | None = None):
    """Six a1 sessions of one patient: her MVC (and rest) in each, known."""
    rests = rests or [3.0] * len(mvcs)
    mades = [session(A1, Patient(rest_uv=r, mvc_uv=m), seed=200 + k)
             for k, (m, r) in enumerate(zip(mvcs, rests, strict=True))]
    return mades, [A1] * len(mades), False


def _changes(result: dict, metric: str, key: str) -> list[str]:
    """Each later session's verdict on ``metric`` (``key``: vs_first, vs_previous)."""
    return [row["changes"][metric][key]["verdict"] for row in result["progress"][1:]]


def _trend(result: dict, metric: str) -> dict:
    return result["progress"][-1]["changes"][metric]["trend"]


STEADY = [20.0, 26.0, 32.0, 38.0, 44.0, 50.0]
NOISE = [40.0, 42.4, 38.7, 41.3, 39.2, 40.8]
JUMP = [20.0, 21.0, 20.0, 40.0, 41.0, 40.0]
REST_SAME = [3.0, 3.2, 2.9, 3.1, 2.85, 3.05]
VISIT = ["a1-strength", "a3-quick", "b2-contract-relax", "b3-long-hold"]


def _visit():
    """Four exercises in one visit: the first calibrates, the next ones only rest."""
    mades = [session(pid, seed=300 + k, calibration=None if k == 0 else "visit")
             for k, pid in enumerate(VISIT)]
    return mades, VISIT, True


PROGRESS_CASES = [
    Case("progress-steady-gain", "MVC 20, 26, 32, 38, 44, 50 µV over six sessions", A1,
         "history", lambda: _series(STEADY),
         (Check("mvc_improved_vs_first_at_the_end",
                lambda r: _changes(r, "mvc", "vs_first")[-1] == "improved"),
          Check("mvc_trend_improving_steadily",
                lambda r: _trend(r, "mvc")["verdict"] == "improving"
                and _trend(r, "mvc")["shape"] == "steady"),
          Check("never_a_decline", lambda r: "declined" not in
                _changes(r, "mvc", "vs_first") + _changes(r, "mvc", "vs_previous")))),
    Case("progress-noise-only", "MVC 40 µV ± 3 over six sessions", A1, "history",
         lambda: _series(NOISE),
         (Check("no_change_claimed", lambda r: not {"improved", "declined"} & set(
             _changes(r, "mvc", "vs_first") + _changes(r, "mvc", "vs_previous"))),
          Check("no_trend", lambda r: _trend(r, "mvc")["verdict"] == "no_trend"))),
    Case("progress-one-jump", "MVC 20, 21, 20, then 40, 41, 40 µV", A1, "history",
         lambda: _series(JUMP),
         (Check("improved_vs_first_from_session_4_only",
                lambda r: _changes(r, "mvc", "vs_first") == ["within_error"] * 2
                + ["improved"] * 3),
          Check("one_improved_step", lambda r: _changes(r, "mvc", "vs_previous").count(
              "improved") == 1 and "declined" not in _changes(r, "mvc", "vs_previous")),
          Check("trend_is_one_step_up", lambda r: _trend(r, "mvc")["verdict"] == "improving"
                and _trend(r, "mvc")["shape"] == "step"))),
    Case("progress-rest-unchanged", "rest 3.0 µV ± 0.2 in µV, MVC 40 µV", A1, "history",
         lambda: _series([40.0] * 6, REST_SAME),
         (Check("rest_within_error_every_time", lambda r: set(
             _changes(r, "rest", "vs_first") + _changes(r, "rest", "vs_previous"))
             == {"within_error"}),
          Check("rest_no_trend", lambda r: _trend(r, "rest")["verdict"] == "no_trend"),
          Check("rest_judged_in_uV", lambda r: all(
              row["changes"]["rest"]["unit"] == "uV" for row in r["progress"])))),
    Case("visit-four-exercises-one-calibration", "a1, a3, b2, b3 in one visit", A1,
         "history", _visit,
         (Check("first_calibrates", lambda r: r["calibrations"][0]["pfm"]["source"]
                == "session"),
          Check("the_others_take_its_mvc", lambda r: all(
              c["pfm"]["source"] == "session-visit"
              and c["pfm"]["mvc"] == r["calibrations"][0]["pfm"]["mvc"]
              for c in r["calibrations"][1:])),
          Check("the_others_still_met", lambda r: all(
              row["reps_met"] == row["reps"] for row in r["progress"][1:])),
          Check("copied_mvc_not_judged_as_progress", lambda r: all(
              row["changes"]["mvc"]["vs_previous"]["verdict"] in ("not_measured", "first")
              for row in r["progress"][1:])))),
]
FILE_EQUALS_LIVE = Check("every_file_scores_as_it_did_live",
                         lambda r: len(r["file_equals_live"]) > 1 and all(r["file_equals_live"]))
PROGRESS_CASES = [replace(c, checks=(*c.checks, FILE_EQUALS_LIVE)) for c in PROGRESS_CASES]
CASES += PROGRESS_CASES

def by_name(name: str) -> Case:
    return next(c for c in CASES if c.name == name)


def evaluate(case: Case, check: Check) -> tuple[bool, str]:
    """(passed, why not): a check that cannot read what it needs (a key not there yet)
    fails, with the reason."""
    try:
        result = case.result()
    except Exception as exc:  # the program failed on the recording: every check fails
        return False, f"the run raised {type(exc).__name__}: {exc}"
    try:
        ok = bool(check.test(result))
    except (KeyError, IndexError, TypeError, StopIteration) as exc:
        return False, f"{type(exc).__name__}: {exc} not in the result"
    return ok, "" if ok else describe(result)


def describe(result: dict) -> str:
    """What the program said, briefly: for the message of a failed check."""
    reps = [(r.get("index"), r.get("met"), r.get("flags"), r.get("hold_s"),
             r.get("peak_pct_mvc")) for r in result.get("reps", [])]
    cal = {k: (round(v["baseline_mean"], 2), v["mvc"] and round(v["mvc"], 2), v["source"])
           for k, v in result.get("calibration", {}).items()}
    summ = result.get("summary", {})
    return (f"reps (index, met, flags, hold_s, peak %MVC): {reps}\ncalibration: {cal}\n"
            f"signal_check: {summ.get('signal_check')}\ntext_en: {summ.get('text_en')}")


from .cases_timing import TIMING_CASES  # noqa: E402  (issue 22; it reads the names above)

CASES += TIMING_CASES
