"""The known-truth corpus (issue 21, ``tests/truth``): one test per (case, check), so a
failing judgement names itself. Checks of features still being built fail on purpose: they
are the measure of the work (``benchmarks/bench_clinical.py`` counts them)."""

import numpy as np
import pyedflib
import pytest
from truth import cases, model, schedule
from truth.cases import CASES, evaluate

PAIRS = [(case, check) for case in CASES for check in case.checks]


@pytest.mark.parametrize(("case", "check"), PAIRS,
                         ids=[f"{case.name}::{check.name}" for case, check in PAIRS])
def test_truth(case, check):
    ok, why = evaluate(case, check)
    assert ok, f"{case.name} ({case.about}): {check.name} is wrong\n{why}"


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

    for pid in {c.protocol for c in CASES}:
        plan = schedule.plan(pid)
        session = Session(protocols.load(pid), (Channel("pfm", "emg", "uV"),), model.FS_HZ)
        assert plan.start_s == pytest.approx(session.start_s)
        works = [s.start_s for s in protocols.load(pid).timeline() if s.phase.kind == "work"]
        works = [session.start_s + t - works[0] for t in works]
        assert [c.t_s for c in plan.cues if not c.calibration] == pytest.approx(works)


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
