"""A full disk (issue 23, item 3), through the user's commands, and the smaller item 8 points.

The disk is filled without root: ``tests/fullDisk/sitecustomize.py``, on a child's
``PYTHONPATH``, lets files under one folder grow by a byte quota and then raises ENOSPC (as a
full disk: a short write, then "No space left on device"; overwriting and truncating need no
space), and caps SQLite databases there at a page count (SQLITE_FULL). Every command must end
in one line with exit status 4, keep everything already written, and leave a valid file.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bbfeedback.recording import read_recording
from bbfeedback.recording.repair import marker_path

HERE = Path(__file__).resolve().parent
FULL = HERE / "fullDisk"
BB = [sys.executable, "-m", "bbfeedback"]
EXIT_WRITE_FAILED = 4
QUOTA = 300_000  # bytes the recording folder can still take: about 37 s of the simulated sensor
LONG = 240  # a bound for a child process, never a speed


def full_env(folder: Path, quota: int | None = None, db_pages: int | None = None) -> dict:
    """The environment of a child whose ``folder`` is on a disk that fills up."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(FULL), env.get("PYTHONPATH", "")]).rstrip(
        os.pathsep)
    env["BBFEEDBACK_TEST_FULL_DIR"] = str(folder)
    if quota is not None:
        env["BBFEEDBACK_TEST_FULL_BYTES"] = str(quota)
    if db_pages is not None:
        env["BBFEEDBACK_TEST_FULL_DB_PAGES"] = str(db_pages)
    return env


