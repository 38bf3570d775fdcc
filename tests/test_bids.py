"""EMG-BIDS export: the official validator accepts the folder, participants are codes only,
the data files are anonymised copies with the same samples, the events are what ``analyze``
finds, and user mistakes are one line with status 2 (never a traceback, nothing written)."""

import csv
import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from conftest import SAMPLES

from bbfeedback.app import bids
from bbfeedback.app.cli import main
from bbfeedback.recording import Annotation, make_signal, read_recording
from bbfeedback.recording.edf import write_edf

RECORDINGS = ["a1_strength_emg.edf", "endurance_pressure.edf", "lift.edf",
              "quick_flicks_60hz.edf"]


def validator() -> str:
    """The official validator (a test dependency: missing is a failure, not a skip)."""
    here = Path(sys.executable).parent / "bids-validator-deno"
    found = str(here) if here.exists() else shutil.which("bids-validator-deno")
    assert found, "bids-validator-deno is missing: pip install -e '.[test]'"
    return found


def validate(folder: Path) -> list[dict]:
    """The validator's issues; fails on any error, prints the warnings."""
    out = subprocess.run([validator(), "--format", "json", str(folder)], capture_output=True,
                         text=True, timeout=300)
    assert out.stdout, out.stderr
    issues = json.loads(out.stdout)["issues"]["issues"]
    warnings = Counter(i["code"] for i in issues if i["severity"] == "warning")
    print(f"bids-validator-deno: {sum(warnings.values())} warnings {dict(warnings)}")
    errors = [i for i in issues if i["severity"] == "error"]
    assert errors == [], json.dumps(errors, indent=1)[:4000]
    return issues


def read_tsv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def value(cell: str) -> float | None:
    return None if cell == "n/a" else float(cell)


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Path, bids.Export]:
    out = tmp_path_factory.mktemp("bids") / "dataset"
    done = bids.export_bids([SAMPLES / name for name in RECORDINGS], out)
    return out, done


def recording_of(done: bids.Export, name: str) -> Path:
    return done.files[SAMPLES / name]


def sidecar_of(data: Path, suffix: str) -> Path:
    return data.with_name(data.name.replace("_emg" + data.suffix, suffix))


def test_the_official_validator_finds_no_error(exported):
    out, _ = exported
    validate(out)


def test_layout_one_session_per_recording_in_recording_order(exported):
    out, done = exported
    starts = sorted((read_recording(SAMPLES / n).header["start"], n) for n in RECORDINGS)
    for k, (_, name) in enumerate(starts, start=1):
        data = recording_of(done, name)
        task = bids.task_label(read_recording(SAMPLES / name).meta.settings["protocol"])
        stem = f"sub-SAMPLE01_ses-{k:02d}_task-{task}"
        assert data == out / "sub-SAMPLE01" / f"ses-{k:02d}" / "emg" / f"{stem}_emg.edf"
        assert sorted(p.name for p in data.parent.iterdir()) == sorted(
            f"{stem}_{end}" for end in ("channels.tsv", "emg.edf", "emg.json", "events.json",
                                        "events.tsv"))
    top = {p.name for p in out.iterdir()}
    assert top == {"dataset_description.json", "README", "participants.tsv",
                   "participants.json", "sub-SAMPLE01"}
    desc = json.loads((out / "dataset_description.json").read_text())
    assert desc["DatasetType"] == "raw" and desc["BIDSVersion"].startswith("1.11")
    assert desc["GeneratedBy"][0]["Name"] == "bbfeedback"
    assert not list(out.parent.glob(".*part")), "the temporary folder is left behind"


def test_participants_are_codes_only_and_nothing_names_the_files_or_dates(exported):
    out, done = exported
    assert read_tsv(out / "participants.tsv") == [{"participant_id": "sub-SAMPLE01"}]
    dates = {read_recording(SAMPLES / n).header["start"][:10] for n in RECORDINGS}
    for f in out.rglob("*"):
        if f.suffix in (".json", ".tsv") or f.name == "README":
            text = f.read_text(encoding="utf-8")
            assert "sample_data" not in text and str(SAMPLES) not in text, f
            assert not any(d in text for d in dates), f
    for data in done.files.values():
        head = data.read_bytes()[:256]
        assert head[8:88].decode().split() == ["SAMPLE01", "X", "X", "X"]
        assert head[88:105] == b"Startdate X X X X"
        assert head[168:184] == b"01.01.8500.00.00"


