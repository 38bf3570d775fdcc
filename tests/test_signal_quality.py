"""The signal-quality stage and the robust calibration behind every score (issue 21):
artefacts are marked, never become a rest, an MVC or a peak, and a repetition on one is
not judged; one calibration serves a visit."""

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from conftest import BB

from bbfeedback.app.analyze import analyze
from bbfeedback.app.visit import VISIT_S, visit_calibration
from bbfeedback.detect.calibration import (
    CalibrationEstimate,
    baseline_from_rest,
    confirmed_max,
    squeezes_agree,
)
from bbfeedback.exercise import protocols
from bbfeedback.exercise.signal_quality import (
    BAND_WINDOW_S,
    MARK_BEFORE_S,
    MarkKind,
    SignalQuality,
)
from bbfeedback.recording import Signal, read_recording
from bbfeedback.recording.edf import write_edf
from bbfeedback.signal.blocks import EMG, PRESSURE, Block, Channel
from bbfeedback.signal.pipeline import Pipeline

FS = 1000.0
EMG_CH = (Channel("pfm", EMG, "uV"),)


def emg(seconds: float, level_uV: float, seed: int = 0) -> np.ndarray:
    """Gaussian noise of a given RMS: the statistics the detectors rely on."""
    return np.random.default_rng(seed).normal(0.0, level_uV, int(seconds * FS))


def marks_of(x: np.ndarray, block_s: float = 0.1, ranges=None, kind=EMG):
    channels = (Channel("pfm" if kind == EMG else "pressure", kind,
                        "uV" if kind == EMG else "cmH2O"),)
    pipe = Pipeline(channels, FS)
    q = SignalQuality.for_pipeline(pipe, ranges)
    n = max(1, int(block_s * FS))
    for a in range(0, x.size, n):
        raw = Block(x[a:a + n, None], FS, channels, a)
        q.check(raw)
    q.finish()
    return q.marks


def test_clean_emg_rest_and_contractions_have_no_marks():
    x = np.concatenate([emg(3, 3), emg(2, 45, 1), emg(3, 3, 2), emg(0.5, 60, 3), emg(2, 3, 4)])
    assert marks_of(x) == []


def test_mains_hum_far_above_the_muscle_is_no_spike():
    t = np.arange(int(6 * FS)) / FS
    x = emg(6, 3) + 25 * np.sin(2 * np.pi * 50 * t)
    assert marks_of(x) == []


def test_lead_off_is_marked_where_the_line_is_flat():
    x = np.concatenate([emg(3, 3), np.zeros(int(2.5 * FS)), emg(3, 3, 1)])
    marks = marks_of(x)
    assert [m.kind for m in marks] == [MarkKind.LEAD_OFF]
    assert marks[0].start_s == pytest.approx(3.0, abs=0.1)
    assert 5.5 <= marks[0].end_s <= 5.9  # its end, and the envelope's memory of it


def test_three_spikes_are_marked_each_and_nothing_else():
    x = emg(6, 3)
    for t in (2.0, 3.1, 4.4):
        x[int(t * FS): int(t * FS) + 2] += 600
    marks = marks_of(x)
    assert [m.kind for m in marks] == [MarkKind.SPIKES] * 3
    assert [m.start_s for m in marks] == pytest.approx([2.0 - MARK_BEFORE_S,
                                                        3.1 - MARK_BEFORE_S,
                                                        4.4 - MARK_BEFORE_S], abs=0.002)


def test_a_contraction_onset_is_no_spike_even_from_a_quiet_rest():
    x = np.concatenate([emg(3, 1.5), emg(3, 80, 1), emg(3, 1.5, 2)])
    assert marks_of(x) == []


def test_saturation_against_the_devices_range_and_none_below_it():
    x = emg(6, 20)  # never near 150 µV (7.5 SD)
    clipped = np.clip(x * 8, -150, 150)
    assert {m.kind for m in marks_of(clipped, ranges={"pfm": (-150.0, 150.0)})} == {
        MarkKind.SATURATION}
    assert marks_of(x, ranges={"pfm": (-150.0, 150.0)}) == []


