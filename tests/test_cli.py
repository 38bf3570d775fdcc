"""The command line as a user meets it: output, JSON, and one-line errors with status 2."""

import json
import os
import subprocess
import sys

import pytest
from conftest import BB, SAMPLES


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([*BB, *args], capture_output=True, text=True, cwd=cwd)


def test_analyze_sample_json_has_the_documented_keys():
    out = run("analyze", str(SAMPLES / "a1_strength_emg.edf"), "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["file"].endswith("a1_strength_emg.edf")
    assert {c["name"] for c in doc["channels"]} == {"pfm", "abdominal"}
    for ch in doc["channels"]:
        assert {"name", "kind", "unit", "fs_hz"} <= ch.keys()
    pfm = [c for c in doc["contractions"] if c["channel"] == "pfm"]
    # 3 calibration squeezes, then 5 holds of which 3 and 4 merge: the patient stayed tense
    assert len(pfm) == 7
    for c in doc["contractions"]:
        assert {"channel", "onset_s", "offset_s", "peak", "mean", "unit"} <= c.keys()
    holds = [c["offset_s"] - c["onset_s"] for c in pfm]
    assert all(2.5 < h < 3.5 for h in holds[:3]) and 14 < holds[5] < 17


def test_analyze_table_and_options():
    out = run("analyze", str(SAMPLES / "quick_flicks_60hz.edf"), "--mains", "60",
              "--window-s", "0.1")
    assert out.returncode == 0, out.stderr
    assert "pelvic floor" in out.stdout and out.stdout.count(" µV ") >= 10  # pfm, uV in words


def test_channel_selection():
    out = run("analyze", str(SAMPLES / "endurance_pressure.edf"), "--channels", "pressure",
              "--json")
    doc = json.loads(out.stdout)
    assert [c["name"] for c in doc["channels"]] == ["pressure"]
    assert len(doc["contractions"]) == 3 + 2  # calibration squeezes, two endurance holds
    assert doc["contractions"][0]["unit"] == "cmH2O"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("analyze", "nope.edf"), "nope.edf: no such file"),
        (("analyze", str(SAMPLES / "a1_strength_emg.edf"), "--mains", "55"), "invalid choice"),
        (("analyze", str(SAMPLES / "a1_strength_emg.edf"), "--window-s", "-1"), "from 0.01 to 2"),
        (("analyze", str(SAMPLES / "a1_strength_emg.edf"), "--channels", "x"), "no channel"),
        (("analyze", str(SAMPLES / "a1_strength_emg.edf"), "--kind", "pfm"), "NAME=emg"),
        (("frobnicate",), "invalid choice"),
    ],
)
def test_user_errors_are_one_line_with_status_2(args, needle):
    out = run(*args)
    assert out.returncode == 2
    assert needle in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


def test_bad_files_give_one_line(tmp_path):
    (tmp_path / "bad.edf").write_bytes(b"0       garbage" * 30)
    (tmp_path / "bad.csv").write_text("time_s,emg_parsec\n0,1\n0.1,1\n")
    for name in ("bad.edf", "bad.csv"):
        out = run("analyze", name, cwd=tmp_path)
        assert out.returncode == 2 and out.stderr.count("\n") == 1
        assert out.stderr.startswith(f"bbfeedback: error: {name}:")


def test_annotation_only_edf_is_refused_clearly(real_data):
    out = run("analyze", str(real_data / "edf_testfiles" / "edfio_SC4001EC-Hypnogram.edf"))
    assert out.returncode == 2 and "no EMG or pressure signal" in out.stderr


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["protocols"], ["ports"],
                                  ["protocols", "show", "b5-lift"]])