@pytest.mark.parametrize("name", RECORDINGS)
def test_the_exported_file_reads_back_with_the_same_samples(exported, name):
    _, done = exported
    original, copy = read_recording(SAMPLES / name), read_recording(recording_of(done, name))
    assert [s.channel for s in copy.signals] == [s.channel for s in original.signals]
    for a, b in zip(original.signals, copy.signals, strict=True):
        assert a.fs_hz == b.fs_hz
        np.testing.assert_array_equal(np.asarray(a.data), np.asarray(b.data))
    # bbfeedback's annotations as recorded, but for the summary's generated prose (free
    # text: an anonymised copy keeps only known fields)
    prose = ("text_nl", "text_en", "patient_text_nl", "patient_text_en")

    def kept(meta) -> dict:
        return {k: [{f: x for f, x in v.items() if f not in prose} if k == "summary" else v
                    for v in values] for k, values in meta.values.items()}

    assert kept(copy.meta) == kept(original.meta) and copy.meta.cues == original.meta.cues
    assert copy.header["patientCode"] == "SAMPLE01"


@pytest.mark.parametrize("name", RECORDINGS)
def test_events_are_the_cues_contractions_and_reps_analyze_finds(exported, name):
    _, done = exported
    rec = read_recording(SAMPLES / name)
    result, protocol = bids._analysis(rec)
    assert protocol is not None and protocol.id == rec.meta.settings["protocol"]
    rows = read_tsv(sidecar_of(recording_of(done, name), "_events.tsv"))
    onsets = [value(r["onset"]) for r in rows]
    assert onsets == sorted(onsets)

    cues = [r for r in rows if r["trial_type"] in ("cue", "calibration_cue")]
    assert [(value(r["onset"]), r["trial_type"] == "calibration_cue", r["value"])
            for r in cues] == [(c.onset_s, c.calibration, f"{c.kind}:{c.cue}")
                               for c in sorted(rec.meta.cues, key=lambda c: c.onset_s)]

    got = [r for r in rows if r["trial_type"] == "contraction"]
    want = sorted(result["contractions"], key=lambda c: (c["onset_s"], c["channel"]))
    assert len(got) == len(want) > 0
    for r, c in zip(got, want, strict=True):
        assert r["channel"] == c["channel"]
        assert value(r["onset"]) == pytest.approx(c["onset_s"], abs=1e-6)
        assert value(r["duration"]) == pytest.approx(c["offset_s"] - c["onset_s"], abs=1e-6)
        assert value(r["peak_pct_mvc"]) == pytest.approx(c["peak_pct_mvc"], abs=1e-6)

    reps = sorted((r for r in rows if r["trial_type"] == "repetition"),
                  key=lambda r: int(r["rep"]))
    assert len(reps) == len(result["reps"]) > 0
    for r, s in zip(reps, result["reps"], strict=True):
        assert int(r["rep"]) == s["index"]
        assert r["met"] == str(s["met"]) and r["value"] == ("met" if s["met"] else "not_met")
        assert value(r["hold_s"]) == pytest.approx(s["hold_s"], abs=1e-6)
        assert value(r["onset"]) == pytest.approx(s["cue_s"], abs=1e-6)
        assert (r["flags"] if r["flags"] != "n/a" else "") == ",".join(s["flags"])
    described = json.loads(sidecar_of(recording_of(done, name), "_events.json").read_text())
    assert set(rows[0]) <= set(described)