def test_pressure_sitting_still_is_not_clipping():
    """The old rule (identical samples at the running maximum) called a steady pressure
    clipped: the device's range decides now, and pressure never uses that rule."""
    x = np.round(np.concatenate([np.full(2000, 20.0), np.full(3000, 55.0),
                                 np.full(2000, 20.0)]), 1)
    assert marks_of(x, kind=PRESSURE) == []
    assert marks_of(x, kind=PRESSURE, ranges={"pressure": (-100.0, 400.0)}) == []


@pytest.mark.parametrize("block_s", [0.013, 0.25, 10.0])
def test_marks_do_not_depend_on_block_sizes(block_s):
    x = np.concatenate([emg(2, 3), np.zeros(500), emg(2, 40, 1), emg(2, 3, 2)])
    x[3100:3102] += 700
    assert marks_of(x, block_s) == marks_of(x, 0.1)


def test_rest_level_is_robust_to_spikes():
    env = np.full(1000, 3.0) + np.random.default_rng(0).normal(0, 0.2, 1000)
    spiky = env.copy()
    spiky[[100, 400, 700]] = 60.0
    assert baseline_from_rest(spiky)[0] == pytest.approx(baseline_from_rest(env)[0], abs=0.05)
    assert baseline_from_rest(spiky)[1] < 0.5
    assert spiky.mean() > 3.15  # what a mean would have said


@pytest.mark.parametrize("levels, mvc, agree", [
    ([36.0, 38.0, 35.0], 38.0, True),     # agree: the best of three, as ever
    ([40.0, 42.0, 214.0], 42.0, False),   # a cable burst in one: not the MVC
    ([25.0, 42.0, 70.0], 42.0, False),    # none agree: the middle one
    ([30.0], 30.0, None),
])
def test_mvc_is_the_strongest_squeeze_another_confirms(levels, mvc, agree):
    assert confirmed_max(levels) == mvc
    assert squeezes_agree(levels) is agree


def test_estimate_from_a_recording_leaves_out_marks_and_odd_plateaus():
    """Offline, without a calibration: the MVC from the patient's own contractions, a burst
    far above them is not one of them (and marked samples are left out entirely)."""
    fs = 100.0
    env = np.full(int(60 * fs), 3.0)
    for k in range(5):
        a = int((5 + 10 * k) * fs)
        env[a:a + int(5 * fs)] = 42.0
    env[int(27 * fs):int(27.4 * fs)] = 214.0  # a burst in hold 3
    est = CalibrationEstimate(fs, "uV")
    est.add(env)
    cal = est.result()
    assert cal.baseline_mean == pytest.approx(3.0) and cal.mvc == pytest.approx(42.0, rel=0.05)
    est2 = CalibrationEstimate(fs, "uV")
    est2.add(env)
    assert est2.result([(26.9, 27.6)]).mvc == pytest.approx(42.0, rel=0.01)


def _sessions(*rows):
    return [{"started": started.isoformat(timespec="seconds"), "device": {"name": dev},
             "calibration": {"pfm": {"baseline_mean": 3.0, "baseline_sd": 0.3, "mvc": mvc,
                                     "unit": "uV", "source": source}}}
            for started, dev, mvc, source in rows]


def test_one_calibration_per_visit_same_patient_same_device_within_the_visit():
    now = datetime(2026, 12, 7, 10, 0)
    sessions = _sessions((now - timedelta(minutes=20), "p2", 41.0, "session"))
    assert visit_calibration(sessions, "p2", now)["pfm"].mvc == 41.0
    assert visit_calibration(sessions, "cyton", now) == {}  # another device
    later = now + timedelta(seconds=VISIT_S)
    assert visit_calibration(sessions, "p2", later) == {}  # another visit
    # a copied or estimated MVC is no measurement to share
    copied = _sessions((now - timedelta(minutes=5), "p2", 41.0, "session-previous"))
    assert visit_calibration(copied, "p2", now) == {}
    # the latest measured one of the visit
    both = _sessions((now - timedelta(minutes=50), "p2", 30.0, "session"),
                     (now - timedelta(minutes=10), "p2", 44.0, "session-gentle"))
    assert visit_calibration(both, "p2", now)["pfm"].mvc == 44.0


