"""Issue 23, attacker findings: what a file's name can do to a terminal, an ``--out`` name
that fails only after the session, and reading commands that made a database at a mistyped
path. Everything through the user's commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SAMPLES

from bbfeedback.recording.repair import marker_path

BB = [sys.executable, "-m", "bbfeedback"]
EVIL = "evil\x1b]0;owned\x07"  # sets the terminal's title when printed raw
LONG = 240  # a bound for a child process, never a speed


def bb(*args, cwd=None) -> subprocess.CompletedProcess:
    """The command with bytes out (a name need not be UTF-8; the check is on raw bytes)."""
    return subprocess.run(BB + [a if isinstance(a, bytes) else str(a) for a in args],
                          capture_output=True, timeout=LONG, cwd=cwd)


def assert_shown_safely(got: subprocess.CompletedProcess, named: bool = True) -> str:
    """No control character of the name reached the terminal; it is named escaped."""
    both = got.stdout + got.stderr
    assert b"Traceback" not in both, got.stderr[-3000:]
    assert b"\x1b" not in both and b"\x07" not in both, both[-3000:]
    text = both.decode("utf-8", "replace")
    if named:
        assert "evil\\x1b]0;owned\\x07" in text, text[-3000:]
    return text


@pytest.fixture(scope="module")
def evil(tmp_path_factory) -> tuple[Path, Path, subprocess.CompletedProcess]:
    """A session recorded into a folder and a file whose names hold an escape sequence, and
    added to a history database named so too."""
    folder = tmp_path_factory.mktemp("names") / EVIL
    folder.mkdir()
    out, db = folder / f"{EVIL}.edf", folder / f"{EVIL}.sqlite3"
    got = bb("record", "--device", "sim", "--protocol", "a3-quick", "--speed", "50",
             "--patient", "E-1", "--db", db, "--out", out)
    assert got.returncode == 0, got.stderr[-3000:]
    return out, db, got


def test_record_out_and_db_names_are_shown_escaped(evil):
    out, _, got = evil
    text = assert_shown_safely(got)
    assert "added to the history" in text and out.exists()


def test_analyze_of_one_file_and_of_an_archive_show_names_escaped(evil, tmp_path):
    out, _, _ = evil
    assert_shown_safely(bb("analyze", out))
    got = bb("analyze", out.parent, "--out", tmp_path / f"{EVIL}.csv")
    assert got.returncode == 0, got.stderr[-3000:]
    assert_shown_safely(got)


def test_export_and_report_show_names_escaped(evil, tmp_path):
    out, _, _ = evil
    got = bb("export", out, "--out", tmp_path / f"{EVIL}-copy.edf", "--anonymise")
    assert got.returncode == 0, got.stderr[-3000:]
    assert_shown_safely(got)
    got = bb("report", out, "--out", tmp_path / f"{EVIL}.html")
    assert got.returncode == 0, got.stderr[-3000:]
    assert_shown_safely(got)


def test_history_rebuild_and_progress_show_names_escaped(evil, tmp_path):
    out, db, _ = evil
    got = bb("history", "rebuild", out.parent, "--db", tmp_path / f"{EVIL}.sqlite3")
    assert got.returncode == 0, got.stderr[-3000:]
    assert_shown_safely(got)
    got = bb("history", "E-1", "--db", db)
    assert got.returncode == 0, got.stderr[-3000:]
    assert_shown_safely(got, named=False)


def test_recover_shows_names_escaped(evil, tmp_path):
    src, _, _ = evil
    path = tmp_path / f"{EVIL}.edf"
    data = src.read_bytes()
    path.write_bytes(data[:236] + b"2".ljust(8) + data[244:] + b"\x01" * 100)  # cut off
    marker_path(path).write_text(json.dumps({"pid": 2 ** 22 + 12345}))  # a recorder gone
    got = bb("recover", path)
    assert got.returncode == 0, got.stderr[-3000:]
    assert "recovered" in assert_shown_safely(got)


def test_an_error_naming_a_bad_name_is_escaped_too(tmp_path):
    got = bb("analyze", tmp_path / f"{EVIL}.edf")
    assert got.returncode == 2
    assert_shown_safely(got)
    got = bb("history", "rebuild", tmp_path / EVIL)
    assert got.returncode == 2 and b"folder does not exist" in got.stderr
    assert_shown_safely(got)


# --- item 2: record --out refused before the session ----------------------------------------
def one_line(got: subprocess.CompletedProcess, needle: str) -> str:
    err = got.stderr.decode("utf-8", "replace")
    assert got.returncode == 2 and "Traceback" not in err, err[-3000:]
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bbfeedback: error:") and needle in lines[0]
    return lines[0]


def test_a_record_out_name_that_is_not_utf8_is_refused_before_the_session(tmp_path):
    """Was: recorded the whole session, then "not added to the history: the file name is not
    UTF-8 text"."""
    name = os.fsencode(tmp_path) + b"/sess\xff\xfe.edf"
    db = tmp_path / "h.sqlite3"
    got = bb("record", "--device", "sim", "--protocol", "a1-strength", "--seconds", "60",
             "--patient", "U-1", "--db", db, "--out", name)
    line = one_line(got, "not UTF-8")
    assert "sess\\xff\\xfe.edf" in line  # the odd bytes named, not '?'
    assert got.stdout == b"" and list(tmp_path.iterdir()) == []  # no file, no database