def bb(*args: str, env: dict | None = None, timeout: float = LONG) -> subprocess.CompletedProcess:
    return subprocess.run(BB + [str(a) for a in args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def layout(path: Path) -> tuple[int, int, int]:
    """(header bytes, bytes per data record, record count in the header) of an EDF."""
    head = path.read_bytes()[:256]
    ns = int(head[252:256])
    rest = path.read_bytes()[256:256 * (ns + 1)]
    off = ns * (16 + 80 + 8 * 5 + 80)
    per = sum(int(rest[off + 8 * i: off + 8 * i + 8]) for i in range(ns))
    return int(head[184:192]), 2 * per, int(head[236:244])


def assert_valid(path: Path) -> int:
    """A whole EDF+ (header count = records on disk, no partial record), read by pyedflib
    and by our reader; its records."""
    import pyedflib

    header_bytes, record_bytes, count = layout(path)
    assert (path.stat().st_size - header_bytes) == count * record_bytes, "partial or stale"
    with pyedflib.EdfReader(str(path)) as f:
        assert f.datarecords_in_file == count
    read_recording(path)
    assert not marker_path(path).exists(), "the in-progress marker was left behind"
    return count


def one_error_line(got: subprocess.CompletedProcess, status: int, needle: str) -> str:
    assert "Traceback" not in got.stderr, got.stderr[-3000:]
    assert got.returncode == status, (got.returncode, got.stderr[-3000:])
    errors = [x for x in got.stderr.splitlines()  # "fout" under --lang nl
              if x.startswith(("bbfeedback: error:", "bbfeedback: fout:"))]
    assert len(errors) == 1 and needle in errors[0], got.stderr
    assert got.stderr.rstrip().splitlines()[-1] == errors[0]  # it ends with that line
    return errors[0]


def test_record_on_a_full_disk_ends_in_one_line_and_keeps_a_valid_file(tmp_path):
    """Was: a 25-line traceback, exit 1, the file unfinished (marker, partial record)."""
    out = tmp_path / "full.edf"
    got = bb("record", "--device", "sim", "--protocol", "a1-strength", "--speed", "20",
             "--seconds", "75", "--out", out, env=full_env(tmp_path, QUOTA))
    line = one_error_line(got, EXIT_WRITE_FAILED, "the disk is full")
    assert "kept as a valid recording" in line and str(out) in line
    records = assert_valid(out)
    header_bytes, record_bytes, _ = layout(out)
    marker = 64  # the in-progress marker took a few bytes of the quota too
    assert records == (QUOTA - header_bytes) // record_bytes or \
        records == (QUOTA - marker - header_bytes) // record_bytes  # every record that fitted
    assert 20 < records < 75
    assert list(tmp_path.iterdir()) == [out]  # no temporary, no marker, no copy


def test_record_on_a_disk_already_full_leaves_nothing(tmp_path):
    out = tmp_path / "none.edf"
    got = bb("record", "--device", "sim", "--seconds", "5", "--out", out,
             env=full_env(tmp_path, 200))  # room for the marker, not for the header
    one_error_line(got, EXIT_WRITE_FAILED, "No space left on device")
    assert list(tmp_path.iterdir()) == []


def crashed_copy(tmp_path: Path) -> tuple[Path, int]:
    """A recording as a crash leaves it: a stale record count, a partial last record, the
    marker of a recorder that is gone; (path, its complete records)."""
    path = tmp_path / "crashed.edf"
    got = bb("record", "--device", "sim", "--seconds", "6", "--speed", "20", "--out", path)
    assert got.returncode == 0, got.stderr
    header_bytes, record_bytes, count = layout(path)
    with path.open("r+b") as fh:
        fh.seek(236)
        fh.write(b"2".ljust(8))  # the last flush the header saw
        fh.seek(0, 2)
        fh.write(b"\x01" * (record_bytes // 3))  # a record cut off
    marker_path(path).write_text(json.dumps({"pid": 2 ** 22 + 12345}))  # no such process
    return path, count


def test_recover_on_a_full_disk_repairs_in_place_and_says_so(tmp_path):
    """Was: "cannot write (No space left on device)", exit 2, the file left broken."""
    path, records = crashed_copy(tmp_path)
    got = bb("recover", path, env=full_env(tmp_path, 0))
    assert got.returncode == 0 and "Traceback" not in got.stderr, got.stderr
    lines = got.stdout.strip().splitlines()
    assert len(lines) == 1 and "no room for a copy" in lines[0] and "itself" in lines[0]
    assert f"recovered {records} data records" in lines[0]
    assert assert_valid(path) == records  # every complete record, the partial one cut
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crashed.edf"]  # no copy, no temp


def test_recover_to_a_named_copy_on_a_full_disk_changes_nothing(tmp_path):
    path, _ = crashed_copy(tmp_path)
    before = path.read_bytes()
    got = bb("recover", path, "--out", tmp_path / "copy.edf", env=full_env(tmp_path, 0))
    one_error_line(got, EXIT_WRITE_FAILED, "--in-place")
    assert path.read_bytes() == before and marker_path(path).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crashed.edf", "crashed.edf.recording"]


@pytest.fixture(scope="module")
def sessions(tmp_path_factory) -> Path:
    """Two whole recorded sessions of a patient (added to no history)."""
    folder = tmp_path_factory.mktemp("sessions")
    for k in range(2):
        got = bb("record", "--device", "sim", "--protocol", "a3-quick", "--speed", "50",
                 "--seed", str(k), "--patient", "FD-1", "--db", folder / "own.sqlite3",
                 "--out", folder / f"s{k}.edf")
        assert got.returncode == 0, got.stderr
    (folder / "own.sqlite3").unlink()
    for extra in ("-wal", "-shm"):
        Path(f"{folder / 'own.sqlite3'}{extra}").unlink(missing_ok=True)
    return folder


def test_history_rebuild_on_a_full_disk_leaves_no_database_behind(sessions, tmp_path):
    """Was: a 4 kB database with -wal/-shm left behind, exit 2."""
    db = tmp_path / "h.sqlite3"
    got = bb("history", "rebuild", sessions, "--db", db, env=full_env(tmp_path, db_pages=1))
    line = one_error_line(got, EXIT_WRITE_FAILED, "the disk is full")
    assert "nothing was imported" in line and "removed" in line
    assert list(tmp_path.iterdir()) == []


def test_history_rebuild_stopped_by_a_full_disk_keeps_what_it_imported(sessions, tmp_path):
    db = tmp_path / "h.sqlite3"
    one = tmp_path / "one"
    one.mkdir()
    (one / "s0.edf").write_bytes((sessions / "s0.edf").read_bytes())
    assert bb("history", "rebuild", one, "--db", db).returncode == 0
    con = sqlite3.connect(db)
    pages = con.execute("PRAGMA page_count").fetchone()[0]
    con.close()
    got = bb("history", "rebuild", sessions, "--db", db,
             env=full_env(tmp_path, db_pages=pages))  # the new session needs new pages
    line = one_error_line(got, EXIT_WRITE_FAILED, "the disk is full")
    assert "run history rebuild again" in line
    shown = bb("history", "FD-1", "--db", db, "--json")
    assert shown.returncode == 0, shown.stderr  # the database is whole and still has s0
    files = [s["file"] for s in json.loads(shown.stdout)["sessions"]]
    assert any(f.endswith("s0.edf") for f in files)


@pytest.mark.parametrize(("lang", "full", "kept"), [
    ("en", "the disk is full", "kept as a valid recording"),
    ("nl", "de schijf is vol", "bewaard als geldige opname")])
def test_the_window_on_a_full_disk_says_so_and_stops_the_session(tmp_path, lang, full, kept):
    """Was: the session thread died with OSError, the window went on, the file unfinished;
    said in the window's language."""
    env = full_env(tmp_path, QUOTA)
    env["QT_QPA_PLATFORM"] = "offscreen"
    got = subprocess.run([sys.executable, str(FULL / "gui_session.py"), str(tmp_path), lang],
                         capture_output=True, text=True, timeout=LONG, env=env)
    assert got.returncode == 0 and "Traceback" not in got.stderr, got.stderr[-3000:]
    shown = json.loads(got.stdout.strip().splitlines()[-1])
    assert shown["finished"] and not shown["running"] and not shown["thread_alive"]
    assert shown["visible"] and shown["start_button"] == "Start"
    assert full in shown["status"]  # the status line says so
    assert full in shown["summary"] and kept in shown["summary"]
    path = Path(shown["path"])
    assert 20 < assert_valid(path) < 75  # what reached the disk, valid, not the whole run


@pytest.mark.parametrize("device", ["ascii", "bitalino"])
def test_record_of_a_device_that_ends_at_seconds_is_a_clean_end(device, tmp_path):
    """Item 8: the emulator ends exactly when record wants to stop; the parser keeps back
    its last frame or two, so record saw the link go and said "device lost", exit 3."""
    link = tmp_path / "dev"
    emu = subprocess.Popen(BB + ["emulate", "--device", device, "--protocol", "a1-strength",
                                 "--seconds", "4", "--link", str(link)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not link.exists() and time.monotonic() < deadline and emu.poll() is None:
            time.sleep(0.05)
        out = tmp_path / "clean.edf"
        got = bb("record", "--device", device, "--port", link, "--seconds", "4",
                 "--wait-s", "30", "--out", out)
    finally:
        emu.kill()
        emu.wait(30)
    assert got.returncode == 0, got.stderr
    assert "device lost" not in got.stderr and "disconnect" not in got.stderr.lower()
    assert "disconnections 0" in got.stdout
    assert read_recording(out).duration_s == pytest.approx(4.0, abs=0.02)


@pytest.fixture(scope="module")
def in_calibration(tmp_path_factory) -> tuple[Path, Path, subprocess.CompletedProcess]:
    """A session of a patient stopped during its calibration by ``--seconds``."""
    folder = tmp_path_factory.mktemp("calibration")
    out, db = folder / "calib.edf", folder / "rec.sqlite3"
    got = bb("record", "--device", "sim", "--protocol", "a1-strength", "--seconds", "14",
             "--speed", "20", "--patient", "CAL-1", "--db", db, "--out", out)
    assert got.returncode == 0, got.stderr
    return out, db, got


def test_history_rebuild_leaves_out_a_session_stopped_in_its_calibration(in_calibration,
                                                                         tmp_path):
    """Item 8: record left it out of the history, rebuild imported it."""
    out, db, recorded = in_calibration
    assert "added to the history" not in recorded.stdout
    got = bb("history", "rebuild", out.parent, "--db", tmp_path / "h.sqlite3")
    assert got.returncode == 0, got.stderr
    assert "0 sessions imported" in got.stdout
    assert "stopped during its calibration" in got.stderr


@pytest.mark.parametrize("lang, needle", [
    ("en", "the session was stopped during its calibration, at 14.0 s, so there are no "
           "repetitions to report; the calibration had: rest from 2.0 s"),
    ("nl", "de sessie is tijdens de kalibratie gestopt, op 14,0 s"),
])
def test_report_of_a_session_stopped_in_its_calibration_says_what_happened(
        in_calibration, tmp_path, lang, needle):
    """Item 8: it failed with "give --start-s" (or scored a calibration squeeze)."""
    out, _, _ = in_calibration
    got = bb("report", out, "--out", tmp_path / "r.html", "--lang", lang)
    line = one_error_line(got, 2, needle)
    assert "--start-s" not in line and ("squeeze" in line or "knijp" in line)
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize("command", ["export", "report"])
def test_a_whole_file_written_onto_a_full_disk_is_exit_4_and_not_left_half(tmp_path, command):
    """Attack on issue 23: ``export`` and ``report --out`` on a full disk exited 2 (an input
    error); the disk refused a write: one line, exit 4, no file and no temporary file."""
    sample = HERE.parent / "sample_data" / "a1_strength_emg.edf"
    out = tmp_path / ("copy.edf" if command == "export" else "report.html")
    got = bb(command, sample, "--out", out, env=full_env(tmp_path, 20_000))
    one_error_line(got, EXIT_WRITE_FAILED, "cannot write")
    assert list(tmp_path.iterdir()) == []


# --- record --db on a full disk (issue 23): exit 4, the recording kept, no half-made history ---
def db_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".sqlite3" in p.name)


def empty_history_pages(tmp_path: Path) -> int:
    """The pages of a new, empty history database: a cap at this leaves no room for a
    session."""
    from bbfeedback.app.history import History

    scratch = tmp_path.parent / f"{tmp_path.name}-pages"
    scratch.mkdir()
    hist = History(scratch / "h.sqlite3")
    pages = hist.db.execute("PRAGMA page_count").fetchone()[0]
    hist.close()
    return pages


def record_with_db(out: Path, db: Path, env: dict) -> subprocess.CompletedProcess:
    return bb("record", "--device", "sim", "--protocol", "a3-quick", "--speed", "50",
              "--patient", "FD-2", "--db", db, "--out", out, env=env)


def test_record_db_on_a_disk_full_while_recording_keeps_the_file_and_makes_no_history(
        tmp_path):
    """Was: exit 4 but an empty database made at the start left behind."""
    out, db = tmp_path / "s.edf", tmp_path / "h.sqlite3"
    got = record_with_db(out, db, full_env(tmp_path, 60_000))
    line = one_error_line(got, EXIT_WRITE_FAILED, "the disk is full")
    assert "kept as a valid recording" in line and "history database is removed" in line
    assert assert_valid(out) > 2
    assert list(tmp_path.iterdir()) == [out]


def test_record_db_when_the_history_finds_the_disk_full_keeps_the_whole_recording(tmp_path):
    """Was: exit 0, "not added to the history: ... the disk is full", the database and its
    -wal/-shm files left behind."""
    out, db = tmp_path / "s.edf", tmp_path / "h.sqlite3"
    env = full_env(tmp_path, 10_000_000, db_pages=empty_history_pages(tmp_path))
    got = record_with_db(out, db, env)
    line = one_error_line(got, EXIT_WRITE_FAILED, "the disk is full")
    assert "not in the history" in line and "history rebuild" in line and str(out) in line
    assert "recorded" in got.stdout and "added to the history" not in got.stdout
    assert assert_valid(out) > 60  # the whole session (one-second records)
    assert list(tmp_path.iterdir()) == [out]


def test_record_db_on_a_disk_already_full_leaves_nothing(tmp_path):
    """Was: exit 4 (or 2: the marker's ENOSPC) with the database left behind."""
    out, db = tmp_path / "s.edf", tmp_path / "h.sqlite3"
    for env in (full_env(tmp_path, 10_000_000, db_pages=1),  # not even the database
                full_env(tmp_path, 0, db_pages=1000)):  # the database, not the marker
        got = record_with_db(out, db, env)
        one_error_line(got, EXIT_WRITE_FAILED, "nothing recorded")
        assert list(tmp_path.iterdir()) == []


def test_record_db_on_a_full_disk_keeps_an_existing_history_as_it_was(tmp_path):
    out, db = tmp_path / "s.edf", tmp_path / "h.sqlite3"
    assert record_with_db(tmp_path / "first.edf", db, None).returncode == 0
    con = sqlite3.connect(db)
    pages = con.execute("PRAGMA page_count").fetchone()[0]
    con.close()
    got = record_with_db(out, db, full_env(tmp_path, 10_000_000, db_pages=pages))
    one_error_line(got, EXIT_WRITE_FAILED, "not in the history")
    assert assert_valid(out)
    shown = bb("history", "FD-2", "--db", db, "--json")
    assert shown.returncode == 0, shown.stderr
    assert [Path(s["file"]).name for s in json.loads(shown.stdout)["sessions"]] == ["first.edf"]