def test_a_burst_in_a_hold_is_not_the_mvc_and_that_hold_is_not_judged(tmp_path):
    """Offline on a plain file (no calibration of its own): five holds at ~42 µV, a 0.4 s
    cable burst at ~200 µV in the third."""
    rng = np.random.default_rng(3)
    proto = protocols.load("a1-strength")
    start = 10.0
    level = np.full(int(62 * FS), 3.0)
    cues = [start + 10 * k for k in range(5)]
    for cue in cues:
        level[int((cue + 0.5) * FS):int((cue + 5.8) * FS)] = 42.0
    x = rng.normal(0, 1, level.size) * level
    b = int((cues[2] + 2.5) * FS)
    x[b:b + int(0.4 * FS)] += rng.normal(0, 200, int(0.4 * FS))
    path = tmp_path / "burst.edf"
    write_edf(path, [Signal(Channel("pfm", EMG, "uV"), FS, x)], [])
    result = analyze(read_recording(path), protocol=proto, start_s=start)
    assert result["calibration"]["pfm"]["mvc"] == pytest.approx(42.0, rel=0.2)
    flags = [r["flags"] for r in result["reps"]]
    assert flags[2] == ["not_judged", "burst"] and not result["reps"][2]["met"]
    assert all(r["met"] for i, r in enumerate(result["reps"]) if i != 2), flags
    assert result["summary"]["reps"] == 4 and result["summary"]["reps_met"] == 4
    assert not result["summary"]["incomplete"]
    assert "Herhaling 3 niet beoordeeld" in result["summary"]["text_nl"]
    assert result["summary"]["signal_check"]["marks"][0]["kind"] == "burst"