def test_sidecar_holds_the_required_fields_and_the_processing(exported):
    _, done = exported
    for name in RECORDINGS:
        data = recording_of(done, name)
        doc = json.loads(sidecar_of(data, "_emg.json").read_text())
        for key in ("TaskName", "SamplingFrequency", "PowerLineFrequency", "EMGReference",
                    "EMGPlacementScheme", "SoftwareFilters", "RecordingType",
                    "RecordingDuration", "EMGGround", "Manufacturer"):
            assert key in doc, (name, key)
        rec = read_recording(SAMPLES / name)
        result, _ = bids._analysis(rec)
        assert doc["TaskName"] == rec.meta.settings["protocol"]
        assert doc["RecordingDuration"] == pytest.approx(rec.duration_s)
        assert doc["SoftwareFilters"] == "n/a"  # the stored samples are raw
        processing = doc["bbfeedback"]
        for ch in result["channels"]:
            mine = processing["channels"][ch["name"]]
            assert mine["mvc"] == ch["mvc"] and mine["on_threshold"] == ch["on_threshold"]
            if ch["kind"] == "emg":
                assert mine["notch_hz"] == ch["notch_hz"]
                assert mine["rms_envelope_window_s"] == ch["window_s"]
        assert processing["recorded"]["calibration"] == rec.meta.last("calibration")
        assert processing["recorded"]["settings"] == rec.meta.settings
        assert "source" not in (processing["protocol"] or {})
    hum = {n: json.loads(sidecar_of(recording_of(done, n), "_emg.json").read_text())
           ["PowerLineFrequency"] for n in ("a1_strength_emg.edf", "quick_flicks_60hz.edf")}
    assert hum == {"a1_strength_emg.edf": 50.0, "quick_flicks_60hz.edf": 60.0}


def test_channels_describe_the_file(exported):
    _, done = exported
    rows = read_tsv(sidecar_of(recording_of(done, "endurance_pressure.edf"), "_channels.tsv"))
    assert list(rows[0])[:3] == ["name", "type", "units"]
    assert [(r["name"], r["type"], r["units"], r["sampling_frequency"]) for r in rows] == [
        ("pfm", "EMG", "uV", "500"), ("pressure", "MISC", "cmH2O", "500")]
    assert rows[0]["target_muscle"] == "pelvic floor muscles"
    assert {r["status"] for r in rows} == {"good"}
    rows = read_tsv(sidecar_of(recording_of(done, "a1_strength_emg.edf"), "_channels.tsv"))
    assert [r["target_muscle"] for r in rows] == ["pelvic floor muscles", "abdominal muscles"]


def test_exporting_again_gives_the_same_sessions(exported, tmp_path):
    _, done = exported
    again = bids.export_bids([SAMPLES / n for n in reversed(RECORDINGS)] + [SAMPLES],
                             tmp_path / "again")
    assert {k: v.relative_to(tmp_path / "again") for k, v in again.files.items()} == {
        k: v.relative_to(done.out) for k, v in done.files.items()}
    replaced = bids.export_bids([SAMPLES / "lift.edf"], tmp_path / "again", force=True)
    assert [p.name for p in (tmp_path / "again").iterdir() if p.name.startswith("sub-")] == [
        "sub-SAMPLE01"]
    assert len(replaced.files) == 1 and next(iter(replaced.files.values())).exists()


