"""Reading EDF/EDF+/BDF and CSV in physical units; clear one-line errors for bad files."""

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import BB, SAMPLES

from bbfeedback.errors import InputError
from bbfeedback.exercise.simulate import Patient, Squeeze, simulate
from bbfeedback.recording import Annotation, read_recording
from bbfeedback.recording.csvfile import write_csv
from bbfeedback.recording.edf import write_edf
from bbfeedback.signal.blocks import EMG, OTHER, PRESSURE, guess_kind, unit_kind


@pytest.mark.parametrize(
    ("unit", "kind", "factor"),
    [("uV", EMG, 1), ("µV", EMG, 1), ("mV", EMG, 1e3), ("V", EMG, 1e6),
     ("cmH2O", PRESSURE, 1), ("mmHg", PRESSURE, 1.3595), ("hPa", PRESSURE, 1.0197),
     ("kPa", PRESSURE, 10.197)],
)
def test_units_normalise_to_uv_and_cmh2o(unit, kind, factor):
    assert unit_kind(unit) == (kind, pytest.approx(factor))


def test_kind_from_label_and_unit():
    assert guess_kind("EMG submental", "uV") == EMG
    assert guess_kind("EEG Fpz-Cz", "uV") == OTHER
    assert guess_kind("probe", "mmHg") == PRESSURE
    assert guess_kind("Temp rectal", "DegC") == OTHER


def test_edf_round_trip_keeps_physical_values(tmp_path):
    sim = simulate([Squeeze(2, 2)], 6, 500, seed=1, pressure=True)
    path = tmp_path / "r.edf"
    write_edf(path, sim.recording.signals, [Annotation(2.0, 0, "cue: Contract")])
    rec = read_recording(path)
    assert [s.channel.kind for s in rec.signals] == [EMG, PRESSURE]
    assert [s.channel.unit for s in rec.signals] == ["uV", "cmH2O"]
    for got, want in zip(rec.signals, sim.recording.signals, strict=True):
        step = (want.data.max() - want.data.min() + 2) / 65535 * 1.2
        assert got.fs_hz == 500 and np.max(np.abs(got.data - want.data)) < step
    assert [(a.onset_s, a.text) for a in rec.annotations] == [(2.0, "cue: Contract")]


def test_csv_in_mmhg_and_mv_is_converted(tmp_path):
    t = np.arange(200) / 100
    path = tmp_path / "c.csv"
    rows = "\n".join(f"{a:.2f},{0.01:.4f},{10:.1f}" for a in t)
    path.write_text("time_s,emg_mV,probe_mmHg\n" + rows + "\n")
    rec = read_recording(path)
    emg, probe = rec.signals
    assert emg.fs_hz == pytest.approx(100) and emg.channel.kind == EMG
    assert np.allclose(emg.data, 10.0) and np.allclose(probe.data, 13.595)
    assert probe.channel.unit == "cmH2O"


def test_csv_round_trip(tmp_path):
    sim = simulate([Squeeze(1, 1)], 3, 250, seed=2)
    write_csv(tmp_path / "s.csv", sim.recording.signals)
    rec = read_recording(tmp_path / "s.csv")
    assert rec.signals[0].fs_hz == pytest.approx(250)
    assert np.allclose(rec.signals[0].data, sim.recording.signals[0].data, atol=1e-6)


def test_kind_override_by_name(tmp_path):
    path = tmp_path / "k.csv"
    path.write_text("time_s,x_uV\n0,1\n0.01,2\n0.02,3\n")
    assert read_recording(path, {"x": "emg"}).signals[0].channel.kind == EMG
    with pytest.raises(InputError, match="no channel named 'y'"):
        read_recording(path, {"y": "emg"})


BAD_CSV = {
    "empty.csv": ("", "empty file"),
    "notime.csv": ("t,emg_uV\n0,1\n1,2\n", "first column must be time_s"),
    "unit.csv": ("time_s,emg_furlong\n0,1\n0.1,2\n", "unknown unit 'furlong'"),
    "noname.csv": ("time_s,emg\n0,1\n0.1,2\n", "not named <name>_<unit>"),
    "uneven.csv": ("time_s,emg_uV\n0,1\n0.01,2\n0.02,3\n0.05,4\n", "uneven time steps: line 5"),
    "text.csv": ("time_s,emg_uV\n0,1\n0.01,abc\n", "line 3: not a number"),
    "short.csv": ("time_s,emg_uV\n0,1\n0.01\n", "line 3: 1 values, expected 2"),
}


@pytest.mark.parametrize("name", sorted(BAD_CSV))
def test_bad_csv_names_file_and_problem(tmp_path, name):
    text, message = BAD_CSV[name]
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError) as err:
        read_recording(path)
    assert str(err.value).startswith(str(path)) and message in str(err.value)
    assert "\n" not in str(err.value)


