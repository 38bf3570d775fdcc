"""Session recordings: EDF+ with annotations read by a second library, crash recovery,
anonymised export, replay and re-scoring, and other programs' EDF files."""

import json
import os
import signal
import stat
import subprocess
from pathlib import Path

import edfio
import numpy as np
import pytest
from conftest import BB

from bbfeedback.app.replay import ReplaySource, recorded_reps, replay_session
from bbfeedback.app.run import run
from bbfeedback.recording import read_recording
from bbfeedback.recording.annotations import decode
from bbfeedback.recording.repair import unfinished
from bbfeedback.signal.blocks import Block


@pytest.fixture(scope="module")
def session_file(tmp_path_factory):
    out = tmp_path_factory.mktemp("rec") / "a1.edf"
    run = subprocess.run([*BB, "record", "--device", "sim", "--protocol", "a1-strength",
                          "--seconds", "95", "--speed", "40", "--patient", "P-007",
                          "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "Held" in run.stdout
    return out


def test_recording_reads_back_with_a_second_library(session_file):
    ours = read_recording(session_file)
    theirs = edfio.read_edf(session_file)
    assert [s.label for s in theirs.signals] == [s.channel.name for s in ours.signals]
    for a, b in zip(theirs.signals, ours.signals, strict=True):
        assert a.sampling_frequency == b.fs_hz == 1000
        n = b.data.size  # the rest of the last record is padding, named in an annotation
        assert n > 90000 and np.allclose(a.data[:n], b.data, atol=1e-9)
        assert np.all(a.data[n:] == a.data[n - 1])
    texts = [a.text for a in theirs.annotations]
    assert sorted((round(a.onset, 4), a.text) for a in theirs.annotations) == sorted(
        (round(a.onset_s, 4), a.text) for a in ours.annotations)
    for prefix in ("bbfeedback:settings", "bbfeedback:device", "bbfeedback:calibration",
                   "calib:baseline:baseline", "cue:work:squeeze_max rep=5", "cue:rest:relax",
                   "bbfeedback:contraction", "bbfeedback:rep", "bbfeedback:summary"):
        parted = f"bbfeedback:part {prefix.removeprefix('bbfeedback:')} "  # a long value
        assert any(t.startswith((prefix, parted)) for t in texts), prefix
    reps = decode((a.onset, a.text) for a in theirs.annotations).all("rep")
    assert [r["index"] for r in reps] == [1, 2, 3, 4, 5]
    assert theirs.patient.code == "P-007"


def test_patient_files_are_readable_by_the_user_only(session_file):
    assert stat.S_IMODE(os.stat(session_file).st_mode) == 0o600


def test_replay_gives_the_recorded_scores(session_file):
    src = ReplaySource(session_file, speed=1000.0)
    session = replay_session(src)
    end = run(src.start(), session, [])
    src.stop()
    assert end.reason == "stopped"
    assert end.result.reps == tuple(recorded_reps(src.recording))
    assert end.end_sample == src.recording.signals[0].data.size


def test_replay_pause_seek_and_speed(session_file):
    src = ReplaySource(session_file, speed=1.0).start()
    src.pause()
    src.seek(30.0)
    src.set_speed(50.0)
    src.resume()
    got = None
    while got is None or not isinstance(got, Block):
        got = src.get(timeout=5)
        assert got is not None
    src.stop()
    assert got.start_s == pytest.approx(30.0, abs=0.05)


def test_rescoring_with_the_recorded_protocol_and_with_other_targets(session_file, tmp_path):
    same = json.loads(subprocess.run([*BB, "analyze", str(session_file), "--protocol",
                                      "a1-strength", "--json"], capture_output=True,
                                     text=True).stdout)
    assert same["reps"] == [r.to_dict() for r in recorded_reps(read_recording(session_file))]
    harder = tmp_path / "a1-8s.toml"
    text = (Path(__import__("bbfeedback").__file__).parent / "exercise" / "protocols"
            / "a1-strength.toml").read_text()
    harder.write_text(text.replace("hold_s = 5.0", "hold_s = 8.0"))
    other = json.loads(subprocess.run([*BB, "analyze", str(session_file), "--protocol",
                                       str(harder), "--json"], capture_output=True,
                                      text=True).stdout)
    assert all(r["target_hold_s"] == 8.0 for r in other["reps"])
    assert other["summary"]["reps_met"] < same["summary"]["reps_met"]


def test_sigkill_loses_at_most_the_last_second_and_recover(tmp_path):
    out = tmp_path / "crash.edf"
    proc = subprocess.Popen([*BB, "record", "--device", "sim",
                             "--protocol", "a1-strength", "--seconds", "600", "--speed", "5",
                             "--progress", "--out", str(out)], stdout=subprocess.PIPE,
                            text=True)
    on_disk = 0
    for _ in range(12):
        line = proc.stdout.readline()
        on_disk = int(line.split()[2])
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()  # reaped, its pipe closed
    assert (tmp_path / "crash.edf.recording").exists()
    # the next record start offers the recovery
    again = subprocess.run([*BB, "record", "--device", "sim", "--seconds", "1",
                            "--speed", "20", "--out", str(tmp_path / "next.edf")],
                           capture_output=True, text=True)
    assert f"bbfeedback recover {out}" in again.stderr
    crashed = out.read_bytes()
    fixed = subprocess.run([*BB, "recover", str(out)], capture_output=True, text=True)
    assert fixed.returncode == 0 and "recovered" in fixed.stdout
    copy = tmp_path / "crash-recovered.edf"
    assert out.read_bytes() == crashed and (tmp_path / "crash.edf.recording").exists()
    assert copy.stat().st_mode & 0o777 == 0o600
    n = read_recording(copy).signals[0].data.size
    assert on_disk <= n <= on_disk + 2 * 1000  # what was reported safe is there, and more
    assert len(edfio.read_edf(copy).signals) == 2
    # the copy exists: the crash is no longer offered, and a second copy is not made over it
    assert unfinished(tmp_path) == []
    twice = subprocess.run([*BB, "recover", str(out)], capture_output=True, text=True)
    assert twice.returncode == 2 and "exists already" in twice.stderr
    fixed = subprocess.run([*BB, "recover", "--in-place", str(out)],
                           capture_output=True, text=True)
    assert fixed.returncode == 0 and "recovered" in fixed.stdout
    assert read_recording(out).signals[0].data.size == n
    assert not (tmp_path / "crash.edf.recording").exists()
    again = subprocess.run([*BB, "recover", str(out)], capture_output=True, text=True)
    assert again.returncode == 0 and "nothing to recover" in again.stdout


def test_recover_refuses_a_recording_still_being_written(tmp_path):
    out = tmp_path / "live.edf"
    proc = subprocess.Popen([*BB, "record", "--device", "sim",
                             "--seconds", "600", "--speed", "5", "--progress", "--out", str(out)],
                            stdout=subprocess.PIPE, text=True)
    try:
        proc.stdout.readline()
        for args in ([], ["--in-place"]):
            got = subprocess.run([*BB, "recover", *args, str(out)],
                                 capture_output=True, text=True)
            assert got.returncode == 2 and "still being recorded" in got.stderr
            assert len(got.stderr.splitlines()) == 1
        assert not (tmp_path / "live-recovered.edf").exists()
    finally:
        proc.terminate()
        proc.communicate(timeout=20)  # reaped, its pipe closed
    assert read_recording(out).signals[0].data.size > 0  # finalised by SIGTERM, untouched


def test_recover_cuts_a_partial_record_and_fixes_a_stale_count(session_file, tmp_path):
    broken = tmp_path / "broken.edf"
    data = session_file.read_bytes()
    # 3 signals + header; records of 1 s, as many as the header says (the session ends with
    # its last rest, before --seconds 95)
    record = (len(data) - 256 * 4) // int(data[236:244])
    head = bytearray(data[:1024])
    head[236:244] = b"-1      "  # the header was never updated
    broken.write_bytes(bytes(head) + data[1024:1024 + 40 * record + record // 2])
    (tmp_path / "broken.edf.recording").write_text('{"pid": 999999999}')
    out = subprocess.run([*BB, "recover", "--in-place", str(broken)],
                         capture_output=True, text=True)
    assert out.returncode == 0 and "recovered 40 data records" in out.stdout
    assert "partial record" in out.stdout
    assert read_recording(broken).signals[0].data.size == 40 * 1000
    bad = tmp_path / "text.edf"
    bad.write_text("hello")
    out = subprocess.run([*BB, "recover", str(bad)], capture_output=True, text=True)
    assert out.returncode == 2 and len(out.stderr.splitlines()) == 1


def test_export_anonymised(session_file, tmp_path):
    copy = tmp_path / "anon.edf"
    out = subprocess.run([*BB, "export", str(session_file), "--anonymise", "--out",
                          str(copy)], capture_output=True, text=True)
    assert out.returncode == 0
    e = edfio.read_edf(copy)
    head = copy.read_bytes()[:256]
    assert e.patient.code == "X" and head[168:184] == b"01.01.8500.00.00"
    assert head[88:168].strip() == b"Startdate X X X X"  # edfio: "startdate not available"
    assert edfio.read_edf(session_file).patient.code == "P-007"  # original untouched
    assert np.array_equal(e.signals[0].data, edfio.read_edf(session_file).signals[0].data)
    same = subprocess.run([*BB, "export", str(copy), "--anonymise", "--out",
                           str(copy)], capture_output=True, text=True)
    assert same.returncode == 2


def test_patient_id_must_be_pseudonymous(tmp_path):
    out = subprocess.run([*BB, "record", "--device", "sim", "--seconds", "1",
                          "--patient", "Jan Jansen", "--out", str(tmp_path / "x.edf")],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "pseudonymous" in out.stderr


@pytest.mark.parametrize(("name", "code", "needle"), [
    ("edfio_short_psg.edf", 2, "too low"),
    ("edfio_SC4001EC-Hypnogram.edf", 2, "no EMG or pressure signal"),
    ("edfio_test_subsecond.edf", 0, "Fp1"),
    ("pyedflib_test_utf8.edf", 0, "Fp1"),
    ("edfio_mne_test.edf", 0, "A1"),
    ("pyedflib_test_generator.edf", 0, "squarewave"),
])
def test_other_programs_edf_files_read_or_refused_clearly(real_data, name, code, needle):
    out = subprocess.run([*BB, "analyze", str(real_data / "edf_testfiles" / name)],
                         capture_output=True, text=True)
    assert out.returncode == code
    text = out.stdout if code == 0 else out.stderr
    assert needle in text and "Traceback" not in out.stderr
    if code == 2:
        assert len(out.stderr.strip().splitlines()) == 1


def test_recover_leaves_a_file_whose_header_lies_about_its_records(session_file, tmp_path):
    data = bytearray(session_file.read_bytes())
    ns = int(data[252:256])
    at = 256 + ns * 216  # samples per record of the first signal
    data[at:at + 8] = str(int(data[at:at + 8]) - 100).encode().ljust(8)
    data[236:244] = b"-1      "
    lying = tmp_path / "lying.edf"
    lying.write_bytes(bytes(data) + b"\0" * 100)
    for args in ([], ["--in-place"]):
        got = subprocess.run([*BB, "recover", *args, str(lying)], capture_output=True,
                             text=True)
        assert got.returncode == 2 and "does not describe the data records" in got.stderr
    assert lying.read_bytes() == bytes(data) + b"\0" * 100
    assert not (tmp_path / "lying-recovered.edf").exists()


@pytest.mark.parametrize("seconds", [7.3, 12.0, 3.999])
def test_the_last_records_fill_is_marked_for_every_reader(seconds, tmp_path):
    """A recording rarely ends on a record boundary: the fill is a BAD_ACQ_SKIP span (MNE)
    and a bbfeedback:padding note (our readers), so both give the true length."""
    mne = pytest.importorskip("mne")
    out = tmp_path / "end.edf"
    got = subprocess.run([*BB, "record", "--device", "sim", "--protocol",
                          "a1-strength", "--seconds", str(seconds), "--speed", "20", "--out",
                          str(out)], capture_output=True, text=True)
    assert got.returncode == 0, got.stderr
    n = int(round(seconds * 1000))
    assert read_recording(out).signals[0].data.size == n
    raw = mne.io.read_raw_edf(out, verbose="error")
    kept = raw.get_data(reject_by_annotation="omit", verbose="error").shape[1]
    assert kept == n
    # one span, from the true end to the file's end (records that only carry the last
    # annotations included)
    skips = [a for a in raw.annotations if a["description"] == "BAD_ACQ_SKIP"]
    assert len(skips) <= 1 and len(skips) == int(raw.n_times > n)
    if skips:
        assert skips[0]["onset"] == pytest.approx(seconds)
        assert skips[0]["onset"] + skips[0]["duration"] == pytest.approx(raw.times[-1] + 1e-3)


def test_a_marker_that_vanishes_while_read_is_a_recorder_next_door_finishing(tmp_path,
                                                                              monkeypatch):
    """CI saw it: a recorder next door removed its marker between the folder listing and the
    read; the unreadable marker read as a crash and a stray warning line was printed."""
    from bbfeedback.recording import repair

    (tmp_path / "next-door.edf").write_bytes(b"")
    (tmp_path / "next-door.edf.recording").write_text('{"pid": 1}')
    (tmp_path / "crashed.edf").write_bytes(b"")
    (tmp_path / "crashed.edf.recording").write_text("{}")  # no pid: a crash

    read = repair._marker_pid

    def finishing_meanwhile(rec):
        if rec.name == "next-door.edf":
            repair.marker_path(rec).unlink()
        return read(rec)

    monkeypatch.setattr(repair, "_marker_pid", finishing_meanwhile)
    assert repair.unfinished(tmp_path) == [tmp_path / "crashed.edf"]