def _record(tmp_path, pid: str, name: str, *extra: str) -> dict:
    """A simulated session recorded for patient P-21 into the test's own history; its
    recorded calibration."""
    import json
    import subprocess

    out = tmp_path / f"{name}.edf"
    run = subprocess.run([*BB, "record", "--device", "sim", "--protocol", pid,
                          "--seconds", "400", "--speed", "60", "--patient", "P-21",
                          "--db", str(tmp_path / "h.sqlite3"), "--out", str(out), *extra],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    got = subprocess.run([*BB, "analyze", str(out), "--json"], capture_output=True,
                         text=True, timeout=300)
    assert got.returncode == 0, got.stderr
    return json.loads(got.stdout)


def test_four_exercises_in_one_visit_squeeze_maximally_once(tmp_path):
    """The first exercise of the visit calibrates; the next ones rest 10 s and take its MVC
    (the simulated patient only rests then: no maximal squeeze in their files); leaflet B
    calibrates gently, and ``--calibration max`` measures again."""
    first = _record(tmp_path, "a1-strength", "1")
    cal = first["calibration"]["pfm"]
    assert cal["source"] == "session" and len(cal["squeezes"]) == 3
    for k, pid in enumerate(["a3-quick", "b2-contract-relax", "b5-lift"], 2):
        later = _record(tmp_path, pid, str(k))
        c = later["calibration"]["pfm"]
        assert c["source"] == "session-visit" and c["mvc"] == pytest.approx(cal["mvc"]), pid
        assert "squeezes" not in c
        assert later["summary"]["reps"] > 0
    again = _record(tmp_path, "a1-strength", "5", "--calibration", "max")
    assert again["calibration"]["pfm"]["source"] == "session"



def _a1_with_artefacts(tmp_path, burst_s: float = 63.0, lead_off_s: float = 56.5):
    """The sample a1 session with a 0.4 s cable burst in hold 3 and 1.5 s of lead-off in
    hold 2, its annotations (cues, calibration) kept."""
    rec = read_recording(Path(__file__).parent.parent / "sample_data" / "a1_strength_emg.edf")
    signals = []
    for s in rec.signals:
        d = np.asarray(s.data).copy()
        if s.channel.name == "pfm":
            i = int(burst_s * s.fs_hz)
            d[i:i + int(0.4 * s.fs_hz)] += np.random.default_rng(1).normal(0, 200, 400)
            j = int(lead_off_s * s.fs_hz)
            d[j:j + int(1.5 * s.fs_hz)] = 0.0
        signals.append(Signal(s.channel, s.fs_hz, d, s.limits))
    path = tmp_path / "artefacts.edf"
    write_edf(path, signals, rec.annotations, {"patient": "SAMPLE-01"})
    return path


def test_artefacts_are_no_contraction_peaks_in_analyze(tmp_path):
    """The contraction list of ``analyze`` says which contractions are artefacts and gives
    them no % MVC (the walkthrough saw a burst listed at 466 % MVC)."""
    doc = analyze(read_recording(_a1_with_artefacts(tmp_path)))
    pfm = [c for c in doc["contractions"] if c["channel"] == "pfm"]
    marked = [c for c in pfm if c.get("artefact")]
    assert marked and all(c["peak_pct_mvc"] is None for c in marked)
    assert any("burst" in c["artefact"] for c in marked)
    assert all(c["peak_pct_mvc"] < 200 for c in pfm if not c.get("artefact"))


def test_the_session_report_shades_the_artefacts(tmp_path):
    from bbfeedback.app.report import session_report

    page = session_report(_a1_with_artefacts(tmp_path), "nl")
    assert page.count('fill="#5a5a5a"') >= 2  # the lead-off and the burst
    assert "grijs: storing in het signaal" in page
    assert "Herhalingen 2 en 3 niet beoordeeld" in page


def test_an_electrode_off_to_the_end_is_not_judged_not_failed(tmp_path):
    """Attack: a flat line that never ended was only marked when it ended, so the
    repetitions scored meanwhile read "geen aanspanning" (the patient's failure)."""
    import json
    import subprocess

    rec = read_recording(Path(__file__).parent.parent / "sample_data" / "a1_strength_emg.edf")
    signals = []
    for s in rec.signals:
        d = np.asarray(s.data).copy()
        d[int(59.5 * s.fs_hz):] = 0.0  # off from hold 2's rest to the end
        signals.append(Signal(s.channel, s.fs_hz, d, s.limits))
    path = tmp_path / "off.edf"
    write_edf(path, signals, rec.annotations, {"patient": "SAMPLE-01"})
    got = subprocess.run([*BB, "analyze", str(path), "--json"], capture_output=True,
                         text=True, timeout=120)
    reps = json.loads(got.stdout)["reps"]
    assert reps[0]["met"] and not reps[0]["flags"]
    assert all(r["flags"] == ["not_judged", "lead_off"] for r in reps[1:])


def test_lead_off_at_100_hz_needs_a_flat_line_not_one_sample():
    """Attack: at 100 Hz a 10 ms chunk was one sample, so every recording was lead-off."""
    ch = (Channel("pfm", EMG, "uV"),)
    q = SignalQuality([0], 100.0, [EMG], [None], 0.2)
    x = np.random.default_rng(0).normal(0, 3, 1000)
    x[400:700] = 0.0
    q.check(Block(x[:, None], 100.0, ch, 0))
    q.finish()
    assert [(m.kind, round(m.start_s + MARK_BEFORE_S, 1)) for m in q.marks] == [
        (MarkKind.LEAD_OFF, 4.0)]


def test_a_repetition_inside_a_long_gap_is_not_judged():
    """Attack: a repetition wholly inside 25 s of lost samples read "met" from the level
    the trace held across the gap. A second or more lost in a repetition: not judged."""
    from bbfeedback.app.analyze import stream
    from bbfeedback.app.run import BlockList
    from bbfeedback.app.run import run as run_loop
    from bbfeedback.exercise.session import Session
    from bbfeedback.exercise.simulate import Behaviour, simulate_protocol

    proto = protocols.load("a1-strength")
    ps = simulate_protocol(proto, Behaviour(), 1000.0, seed=5, calibrate=True)
    block = ps.sim.recording.blocks()[0]
    session = Session(proto, block.channels, 1000.0, start_s=ps.start_s)
    cue = ps.start_s + 10.0  # rep 2: its hold is lost (1.5 s), rep 4 loses 0.5 s
    lost = [(cue + 1.0, cue + 2.5), (cue + 21.0, cue + 21.5)]
    arrived = [b for b in stream(block, 0.25) if not any(
        a * 1000 <= b.start_sample < z * 1000 for a, z in lost)]
    reps = run_loop(BlockList(arrived), session, []).result.to_dict()["reps"]
    assert reps[1]["flags"] == ["not_judged", "signal_gap"] and reps[1]["hold_s"] is None
    assert "signal_gap" in reps[3]["flags"] and "not_judged" not in reps[3]["flags"]


def test_previous_calibration_is_of_the_same_device():
    """Attack: ``--calibration previous`` took another device's MVC (µV do not carry)."""
    from bbfeedback.app.history import previous_calibration

    class Sessions:
        def sessions(self, patient):
            return _sessions((datetime(2026, 12, 1), "sim", 36.1, "session"),
                             (datetime(2026, 12, 2), "p2", 40.7, "session"))

    assert previous_calibration(Sessions(), "P-1", "sim")["pfm"].mvc == 36.1
    assert previous_calibration(Sessions(), "P-1", "p2")["pfm"].mvc == 40.7
    assert previous_calibration(Sessions(), "P-1", "cyton") == {}


@pytest.mark.parametrize("damage", [
    """update sessions set calibration='{"pfm": "x"}'""",
    """update sessions set calibration='{"pfm": {"mvc": "x"}}'""",
    "update sessions set summary=json_set(summary, '$.reps_met', 'x')",
    "update sessions set summary=json_set(summary, '$.resting_tone', 'x')",
    "update sessions set device=json_set(device, '$.main', json('[1]'))",
])
def test_a_damaged_history_row_is_left_out_with_a_warning(tmp_path, damage):
    """Attack: such rows crashed ``history`` and ``report --patient`` with a traceback."""
    import sqlite3
    import subprocess

    from bbfeedback.app.history import History

    db = tmp_path / "h.sqlite3"
    h = History(db)
    h.add(Path(__file__).parent.parent / "sample_data" / "a1_strength_emg.edf")
    h.close()
    con = sqlite3.connect(db)
    con.execute(damage)
    con.commit()
    con.close()
    got = subprocess.run([*BB, "history", "SAMPLE-01", "--db", str(db)],
                         capture_output=True, text=True, timeout=60)
    assert "Traceback" not in got.stderr and "damaged in the history" in got.stderr


# --- mains and motion swamping the band (issue 21) -------------------------------------------

def _tone(x: np.ndarray, a_s: float, b_s: float, freq_hz: float, amp_uV: float,
          phase: float = 0.3) -> np.ndarray:
    """``x`` with a sine of ``amp_uV`` from ``a_s`` to ``b_s`` (switched on and off there)."""
    y = x.copy()
    i, j = int(a_s * FS), int(b_s * FS)
    y[i:j] += amp_uV * np.sin(2 * np.pi * freq_hz * np.arange(j - i) / FS + phase)
    return y


def _kinds(marks) -> list[MarkKind]:
    return [m.kind for m in marks]


def _model_session(rest_uV: float = 3.0, seed: int = 1) -> np.ndarray:
    """Clean EMG from the corpus's own signal model (``tests/truth/model.py``): a rest, three
    5 s holds at 42 µV and five quick squeezes to 60 µV."""
    from truth import model

    holds = [model.Squeeze(4.0 + 9 * k, 39.0, 5.0) for k in range(3)]
    quick = [model.Squeeze(31.0 + 2 * k, 57.0, 0.3, 0.1, 0.1) for k in range(5)]
    raw, _ = model.emg(42.0, rest_uV, holds + quick, np.random.default_rng(seed))
    return raw


@pytest.mark.parametrize("level_uV", [3.0, 42.0])  # at rest, and over a 42 µV hold
@pytest.mark.parametrize("mains_hz", [50.0, 60.0])
def test_hum_far_above_the_band_is_marked_mains_where_it_hums(mains_hz, level_uV):
    """2000 µV of hum (its third harmonic too) from 3 to 5 s: the notch cannot leave a
    3 µV rest or a 42 µV hold reliable. Marked there, within a window, and nothing else."""
    x = _tone(emg(8, level_uV), 3.0, 5.0, mains_hz, 2000.0)
    x = _tone(x, 3.0, 5.0, 3 * mains_hz, 600.0)
    marks = marks_of(x)
    assert _kinds(marks) == [MarkKind.MAINS]
    assert 3.0 - BAND_WINDOW_S - MARK_BEFORE_S <= marks[0].start_s <= 3.0
    assert 5.0 <= marks[0].end_s <= 5.0 + BAND_WINDOW_S + 0.3  # + the envelope's memory


def test_a_floating_input_hums_over_the_whole_recording():
    t = np.arange(int(6 * FS)) / FS
    marks = marks_of(emg(6, 3) + 5000 * np.sin(2 * np.pi * 50 * t))
    assert _kinds(marks) == [MarkKind.MAINS]
    assert marks[0].start_s <= 0.0 and marks[0].end_s >= 6.0


def test_hum_the_notch_handles_is_not_marked():
    """20 µV of 50 Hz over a 3 µV rest (the corpus's ``with_hum``, scored as clean there),
    0.2 Hz off the grid's nominal frequency too, and 60 Hz with harmonics as
    ``exercise/simulate`` makes it: the notch's business, no mark."""
    from truth import model

    x = _model_session()
    assert marks_of(model.mains_hum(x, 20.0)[0]) == []
    assert marks_of(model.mains_hum(x, 20.0, freq_hz=50.2)[0]) == []
    hum = model.mains_hum(model.mains_hum(x, 15.0, freq_hz=60.0)[0], 4.5, freq_hz=180.0)[0]
    assert marks_of(hum) == []


def test_a_slow_swing_is_marked_motion_where_it_swings():
    """A cable tug: a 2 Hz swing of 300 µV for 1 s (3 to 4 s) over a 3 µV rest."""
    x = _tone(emg(8, 3), 3.0, 4.0, 2.0, 300.0, phase=0.0)  # two whole swings: no step
    marks = marks_of(x)
    assert _kinds(marks) == [MarkKind.MOTION]
    assert 3.0 - BAND_WINDOW_S - MARK_BEFORE_S <= marks[0].start_s <= 3.0
    assert 4.0 <= marks[0].end_s <= 4.0 + BAND_WINDOW_S + 0.3


@pytest.mark.parametrize("rest_uV", [1.5, 3.0])
def test_contractions_and_rests_are_neither_mains_nor_motion(rest_uV):
    """The EMG's own power rises in its band when she squeezes (holds and quick squeezes of
    the corpus's model); a rest has no swing; a slow drift of a DC-coupled input (a 0.3 Hz,
    30 µV wander on a 2000 µV offset) is no movement."""
    x = _model_session(rest_uV, seed=int(rest_uV * 10))
    assert marks_of(x) == []
    t = np.arange(x.size) / FS
    assert marks_of(x + 2000.0 + 30 * np.sin(2 * np.pi * 0.3 * t)) == []


def test_real_recordings_are_neither_mains_nor_motion():
    """Real surface EMG (BioSPPy's emg_1, 64 s with bursts, raw 12-bit counts around 2040:
    tests/data/biosppy_emg/SOURCE.txt) and the sample session's channels (pelvic floor and
    abdominal, as a device records them, its 15 µV hum notched): no mark of hum or movement."""
    data = Path(__file__).parent / "data"
    x = np.loadtxt(data / "biosppy_emg" / "emg_1.txt")
    assert not {MarkKind.MAINS, MarkKind.MOTION} & set(_kinds(marks_of(x)))
    rec = read_recording(Path(__file__).parent.parent / "sample_data" / "a1_strength_emg.edf")
    for s in rec.signals:
        assert not {MarkKind.MAINS, MarkKind.MOTION} & set(_kinds(marks_of(s.data))), s
    assert rec.signals[0].fs_hz == FS


def test_pressure_is_never_mains_or_motion():
    """A probe's pressure swings slowly by nature; only EMG is judged against its band."""
    x = _tone(np.full(int(8 * FS), 20.0), 3.0, 5.0, 2.0, 30.0)
    assert marks_of(_tone(x, 3.0, 5.0, 50.0, 5.0), kind=PRESSURE) == []


def _everything() -> np.ndarray:
    """Hum (3-5 s), a swing (8-9 s), a lead-off (10.5-11 s) and a spike (6.2 s)."""
    x = _tone(_tone(emg(13, 3), 3.0, 5.0, 50.0, 2000.0), 8.0, 9.0, 2.0, 300.0, 0.0)
    x[int(6.2 * FS): int(6.2 * FS) + 2] += 700
    x[int(10.5 * FS): int(11.0 * FS)] = 0.0
    return x


@pytest.mark.parametrize("block_s", [0.013, 0.25, 10.0])
def test_mains_and_motion_do_not_depend_on_block_sizes(block_s):
    x = _everything()
    reference = marks_of(x, 0.1)
    assert {MarkKind.MAINS, MarkKind.MOTION, MarkKind.SPIKES, MarkKind.LEAD_OFF} <= set(
        _kinds(reference))
    assert marks_of(x, block_s) == reference


def test_after_a_gap_the_windows_start_again_alike():
    """Samples lost (6 to 7 s): the windows restart at the first sample after the gap, so
    the marks still do not depend on the blocks (and no window spans the gap)."""
    x = _everything()

    def marks(block_s: float):
        q = SignalQuality.for_pipeline(Pipeline(EMG_CH, FS))
        n = max(1, int(block_s * FS))
        for a0, b0 in ((0, 6000), (7000, x.size)):
            for a in range(a0, b0, n):
                q.check(Block(x[a:min(a + n, b0), None], FS, EMG_CH, a))
        q.finish()
        return q.marks

    reference = marks(0.1)
    assert {MarkKind.MAINS, MarkKind.MOTION} <= set(_kinds(reference))
    assert marks(0.013) == marks(10.0) == reference


def test_a_mark_is_there_lag_s_after_its_samples():
    """Live, a repetition is scored from the marks known then: every mark must exist (with
    its start) ``SignalQuality.lag_s`` after its first sample arrived, whatever the blocks."""
    x = _everything()
    pipe = Pipeline(EMG_CH, FS)
    q = SignalQuality.for_pipeline(pipe)
    final = marks_of(x, 10.0)
    seen: dict[tuple, float] = {}
    n = int(0.013 * FS)
    for a in range(0, x.size, n):
        q.check(Block(x[a:a + n, None], FS, EMG_CH, a))
        now = (a + n) / FS
        for m in q.marks:
            seen.setdefault((m.kind, round(m.start_s, 6)), now)
    for m in final:
        if m.start_s + q.lag_s < x.size / FS:
            assert seen[(m.kind, round(m.start_s, 6))] <= m.start_s + q.lag_s + 0.013, m
    assert q.lag_s == pytest.approx(BAND_WINDOW_S + MARK_BEFORE_S)


def test_hum_over_one_repetition_is_not_judged_for_mains_in_a_session():
    """End to end: a1 (calibrated, five 5 s holds) with 2000 µV of 50 Hz hum over hold 3
    (its cue + 1 s to + 4 s). Hold 3 is not judged, its cause the mains; the others are
    judged; live-sized and offline-sized blocks score it alike."""
    from bbfeedback.app.analyze import stream
    from bbfeedback.app.run import BlockList
    from bbfeedback.app.run import run as run_loop
    from bbfeedback.exercise.session import Session
    from bbfeedback.exercise.simulate import Behaviour, simulate_protocol

    proto = protocols.load("a1-strength")
    ps = simulate_protocol(proto, Behaviour(), FS, seed=5, calibrate=True)
    block = ps.sim.recording.blocks()[0]
    cue = ps.start_s + 20.0  # hold 3
    data = block.data.copy()
    data[:, 0] = _tone(data[:, 0], cue + 1.0, cue + 4.0, 50.0, 2000.0)
    hummed = block.with_data(data, block.channels)
    results = []
    for block_s in (0.04, 10.0):
        session = Session(proto, block.channels, FS, start_s=ps.start_s)
        end = run_loop(BlockList(list(stream(hummed, block_s))), session, [])
        results.append(end.result.to_dict())
    live, offline = results
    assert live["reps"] == offline["reps"] and live["marks"] == offline["marks"]
    reps = live["reps"]
    assert len(reps) == 5
    assert {"not_judged", "mains"} <= set(reps[2]["flags"])
    assert not reps[2]["met"] and reps[2]["hold_s"] is None
    assert all("not_judged" not in r["flags"] for i, r in enumerate(reps) if i != 2), reps
    (mains,) = [m for m in live["marks"] if m["kind"] == "mains"]
    assert cue + 1.0 - BAND_WINDOW_S - MARK_BEFORE_S <= mains["start_s"] <= cue + 1.0
    assert "storing door het lichtnet" in live["summary"]["text_nl"]
    assert "mains interference" in live["summary"]["text_en"]