def test_commands_that_process_no_signal_import_no_numpy_or_scipy(argv):
    """Issue 14: start-up (benchmarks/bench_startup.py); a heavy import that creeps back
    into the command line's top shows here, whatever the machine's speed."""
    probe = ("import runpy, sys\n"
             f"sys.argv = ['bbfeedback', *{argv!r}]\n"
             "try:\n    runpy.run_module('bbfeedback', run_name='__main__')\n"
             "except SystemExit:\n    pass\n"
             "print('HEAVY', sorted(m for m in ('numpy', 'scipy') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=60)
    assert "HEAVY []" in out.stdout, out.stdout[-300:] + out.stderr[-300:]


@pytest.mark.parametrize("options", [["--mains", "off"], ["--window-s", "0.3"]])
def test_other_filters_than_recorded_calibrate_again(options, capsys):
    """Walkthrough finding (issue 14): `--mains off` on a file recorded through a 50 Hz
    notch kept the recorded baseline (2.9 µV), below the unfiltered hum: the whole file was
    one contraction. Another filter calibrates from the signal, and says so."""
    from bbfeedback.app.cli import main

    f = str(SAMPLES / "a1_strength_emg.edf")
    assert main(["analyze", f, "--json"]) == 0
    as_recorded = json.loads(capsys.readouterr().out)
    assert main(["analyze", f, "--json", *options]) == 0
    said = capsys.readouterr()
    other = json.loads(said.out)
    assert "calibrating from the signal" in said.err
    assert other["channels"][0]["calibration"] == "estimated"
    mine = [c for c in as_recorded["contractions"] if c["channel"] == "pfm"]
    found = [c for c in other["contractions"] if c["channel"] == "pfm"]
    assert len(mine) >= 5  # the five holds at least (the bug made the whole file one)
    assert all(any(abs(c["onset_s"] - d["onset_s"]) < 0.5 for d in found) for c in mine)
    assert max(c["offset_s"] - c["onset_s"] for c in found) < 30  # the bug: 93 s, all of it
    assert len(other["reps"]) == 5 and sum(r["met"] for r in other["reps"]) >= 4


@pytest.mark.parametrize(("lang", "heading", "summary"), [
    ("nl", "Voor de patiënt: ", "Hield "), ("en", "For the patient: ", "Held ")])
def test_record_ends_with_the_summary_and_the_patients_sentences(tmp_path, lang, heading,
                                                                 summary):
    """Issue 22: ``record`` printed the English summary only; the patient's own sentences
    (no numbers, one thing to do next time) are said too, in ``--lang``."""
    out = subprocess.run([*BB, "record", "--device", "sim",
                          "--protocol", "a1-strength", "--speed", "20", "--lang", lang,
                          "--out", str(tmp_path / "s.edf")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    said = [ln for ln in lines if ln.startswith(heading)]
    assert len(said) == 1 and not any(ch.isdigit() for ch in said[0])
    assert any(ln.startswith(summary) for ln in lines)


def test_no_command_is_one_line_naming_the_commands():
    """Issue 24: ``bbfeedback`` alone printed a page of usage."""
    out = run()
    assert out.returncode == 2 and out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "record" in lines[0] and "--help" in lines[0]


def test_history_accept_without_a_patient_is_an_error(tmp_path):
    """Issue 24: it listed the patients and exited 0, writing nothing."""
    out = run("history", "--accept", str(tmp_path / "next.toml"))
    assert out.returncode == 2 and "needs a patient" in out.stderr
    assert not (tmp_path / "next.toml").exists()


@pytest.mark.parametrize("pid, open_ended", [("a1-strength", False), ("a2-endurance", True),
                                             ("a-daily", True), ("glazer", False)])
@pytest.mark.parametrize("lang", ["nl", "en"])
def test_protocol_total_names_the_limit_only_when_a_hold_is_open_ended(pid, open_ended, lang):
    """Issue 24: "(zo-lang-mogelijk-oefeningen op hun maximum)" stood under every protocol."""
    out = run("protocols", "show", pid, "--lang", lang)
    assert out.returncode == 0, out.stderr
    last = out.stdout.strip().splitlines()[-1]
    assert (("ten hoogste" if lang == "nl" else "at most") in last) == open_ended, last


def test_gui_checks_the_protocol_before_the_display(tmp_path):
    """Issue 24: ``gui --protocol a1-strenght`` said "no display" first."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    out = subprocess.run([*BB, "gui", "--protocol", "a1-strenght"], capture_output=True,
                         text=True, env=env, timeout=120)
    assert out.returncode == 2 and "no protocol with this id" in out.stderr


@pytest.mark.parametrize("mains", ["50", "60", "off"])
def test_record_notches_the_mains_it_is_given(tmp_path, mains):
    """Walkthrough finding: live sessions always notched 50 Hz; in a 60 Hz country the hum
    read as a tense pelvic floor. ``record``/``gui --mains`` choose it, and the file's
    settings keep it for re-analysis."""
    out = tmp_path / "m.edf"
    got = run("record", "--device", "sim", "--protocol", "a3-quick", "--seconds", "3",
              "--speed", "20", "--mains", mains, "--out", str(out))
    assert got.returncode == 0, got.stderr
    doc = json.loads(run("analyze", str(out), "--json").stdout)
    notch = doc["channels"][0]["notch_hz"]
    assert notch[:1] == ([] if mains == "off" else [float(mains)])


def test_a_60_hz_recording_is_read_with_its_own_notch():
    """The sample recorded in a 60 Hz country: its rest is rest (it read 11 µV, every
    repetition "tense at rest", with the 50 Hz notch the live session used to apply)."""
    doc = json.loads(run("analyze", str(SAMPLES / "quick_flicks_60hz.edf"), "--json").stdout)
    pfm = doc["channels"][0]
    assert pfm["notch_hz"][0] == 60.0 and pfm["baseline"] < 4.0
    assert len(doc["contractions"]) >= 12
    assert doc["reps"] and not any("tense_rest" in r["flags"] for r in doc["reps"])


@pytest.mark.parametrize("code, refused", [("123456782", True), ("111222333", True),
                                           ("12345678", False), ("P017", False)])
def test_a_citizen_service_number_is_not_a_patient_code(tmp_path, code, refused):
    """Walkthrough finding: the BSN 123456782 was accepted as a "pseudonymous" code and
    written into the file's name and header."""
    out = tmp_path / "s.edf"
    got = run("record", "--device", "sim", "--seconds", "2", "--speed", "20", "--patient", code,
              "--db", str(tmp_path / "h.sqlite3"), "--out", str(out))
    if refused:
        assert got.returncode == 2 and "citizen service number" in got.stderr
        assert not out.exists() and not (tmp_path / "h.sqlite3").exists()
    else:
        assert got.returncode == 0, got.stderr


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_protocols_show_says_the_calibration_a_session_begins_with(lang):
    """Issue 24: the table began at the lead-in, its total left out the calibration every
    session begins with. The total with it is where a session's planned steps end (the
    session engine's own steps; the optional fourth squeeze left out)."""
    from bbfeedback.app.simulated import SimulatedSource
    from bbfeedback.exercise import protocols
    from bbfeedback.exercise.calibrator import MORE_SECTION
    from bbfeedback.exercise.session import Session

    for pid in protocols.builtin_ids():
        out = run("protocols", "show", pid, "--lang", lang)
        assert out.returncode == 0, out.stderr
        lines = out.stdout.strip().splitlines()
        assert lines[2].startswith("eerst de kalibratie" if lang == "nl" else
                                   "first the calibration"), lines[2]
        src = SimulatedSource(pid, 100.0)
        session = Session(protocols.load(pid), src.channels, src.fs_hz, start_s=src.start_s)
        # calibration steps are placed as they happen live: their lengths, not their starts
        end_s = sum(s.phase.duration_s for s in session.steps if s.section != MORE_SECTION)
        said = lines[-1].rsplit(" ", 2)[-2]
        assert float(said.replace(",", ".")) == pytest.approx(end_s, abs=0.6), (pid, lines[-1])