@pytest.mark.parametrize("where", ["no-such-folder/s.edf", "a-folder"])
def test_a_record_out_that_cannot_be_created_is_refused_and_makes_no_history(tmp_path,
                                                                              where):
    (tmp_path / "a-folder").mkdir()
    db = tmp_path / "h.sqlite3"
    got = bb("record", "--device", "sim", "--protocol", "a1-strength", "--seconds", "60",
             "--patient", "U-1", "--db", db, "--out", tmp_path / where)
    one_line(got, "folder does not exist" if "/" in where else "is a folder")
    assert not db.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["a-folder"]


# --- item 3: reading commands never make a database -------------------------------------------
@pytest.mark.parametrize("command", [
    ("history",), ("history", "P-1"), ("history", "P-1", "--json"),
    ("report", "--patient", "P-1", "--out", "{tmp}/r.html"),
    ("record", "--device", "sim", "--protocol", "a3-quick", "--patient", "P-1",
     "--calibration", "previous", "--out", "{tmp}/s.edf"),
])
def test_a_reading_command_refuses_a_missing_history_and_makes_none(tmp_path, command):
    """Was: an empty database (and its -wal/-shm files) made at the mistyped path."""
    db = tmp_path / "mistyped.sqlite3"
    args = [a.format(tmp=tmp_path) for a in command]
    got = bb(*args, "--db", db)
    one_line(got, f"no history at {db}")
    assert list(tmp_path.iterdir()) == []


def test_a_reading_command_refuses_a_missing_default_history(tmp_path):
    env = dict(os.environ, BBFEEDBACK_DB=str(tmp_path / "h.sqlite3"))
    got = subprocess.run(BB + ["history", "P-1"], capture_output=True, env=env, timeout=LONG)
    one_line(got, "no history at")
    assert list(tmp_path.iterdir()) == []


def test_history_rebuild_of_a_missing_folder_says_so_and_makes_no_database(tmp_path):
    db = tmp_path / "h.sqlite3"
    got = bb("history", "rebuild", tmp_path / "nonexistent", "--db", db)
    one_line(got, "nonexistent: folder does not exist")
    (tmp_path / "f.edf").write_bytes(b"")
    got = bb("history", "rebuild", tmp_path / "f.edf", "--db", db)
    one_line(got, "is not a folder")
    assert not db.exists()


def test_history_rebuild_still_makes_a_new_database(tmp_path):
    db = tmp_path / "new.sqlite3"
    got = bb("history", "rebuild", SAMPLES, "--db", db)
    assert got.returncode == 0, got.stderr[-3000:]
    assert db.exists()
    assert bb("history", "--db", db).returncode == 0