def no_code_recording(path: Path, patient: str = "X", seed: int = 1) -> Path:
    """A short recording (not a bbfeedback session) with the given patient field."""
    rng = np.random.default_rng(seed)
    fs = 1000.0
    t = np.arange(int(8 * fs)) / fs
    emg = rng.normal(0, 3, t.size) * (1 + 8 * ((t > 3) & (t < 5)))
    sig = make_signal("pfm", "uV", "emg", fs, emg, path)
    write_edf(path, [sig], [Annotation(1.0, 0.0, "note")], {"patient": patient})
    return path


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["export-bids", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_recording_without_patient_code_asks_for_subject(tmp_path, capsys):
    rec = no_code_recording(tmp_path / "anon.edf")
    code, _, err = cli(capsys, str(rec), "--out", str(tmp_path / "ds"))
    assert code == 2 and "--subject CODE" in err and err.count("\n") == 1
    assert not (tmp_path / "ds").exists()
    code, out, err = cli(capsys, str(rec), "--out", str(tmp_path / "ds"), "--subject", "P-7")
    assert code == 0, err
    assert read_tsv(tmp_path / "ds" / "participants.tsv") == [{"participant_id": "sub-P7"}]
    data = tmp_path / "ds" / "sub-P7" / "ses-01" / "emg" / "sub-P7_ses-01_task-free_emg.edf"
    assert data.exists() and read_recording(data).header["patientCode"] == "P7"
    validate(tmp_path / "ds")


@pytest.mark.parametrize("case", ["missing", "text", "garbage", "csv", "empty_folder",
                                  "exists", "not_ours", "codes_collide",
                                  "bad_subject"])
def test_user_mistakes_are_one_line_with_status_2(tmp_path, capsys, case):
    out = tmp_path / "ds"
    args = [str(SAMPLES / "lift.edf")]
    if case == "missing":
        args = [str(tmp_path / "nope.edf")]
    elif case == "text":
        (tmp_path / "notes.txt").write_text("hello")
        args = [str(tmp_path / "notes.txt")]
    elif case == "garbage":
        (tmp_path / "junk.edf").write_bytes(b"0" * 600)
        args = [str(tmp_path / "junk.edf")]
    elif case == "csv":
        (tmp_path / "r.csv").write_text("t,pfm\n0,1\n")
        args = [str(tmp_path / "r.csv")]
    elif case == "empty_folder":
        (tmp_path / "empty").mkdir()
        args = [str(tmp_path / "empty")]
    elif case in ("exists", "not_ours"):
        out.mkdir()
        (out / "mine.txt").write_text("keep me")
        args += ["--force"] if case == "not_ours" else []
    elif case == "codes_collide":
        args = [str(no_code_recording(tmp_path / "a.edf", "P-7")),
                str(no_code_recording(tmp_path / "b.edf", "P7", seed=2))]
    elif case == "bad_subject":
        args = [str(no_code_recording(tmp_path / "a.edf")), "--subject", "Jan Jansen"]
    code, stdout, err = cli(capsys, *args, "--out", str(out))
    assert code == 2, (stdout, err)
    assert err.startswith("bbfeedback: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    if case in ("exists", "not_ours"):
        assert [p.name for p in out.iterdir()] == ["mine.txt"]  # left as it was
    else:
        assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_copy_of_a_recording_is_exported_once(tmp_path):
    shutil.copy(SAMPLES / "lift.edf", tmp_path / "lift-copy.edf")
    done = bids.export_bids([SAMPLES / "lift.edf", tmp_path / "lift-copy.edf"],
                            tmp_path / "ds")
    assert list(done.files) == [SAMPLES / "lift.edf"]


def bdf_recording(path: Path) -> Path:
    """A BDF+ file (24 bit) with a patient code and one annotation, written by EDFlib."""
    import pyedflib

    fs = 512
    rng = np.random.default_rng(3)
    x = rng.normal(0, 5, 6 * fs)
    with pyedflib.EdfWriter(str(path), 1, file_type=pyedflib.FILETYPE_BDFPLUS) as w:
        w.setSignalHeader(0, {"label": "pfm", "dimension": "uV", "sample_frequency": fs,
                              "physical_max": 1000.0, "physical_min": -1000.0,
                              "digital_max": 8388607, "digital_min": -8388608,
                              "prefilter": "HP:10Hz LP:500Hz N:50Hz", "transducer": ""})
        w.setPatientCode("B-12")
        w.writeSamples([x])
        w.writeAnnotation(1.0, -1, "start")
    return path


def test_a_bdf_recording_stays_bdf_with_its_prefiltering(tmp_path):
    src = bdf_recording(tmp_path / "r.bdf")
    done = bids.export_bids([src], tmp_path / "ds")
    data = done.files[src]
    assert data.name == "sub-B12_ses-01_task-free_emg.bdf"
    assert data.read_bytes()[:1] == b"\xff"
    np.testing.assert_array_equal(np.asarray(read_recording(data).signals[0].data),
                                  np.asarray(read_recording(src).signals[0].data))
    row = read_tsv(sidecar_of(data, "_channels.tsv"))[0]
    assert (row["low_cutoff"], row["high_cutoff"], row["notch"]) == ("10", "500", "50")
    doc = json.loads(sidecar_of(data, "_emg.json").read_text())
    assert doc["HardwareFilters"] != "n/a" and doc["TaskName"] == "free"
    validate(tmp_path / "ds")


def test_a_recorded_gap_is_an_event(tmp_path):
    from bbfeedback.recording.annotations import encode

    src = no_code_recording(tmp_path / "gap.edf", "G-1")
    rec = read_recording(src)
    texts = encode("gap", {"t_s": 2.5, "lost_samples": 250})
    write_edf(tmp_path / "g.edf", rec.signals, [Annotation(2.5, 0.0, t) for t in texts],
              {"patient": "G-1"})
    done = bids.export_bids([tmp_path / "g.edf"], tmp_path / "ds")
    rows = read_tsv(sidecar_of(done.files[tmp_path / "g.edf"], "_events.tsv"))
    gaps = [(r["onset"], r["duration"]) for r in rows if r["trial_type"] == "gap"]
    assert gaps == [("2.5", "0.25")]


def dataset_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def test_subject_names_the_participant_never_the_header(tmp_path, capsys):
    """Issue 23: --subject was ignored when the header had a code (sub-BSN123456782)."""
    rec = no_code_recording(tmp_path / "r.edf", "BSN123456782")
    code, out, err = cli(capsys, str(rec), "--out", str(tmp_path / "ds"), "--subject", "P-7")
    assert code == 0, err
    assert read_tsv(tmp_path / "ds" / "participants.tsv") == [{"participant_id": "sub-P7"}]
    assert b"BSN123456782" not in dataset_bytes(tmp_path / "ds")
    other = no_code_recording(tmp_path / "s.edf", "Q-9", seed=2)
    code, _, err = cli(capsys, str(rec), str(other), "--out", str(tmp_path / "ds2"),
                       "--subject", "P-7")
    assert code == 2 and "different patients" in err and err.count("\n") == 1
    assert not (tmp_path / "ds2").exists()


def test_the_data_files_keep_no_free_text(tmp_path, capsys):
    from test_export_privacy import SECRETS, clinic_notes, make_edf

    src = make_edf(tmp_path / "clinic.edf", 12, clinic_notes())
    code, _, err = cli(capsys, str(src), "--out", str(tmp_path / "ds"), "--subject", "P-7")
    assert code == 0, err
    assert [s for s in SECRETS if s in dataset_bytes(tmp_path / "ds")] == []
    rows = read_tsv(next((tmp_path / "ds").rglob("*_channels.tsv")))
    assert [r["description"] for r in rows] == ["probe", "AgAgCl electrode"]


def test_a_recording_still_being_recorded_is_refused_or_skipped(tmp_path, capsys):
    from test_export_privacy import recording_in_progress

    folder = tmp_path / "today"
    folder.mkdir()
    done = no_code_recording(folder / "a-done.edf", "P-7")
    live = folder / "b-live.edf"
    with recording_in_progress(live) as proc:
        code, _, err = cli(capsys, str(live), "--out", str(tmp_path / "ds"), "--subject", "P7")
        assert code == 2 and f"still being recorded (process {proc.pid})" in err
        assert err.count("\n") == 1 and not (tmp_path / "ds").exists()
        code, out, err = cli(capsys, str(folder), "--out", str(tmp_path / "ds"))
        assert code == 0, err
        assert err == f"bbfeedback: warning: {live}: still being recorded (process " \
                      f"{proc.pid}); skipped\n"
        assert "1 recording of 1 participant" in out and "1 skipped, still being recorded" in out
    data = list((tmp_path / "ds").rglob("*_emg.edf"))
    assert len(data) == 1 and read_recording(data[0]).signals[0].data.size == \
        read_recording(done).signals[0].data.size


def test_a_cut_off_recording_in_a_folder_is_skipped_with_the_way_out(tmp_path, capsys):
    """Before: one cut-off file in a folder stopped the whole export (nothing written);
    named on its own it is still refused, in one line."""
    folder = tmp_path / "today"
    folder.mkdir()
    done = no_code_recording(folder / "a-done.edf", "P-7")
    cut = folder / "b-cut.edf"
    whole = no_code_recording(tmp_path / "whole.edf", "P-8").read_bytes()
    cut.write_bytes(whole[:-3000])
    code, _, err = cli(capsys, str(cut), "--out", str(tmp_path / "ds"))
    assert code == 2 and "cut off" in err and err.count("\n") == 1
    assert not (tmp_path / "ds").exists()
    code, out, err = cli(capsys, str(folder), "--out", str(tmp_path / "ds"))
    assert code == 0, err
    assert err.startswith(f"bbfeedback: warning: {cut}: is cut off") and err.count("\n") == 1
    assert f"bbfeedback recover {cut}" in err
    assert "1 recording of 1 participant" in out and "1 skipped" in out
    data = list((tmp_path / "ds").rglob("*_emg.edf"))
    assert len(data) == 1 and read_recording(data[0]).signals[0].data.size == \
        read_recording(done).signals[0].data.size
