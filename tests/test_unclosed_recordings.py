"""A recording that was not closed is never read as a whole one (issue 23), however it is
reached: a hard link or a copy of a file still being recorded has no in-progress marker
beside it, but its header's record count is -1 (EDF: still recording) until the recorder
closes it. Every command that reads recordings says so in one line (exit 2) and writes
nothing; ``recover`` makes such a file whole, with or without a marker. Through the user's
command, with a real recorder."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

BB = [sys.executable, "-m", "bbfeedback"]


@contextlib.contextmanager
def recording(path: Path) -> Iterator[subprocess.Popen]:
    """A real ``bbfeedback record`` writing ``path`` (two seconds on disk; its session,
    glazer at twice the speed, lasts three minutes), ended and reaped whatever happens."""
    proc = subprocess.Popen(BB + ["record", "--device", "sim", "--protocol", "glazer",
                                  "--seconds", "600", "--speed", "2", "--progress", "--out",
                                  str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        for _ in range(2):
            assert proc.stdout.readline().startswith("on disk")
        yield proc
    finally:
        proc.kill()
        proc.wait(timeout=60)
        proc.stdout.close()


def bb(*args: object, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run(BB + [str(a) for a in args], capture_output=True, text=True,
                          timeout=120, env=env, **kw)


def refused(got: subprocess.CompletedProcess, path: Path) -> None:
    assert got.returncode == 2, (got.returncode, got.stdout, got.stderr)
    assert got.stderr.count("\n") == 1, got.stderr
    assert "was not closed" in got.stderr and "still being recorded" in got.stderr
    assert f"bbfeedback recover {path}" in got.stderr, got.stderr


def test_a_hard_link_to_a_recording_in_progress_is_refused_everywhere(tmp_path):
    live = tmp_path / "live.edf"
    away = tmp_path / "elsewhere"
    away.mkdir()
    link = away / "link.edf"
    snapshot = tmp_path / "snapshot.edf"
    outs = tmp_path / "outs"
    outs.mkdir()
    with recording(live) as proc:
        os.link(live, link)  # the same file under another name: no marker beside it
        assert not Path(f"{link}.recording").exists()
        assert int(link.read_bytes()[236:244]) == -1  # the header: still recording
        for args in (["analyze", link],
                     ["analyze", link, "--json"],
                     ["export", link, "--out", outs / "copy.edf"],
                     ["export", link, "--anonymise", "--out", outs / "anon.edf"],
                     ["export-bids", link, "--subject", "s01", "--out", outs / "bids"],
                     ["report", link, "--out", outs / "report.html"],
                     ["gui", "--replay", link, "--quit-after", "2"]):
            refused(bb(*args), link)
        got = bb("analyze", away, "--out", outs / "table.csv", "--jobs", "1")
        assert got.returncode == 1 and "was not closed" in got.stderr, got.stderr
        got = bb("history", "rebuild", away, "--db", tmp_path / "h.db")
        assert "was not closed" in got.stderr, got.stderr
        assert "0 sessions imported" in got.stdout, got.stdout
        snapshot.write_bytes(link.read_bytes())  # a plain copy taken while it records
        for args in ([link, "--in-place"], [link, "--out", outs / "r.edf"]):  # never repaired
            got = bb("recover", *args)  # under a recorder's hands (it holds the file locked)
            assert got.returncode == 2 and "is still being recorded" in got.stderr, got.stderr
            assert got.stderr.count("\n") == 1
        assert int(link.read_bytes()[236:244]) == -1
        assert proc.poll() is None  # all of it while the recorder was still at work
    assert not {p.name for p in outs.iterdir()} & {"copy.edf", "anon.edf", "bids",
                                                    "report.html", "r.edf"}
    refused(bb("analyze", snapshot), snapshot)  # killed: it stays unclosed on disk too
    refused(bb("analyze", link), link)
    # recover makes it whole, without a marker (the copy) and with one (the original)
    got = bb("recover", snapshot, "--out", tmp_path / "fixed.edf")
    assert got.returncode == 0, got.stderr
    assert bb("analyze", tmp_path / "fixed.edf").returncode == 0
    assert Path(f"{live}.recording").exists()  # the killed recorder's marker is left
    got = bb("recover", live, "--in-place")
    assert got.returncode == 0, got.stderr
    assert int(live.read_bytes()[236:244]) > 0
    assert bb("analyze", link).returncode == 0  # the same file, now closed


def test_a_closed_recording_counts_its_records(tmp_path):
    path = tmp_path / "done.edf"
    got = bb("record", "--device", "sim", "--seconds", "2", "--speed", "20", "--out", path)
    assert got.returncode == 0, got.stderr
    data = path.read_bytes()
    records = int(data[236:244])
    assert records > 0 and not Path(f"{path}.recording").exists()
    assert bb("analyze", path).returncode == 0


def test_force_never_replaces_a_recording_being_made(tmp_path):
    """Attacker finding: ``export/report/recover --out LIVE --force`` renamed their output
    over a file still being recorded (the recorder went on writing into a file no name led
    to and said it had saved it), or over its in-progress marker. One line, exit 2, the
    recording untouched; by a hard link too."""
    sample = Path(__file__).resolve().parents[1] / "sample_data" / "a1_strength_emg.edf"
    live = tmp_path / "live.edf"
    with recording(live):
        link = tmp_path / "link.edf"
        os.link(live, link)
        inode = live.stat().st_ino
        for out in (live, link, Path(f"{live}.recording")):
            for args in (("export", sample, "--out", out, "--force"),
                         ("report", sample, "--out", out, "--force")):
                got = bb(*args)
                assert got.returncode == 2, (args, got.stdout, got.stderr)
                assert got.stderr.count("\n") == 1 and "being made" in got.stderr \
                    or "marker" in got.stderr, got.stderr
        assert live.stat().st_ino == inode and Path(f"{live}.recording").exists()
