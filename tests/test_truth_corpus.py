"""The known-truth corpus (issue 21, ``tests/truth``): one test per (case, check), so a
failing judgement names itself. Checks of features still being built fail on purpose: they
are the measure of the work (``benchmarks/bench_clinical.py`` counts them)."""

import numpy as np
import pyedflib
import pytest
from truth import cases, cases_timing, model, schedule
from truth.cases import CASES, evaluate
from truth.cases_timing import KNOWN_WRONG

# issue 22: the judgements the program gets wrong today are expected to fail, strictly: one
# that comes right fails the run until it leaves ``cases_timing.KNOWN_WRONG``
BEING_BUILT = pytest.mark.xfail(strict=True, reason="issue 22: being built")
PAIRS = [pytest.param(case, check, id=f"{case.name}::{check.name}",
                      marks=BEING_BUILT if (case.name, check.name) in KNOWN_WRONG else ())
         for case in CASES for check in case.checks]


@pytest.mark.parametrize(("case", "check"), PAIRS)
def test_truth(case, check):
    ok, why = evaluate(case, check)
    assert ok, f"{case.name} ({case.about}): {check.name} is wrong\n{why}"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_no_contraction_has_no_timing_of_one(case):
    """Walkthrough: "geen aanspanning, traag ontspannen" with a release of 2,51 s. A
    repetition without a squeeze of hers has no rise, no release and no latency flag."""
    for rep in case.result().get("reps") or ():
        if "no_contraction" in rep["flags"]:
            assert not {"late_onset", "slow_release"} & set(rep["flags"]), rep
            assert rep["release_s"] is None and rep["rise_s"] is None, rep


def test_known_wrong_names_real_checks():
    """Every pair in ``KNOWN_WRONG`` is a (case, check) of the corpus: a renamed check does
    not linger there."""
    pairs = {(case.name, check.name) for case in CASES for check in case.checks}
    assert KNOWN_WRONG <= pairs, sorted(KNOWN_WRONG - pairs)


def test_check_names_are_unique_per_case():
    """A repeated name would hide a check behind another in the counts."""
    for case in CASES:
        names = [c.name for c in case.checks]
        assert len(names) == len(set(names)), case.name
    assert len({c.name for c in CASES}) == len(CASES)


# --- the judge judged: the model makes what the truth says it made ---------------------------

def test_carrier_is_unit_rms_semg_band():
    """Unit RMS, so the envelope is the µV RMS truth; median frequency as pelvic-floor sEMG."""
    x = model.emg_carrier(60_000, model.FS_HZ, np.random.default_rng(0))
    assert np.sqrt(np.mean(x**2)) == pytest.approx(1.0)
    f = np.fft.rfftfreq(x.size, 1 / model.FS_HZ)
    power = np.cumsum(np.abs(np.fft.rfft(x)) ** 2)
    assert 80 <= f[np.searchsorted(power, power[-1] / 2)] <= 130
    assert power[np.searchsorted(f, 20)] < 0.01 * power[-1]  # nothing below 20 Hz


def test_recordings_are_deterministic_per_seed():
    a, b = cases.session("a1-strength", seed=3), cases.session("a1-strength", seed=3)
    assert np.array_equal(a.emg, b.emg)
    assert not np.array_equal(a.emg, cases.session("a1-strength", seed=4).emg)


def test_plateaus_have_their_true_rms():
    made = cases.session("a1-strength")
    for act in made.acts:
        p = act.emg.plateau
        seg = made.emg[int(p.start_s * model.FS_HZ):int(p.end_s * model.FS_HZ)]
        assert np.sqrt(np.mean(seg**2)) == pytest.approx(made.patient.mvc_uv, rel=0.1)
    rest = made.emg[2000:9000]  # the calibration rest
    assert np.sqrt(np.mean(rest**2)) == pytest.approx(cases.rest_truth(made.patient), rel=0.1)


def test_plan_starts_where_the_session_does():
    """The corpus's clock is the live session's: its first work cue and its cue times."""
    from bbfeedback.exercise import protocols
    from bbfeedback.exercise.session import Session
    from bbfeedback.signal.blocks import Channel

    for pid in sorted({c.protocol for c in CASES}):
        timeline = protocols.load(pid).timeline()
        session = Session(protocols.load(pid), (Channel("pfm", "emg", "uV"),), model.FS_HZ)
        works = [s.start_s for s in timeline if s.phase.kind == "work"]
        works = [session.start_s + t - works[0] for t in works]
        fixed = not any(s.phase.until_fail for s in timeline)  # else the cues follow her
        plans = [schedule.live_plan(pid, schedule.Patient(), np.random.default_rng(0))[0]]
        if fixed and not any(a.phase.kind == b.phase.kind == "work"
                             for a, b in zip(timeline, timeline[1:], strict=False)):
            plans.append(schedule.plan(pid))  # (``plan``: no lift, no until-fail hold)
        for plan in plans:
            assert plan.start_s == pytest.approx(session.start_s), pid
            if fixed:
                assert [c.t_s for c in plan.cues if not c.calibration] == pytest.approx(
                    works), pid


