"""`record` never hangs and always finalises: a silent port, a device that goes away, SIGTERM."""

import json
import os
import signal
import subprocess
import time

import pytest
from conftest import BB

from bbfeedback.recording import read_recording
from bbfeedback.recording.repair import marker_path

RECORD = [*BB, "record"]


def test_a_silent_port_ends_with_status_3_and_leaves_no_file(tmp_path):
    out = tmp_path / "silent.edf"
    t0 = time.monotonic()
    got = subprocess.run(RECORD + ["--device", "cyton", "--port", "loop://", "--seconds", "60",
                                   "--wait-s", "4", "--out", str(out)],
                         capture_output=True, text=True, timeout=60)
    assert got.returncode == 3, got.stderr
    assert time.monotonic() - t0 >= 4  # it waited (a hang would hit the timeout above)
    assert "no data for 3 s" in got.stderr and "device lost" in got.stderr
    assert "Traceback" not in got.stderr
    assert not out.exists() and not marker_path(out).exists()


def test_a_device_that_goes_away_ends_with_status_3_and_the_file_saved(tmp_path):
    emu = subprocess.Popen([*BB, "emulate", "--device", "p2",
                            "--protocol", "a1-strength", "--seconds", "6"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out = tmp_path / "gone.edf"
    try:  # (the port read inside: a failure to start still ends the emulator)
        port = emu.stdout.readline().strip()
        got = subprocess.run(RECORD + ["--device", "p2", "--port", port, "--seconds", "60",
                                       "--wait-s", "3", "--out", str(out)],
                             capture_output=True, text=True, timeout=60)
    finally:
        emu.kill()
        emu.communicate()  # reaped, its pipes closed
    assert got.returncode == 3, got.stderr
    assert "device lost" in got.stderr and str(out) in got.stderr
    rec = read_recording(out)
    assert 1.0 < rec.duration_s <= 6.5 and not marker_path(out).exists()
    assert rec.meta.last("lost") and rec.meta.last("disconnected")


@pytest.mark.parametrize("device", ["p2", "cyton"])  # starts on open; starts on command
def test_the_emulator_stops_when_its_reader_closes_the_port(device, tmp_path):
    emu = subprocess.Popen([*BB, "emulate", "--device", device,
                            "--protocol", "a1-strength"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = emu.stdout.readline().strip()
        got = subprocess.run(RECORD + ["--device", device, "--port", port, "--seconds", "2",
                                       "--out", str(tmp_path / "short.edf")],
                             capture_output=True, text=True, timeout=60)
        assert got.returncode == 0, got.stderr
        _, err = emu.communicate(timeout=60)  # a session lasts minutes: it stopped early
    finally:
        emu.kill()
        emu.wait()
    assert emu.returncode == 0 and "the reader closed the port" in err


def test_sigterm_finalises_the_recording_like_ctrl_c(tmp_path):
    out = tmp_path / "term.edf"
    proc = subprocess.Popen(RECORD + ["--device", "sim", "--protocol", "a1-strength",
                                      "--seconds", "600", "--speed", "5", "--progress",
                                      "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stdout:  # wait until some seconds are safely on disk
            if line.startswith("on disk") and int(line.split()[2]) >= 10000:
                break
        proc.send_signal(signal.SIGTERM)
        rest, err = proc.communicate(timeout=120)  # a hang bound, not a speed
    finally:  # never a recorder left running
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "stopped early" in rest and "Traceback" not in err
    assert not marker_path(out).exists()  # finished, nothing to recover
    rec = read_recording(out)
    assert rec.duration_s >= 10.0 and os.stat(out).st_size > 0


def bb(*args, **kw):
    return subprocess.run([*BB, *args], capture_output=True,
                          text=True, timeout=120, **kw)


def one_line_error(got, needle: str) -> None:
    """Exit 2 and one error line (after, at most, a notice of an unfinished recording)."""
    assert got.returncode == 2, got.stderr
    lines = got.stderr.strip().splitlines()
    assert lines[-1].startswith("bbfeedback: error: ") and needle in lines[-1]
    assert len(lines) == 1 or (len(lines) == 2 and "unfinished recording" in lines[0])


def test_outputs_never_replace_or_follow_a_file_unasked(tmp_path):
    session = tmp_path / "session.edf"
    got = bb("record", "--device", "sim", "--seconds", "2", "--speed", "20", "--out",
             str(session))
    assert got.returncode == 0, got.stderr
    before = session.read_bytes()
    one_line_error(bb("record", "--device", "sim", "--seconds", "1", "--out", str(session)),
                   "exists already")
    one_line_error(bb("report", str(session), "--out", str(session)), "is the input file")
    one_line_error(bb("export", str(session), "--out", str(session)), "is the input file")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    link = tmp_path / "link.html"
    link.symlink_to(victim)
    one_line_error(bb("export", str(session), "--out", str(link)), "symbolic link")
    planted = tmp_path / "new.edf.recording"
    planted.symlink_to(victim)
    one_line_error(bb("record", "--device", "sim", "--seconds", "1", "--out",
                      str(tmp_path / "new.edf")), "cannot create")
    one_line_error(bb("export", str(session), "--out", str(tmp_path / "no" / "x.edf")),
                   "folder does not exist")
    one_line_error(bb("export", str(session), "--out", str(tmp_path)), "is a folder")
    assert session.read_bytes() == before and victim.read_text() == "keep me"
    assert not (tmp_path / "new.edf").exists()
    copy = tmp_path / "copy.edf"
    assert bb("export", str(session), "--out", str(copy), "--anonymise").returncode == 0
    assert os.stat(copy).st_mode & 0o777 == 0o600
    assert b"X X X X" in copy.read_bytes()[:256]
    assert bb("export", str(session), "--out", str(copy), "--force").returncode == 0
    assert copy.read_bytes() == before
    got = bb("record", "--device", "sim", "--seconds", "1", "--speed", "20", "--out",
             str(session), "--force")
    assert got.returncode == 0 and session.read_bytes() != before


BAD_PROTOCOLS = {
    "cue-list": ('cue = "relax"', 'cue = ["a"]', "must be a cue name"),
    "until-no": ('hold_s = 5.0', 'hold_s = 5.0\n  until_fail = "no"', "must be true or false"),
    "reps-huge": ("repetitions = 5", "repetitions = 100000000", "from 1 to 1000"),
    "days-long": ("duration_s = 4.0", "duration_s = 40000.0", "at most 4 h"),
}


@pytest.mark.parametrize("case", sorted(BAD_PROTOCOLS))
def test_a_bad_protocol_file_is_one_line(case, tmp_path):
    from bbfeedback.exercise import protocols

    old, new, needle = BAD_PROTOCOLS[case]
    text = (protocols.HERE / "a1-strength.toml").read_text()
    assert old in text
    path = tmp_path / f"{case}.toml"
    path.write_text(text.replace(old, new, 1))
    one_line_error(bb("protocols", "show", str(path)), needle)


@pytest.mark.parametrize(("args", "needle"), [
    (("analyze", "sample_data/lift.edf", "--window-s", "1e12"), "from 0.01 to 2"),
    (("analyze", "sample_data/lift.edf", "--start-s", "nan"), "finite"),
    (("record", "--device", "sim", "--seconds", "inf", "--out", "x.edf"), "finite number from"),
    (("record", "--device", "sim", "--rate", "1e7", "--seconds", "1", "--out", "x.edf"),
     "from 100 to 20000"),
    (("history", "P1", "--db", "/nonexistent-folder/h.sqlite3"), "folder does not exist"),
])
def test_a_wrong_option_value_is_one_line(args, needle):
    from conftest import ROOT

    got = bb(*args, cwd=ROOT)
    assert got.returncode == 2 and needle in got.stderr and "Traceback" not in got.stderr
    assert len(got.stderr.strip().splitlines()) == 1


def test_a_fifo_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "pipe.edf"
    os.mkfifo(fifo)
    one_line_error(bb("analyze", str(fifo)), "not a regular file")


@pytest.mark.parametrize("pid", ["a1-strength", "a3-quick", "glazer"])
def test_a_session_stopped_in_its_calibration_scores_no_repetition(pid, tmp_path):
    out = tmp_path / "calib.edf"
    got = subprocess.run(RECORD + ["--device", "sim", "--protocol", pid, "--seconds", "8",
                                   "--speed", "20", "--out", str(out)],
                         capture_output=True, text=True, timeout=60)
    assert got.returncode == 0, got.stderr
    doc = subprocess.run([*BB, "analyze", str(out), "--json"],
                         capture_output=True, text=True, timeout=60)
    assert doc.returncode == 0 and "stopped during its calibration" in doc.stderr
    assert "reps" not in json.loads(doc.stdout)  # the calibration squeezes are no reps
    table = subprocess.run([*BB, "analyze", str(out)],
                           capture_output=True, text=True, timeout=60)  # attacker: KeyError
    assert table.returncode == 0 and "Traceback" not in table.stderr, table.stderr[-2000:]
    assert "(estimated from the recording)" in table.stdout
    dutch = subprocess.run([*BB, "analyze", str(out),
                            "--lang", "nl"], capture_output=True, text=True, timeout=60)
    assert dutch.returncode == 0 and "tijdens de kalibratie gestopt" in dutch.stderr
    assert "stopped during" not in dutch.stderr