def test_bad_edf_files(tmp_path):
    sim = simulate([Squeeze(1, 1)], 4, 250, seed=3)
    good = tmp_path / "good.edf"
    write_edf(good, sim.recording.signals, [])
    data = good.read_bytes()
    cases = {
        "empty.edf": b"",
        "garbage.edf": b"this is not an EDF file at all" * 20,
        "truncated.edf": data[: len(data) // 2],
        "header_only.edf": data[:200],
    }
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(InputError) as err:
            read_recording(path)
        assert str(err.value).startswith(str(path)), name
    with pytest.raises(InputError, match="no such file"):
        read_recording(tmp_path / "missing.edf")
    with pytest.raises(InputError, match="unknown file type"):
        read_recording(good.with_suffix(".wav").write_bytes(b"x") and good.with_suffix(".wav"))


def test_real_edf_mixed_rates_and_units(real_data):
    rec = read_recording(real_data / "edf_testfiles" / "edfio_short_psg.edf")
    rates = {s.channel.name: s.fs_hz for s in rec.signals}
    assert rates["EMG submental"] == 1.0 and rates["EEG Fpz-Cz"] == 100.0
    kinds = {s.channel.name: s.channel.kind for s in rec.signals}
    assert kinds["EMG submental"] == EMG and kinds["EEG Fpz-Cz"] == OTHER


def test_real_edf_negative_gain_matches_second_reader(real_data):
    import edfio

    path = real_data / "edf_testfiles" / "edfio_test_subsecond.edf"
    ours = read_recording(path).signals[0].data
    theirs = edfio.read_edf(path).signals[0].data
    assert np.allclose(ours, theirs, atol=1e-6)
    assert len(read_recording(path).annotations) == 4


def test_real_edf_utf8_annotation(real_data):
    rec = read_recording(real_data / "edf_testfiles" / "pyedflib_test_utf8.edf")
    assert any(any(ord(ch) > 127 for ch in a.text) for a in rec.annotations)


def test_patient_pressure_kpa_is_scaled(tmp_path):
    sim = simulate([Squeeze(1, 1)], 3, 100, Patient(), seed=4, pressure=True)
    prs = sim.recording.signals[1]
    path = tmp_path / "p.csv"
    t = np.arange(prs.data.size) / 100
    np.savetxt(path, np.column_stack([t, prs.data / 10.197]), delimiter=",",
               header="time_s,probe_kPa", comments="", fmt="%.8f")
    assert np.allclose(read_recording(path).signals[0].data, prs.data, atol=1e-4)


@pytest.mark.parametrize("where", ["timekeeping", "settings", "every record"])
def test_a_damaged_annotation_channel_keeps_the_signal_and_the_readable_notes(where, tmp_path):
    """EDFlib refuses a whole file for one malformed TAL; we read the signal without it and
    keep every annotation list that still parses."""
    src = Path(__file__).parents[1] / "sample_data" / "lift.edf"
    data = bytearray(src.read_bytes())
    good = read_recording(src)
    if where == "timekeeping":  # record 5's "+5\x14\x14"
        i = data.find(b"+5\x14\x14\x00")
        data[i:i + 3] = b"x\x00q"
    elif where == "settings":
        i = data.find(b"bbfeedback:settings")
        data[i + 21:i + 25] = b"\x00\x14\x00\x15"
    else:
        for m in re.finditer(rb"\+\d+\x14\x14\x00", bytes(data)):
            data[m.start()] = ord("*")
    bad = tmp_path / "bad.edf"
    bad.write_bytes(bytes(data))
    rec = read_recording(bad)
    assert np.array_equal(rec.signals[0].data, good.signals[0].data)
    assert any("annotation channel is damaged" in w for w in rec.meta.warnings)
    kept = {a.text for a in rec.annotations}
    lost = [a.text for a in good.annotations if a.text not in kept]
    assert len(lost) <= (1 if where != "every record" else len(good.annotations))
    got = subprocess.run([*BB, "analyze", str(bad), "--json"], capture_output=True,
                         text=True)
    assert got.returncode == 0 and "Traceback" not in got.stderr


def test_a_cut_off_edf_is_one_line_pointing_to_recover(tmp_path):
    """Cut after some records: recover makes it whole. Cut inside its first record: recover
    finds nothing either (attack: the line sent the user there), so it says so."""
    src = Path(__file__).parents[1] / "sample_data" / "lift.edf"
    # lift.edf: a 768-byte header and data records of 9,434 bytes
    data = src.read_bytes()
    for size, said in ((768 + int(9434 * 2.5), "bbfeedback recover"),
                       (5000, "holds not one whole data record")):
        cut = tmp_path / f"cut-{size}.edf"
        cut.write_bytes(data[:size])
        got = subprocess.run([*BB, "analyze", str(cut)], capture_output=True, text=True)
        assert got.returncode == 2 and got.stdout == ""  # nothing from EDFlib's C code either
        assert got.stderr.count("\n") == 1 and said in got.stderr, got.stderr
        fixed = subprocess.run([*BB, "recover", str(cut), "--out", str(cut) + ".r.edf"],
                               capture_output=True, text=True)
        assert (fixed.returncode == 0) == (said == "bbfeedback recover"), fixed.stderr


def test_a_file_cut_off_while_analysed_is_one_line_not_zeros(tmp_path, capfd):
    """Attacker finding (issue 14: analysis reads the file as it goes): EDFlib read zeros
    where the file had been cut off, printed to stdout, and analyze went on with exit 0."""
    import shutil

    from bbfeedback.app.analyze import analyze

    copy = tmp_path / "lift.edf"
    shutil.copy(SAMPLES / "lift.edf", copy)
    rec = read_recording(copy)
    with open(copy, "r+b") as fh:
        fh.truncate(copy.stat().st_size // 2)
    with pytest.raises(InputError, match="cut off while being read"):
        analyze(rec)
    assert capfd.readouterr().out == ""


def test_a_recording_in_progress_is_not_analysed_as_complete(tmp_path):
    import shutil

    copy = tmp_path / "lift.edf"
    shutil.copy(SAMPLES / "lift.edf", copy)
    (tmp_path / "lift.edf.recording").write_text("{}")
    with pytest.raises(InputError, match="still being recorded"):
        read_recording(copy)