def test_until_fail_cues_fall_where_the_session_put_them():
    """After an as-long-as-possible hold the model's cues are the live session's (its clock
    ends the hold when she lets go): her reaction to them is measured from the right cue."""
    case = cases.by_name("a2-holds-17s-10s-live")
    made = case.make()
    mine = [c.t_s for c in made.plan.cues if not c.calibration]
    theirs = [r["cue_s"] for r in case.result()["reps"]]
    assert theirs == pytest.approx(mine, abs=0.1)


def test_lift_floors_and_knack_are_where_the_cases_put_them():
    """A good lift's floors are her 25, 50, 75 % MVC (envelope RMS over each floor's middle),
    one let-go; a jumped lift is 75 % throughout; each cough's abdominal burst comes at least
    0.2 s after her pelvic floor's onset (the Knack), or 0.3 s before it (late)."""
    for make, floors in ((cases_timing.lift_late, (25.0, 50.0, 75.0)),
                         (cases_timing.jumped_early, (75.0, 75.0, 75.0))):
        made = make()
        p = made.patient
        first = made.act("rep", 2).emg
        t, levels = first.onset_s + 0.3, []
        for _ in floors:
            seg = made.emg[int((t + 0.8) * model.FS_HZ):int((t + 2.8) * model.FS_HZ)]
            levels.append(float(np.sqrt(np.mean(seg**2))))
            t += 3.5
        truth = [cases_timing.level_uv(p, f) for f in floors]
        assert levels == pytest.approx(truth, rel=0.12)
    fs = model.FS_HZ

    def rms(x: np.ndarray, a: float, b: float) -> float:
        return float(np.sqrt(np.mean(x[int(a * fs):int(b * fs)] ** 2)))

    for make, late in ((cases_timing.knack, False), (cases_timing.knack_late, True)):
        made = make()
        abd = made.recording.signal("abd").data
        for rep in cases_timing.COUGH_REPS:
            onset, cough, _ = cases_timing._coughs(made.plan, rep, late)
            assert made.act("rep", rep).emg.onset_s == pytest.approx(onset)
            assert (onset - cough == pytest.approx(cases_timing.LATE_BY_S) if late
                    else cough - onset >= cases_timing.KNACK_LEAD_S - 1e-9)
            assert rms(abd, cough + 0.1, cough + 0.3) > 5 * rms(abd, cough - 0.3, cough)
            assert rms(made.emg, onset + 0.3, onset + 0.8) > 5 * rms(made.emg, onset - 0.3,
                                                                     onset)


def test_artefacts_are_where_the_cases_put_them():
    burst = cases._burst_hold3()
    hold3 = burst.act("rep", 3).emg.plateau
    (b,) = burst.recording.artefacts["burst"]
    assert hold3.start_s < b.start_s < b.end_s < hold3.end_s
    off = cases.with_lead_off(cases.session("a1-strength", seed=7), 2)
    (lo,) = off.recording.artefacts["lead_off"]
    seg = off.emg[int(lo.start_s * model.FS_HZ) + 1:int(lo.end_s * model.FS_HZ) - 1]
    assert not seg.any() and off.act("rep", 2).emg.plateau.overlaps(lo.start_s, lo.end_s)
    spiked = cases.with_spikes_in_rest(cases.session("a1-strength", seed=8), 4)
    (sp,) = spiked.recording.artefacts["spikes"]
    rest = spiked.rest_after(4)
    assert rest.start_s < sp.start_s < sp.end_s < rest.end_s
    assert not spiked.act("rep", 4).emg.plateau.overlaps(sp.start_s, sp.end_s)
    sat = cases._saturated()
    hold5 = sat.act("rep", 5).emg
    assert all(w.overlaps(hold5.onset_s, hold5.end_s) for w in sat.recording.artefacts[
        "saturation"])
    assert np.abs(sat.recording.matrix()).max() == 150.0


def test_edf_keeps_signal_and_device_range(tmp_path):
    sat = cases._saturated()
    path = model.write_edf(tmp_path / "t.edf", sat.recording)
    with pyedflib.EdfReader(str(path)) as r:
        assert r.getLabel(0) == "pfm" and r.getPhysicalDimension(0) == "uV"
        assert (r.getPhysicalMinimum(0), r.getPhysicalMaximum(0)) == (-150.0, 150.0)
        back = r.readSignal(0)
    assert np.abs(back - sat.recording.matrix()[:, 0]).max() < 0.01
