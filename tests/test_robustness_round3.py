"""Issue 23, items 4, 5 (first half) and 8 (a-c), through the user's command: no hang on an
include bomb, on a protocol of many short phases, or on a folder with a loop of links; no
silent use of part of a file whose header counts fewer records than it holds; any file name
works; a protocol's text never acts on the terminal; ``export`` and ``gui --replay`` refuse
what ``analyze`` refuses.

A hang is bounded by ``HANG_S``, far beyond the fixed commands' time even on a loaded
machine (each takes seconds), and the child is killed and reaped when it is reached: these
tests judge outcomes, never speed.
"""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from conftest import BB, SAMPLES

from bbfeedback.app.cli import main
from bbfeedback.exercise import protocols
from bbfeedback.exercise.simulate import Behaviour, activation, session_plan

HANG_S = 120.0
SAMPLE = SAMPLES / "a1_strength_emg.edf"  # 95 one-second records (94 s of signal)


def bbfeedback(*args: str | bytes | Path, cwd: Path | None = None, env: dict | None = None,
               timeout: float = HANG_S) -> subprocess.CompletedProcess:
    """``bbfeedback ARGS`` (bytes: the output undecoded); a run past ``timeout`` is a hang:
    its whole process group is killed and reaped, and the test fails."""
    cmd = [*BB, *args]
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
                            env=full_env, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"bbfeedback {' '.join(map(str, args))}: no end within {timeout:g} s")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def one_error_line(run: subprocess.CompletedProcess) -> str:
    """The run's single error line (exit 2, no traceback)."""
    err = run.stderr.decode("utf-8", "replace")
    assert run.returncode == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("bbfeedback: error: "), err
    return lines[0]


# --- item 4a: an include bomb ------------------------------------------------------------

LEAF = ('id = "leaf"\n[[section]]\n[[section.phase]]\nkind = "work"\nhold_s = 0.01\n'
        'reach_s = 0\ntarget_pct_mvc = 50\n')


def include_bomb(folder: Path, width: int, levels: int) -> Path:
    """``l<levels>.toml``, including the level below ``width`` times, down to one leaf: read
    again at every level, the leaf was read width ** levels times."""
    (folder / "leaf.toml").write_text(LEAF)
    below = folder / "leaf.toml"
    for k in range(1, levels + 1):
        top = folder / f"l{k}.toml"
        names = ", ".join(f'"{below}"' for _ in range(width))
        top.write_text(f'id = "l{k}"\ninclude = [{names}]\n')
        below = top
    return below


def test_an_include_bomb_is_refused_without_a_wait(tmp_path):
    """10 includes at each of 7 levels: a million reads of the leaf before (~400-550 s on an
    idle machine, 398 s in the issue) before the phase limit refused it; each file is read
    once now, and the include that passes the limit is named."""
    top = include_bomb(tmp_path, 10, 7)
    line = one_error_line(bbfeedback("protocols", "show", top))
    assert "l6.toml: include[1]: with this include the session would have 200000 phases; " \
        "at most 100000" in line, line


def test_each_included_file_is_read_once(tmp_path, monkeypatch, capsys):
    """Through ``main``: every file of a valid 4-wide, 3-level tree is loaded once, and the
    protocol holds every included section (4 ** 3 leaves)."""
    top = include_bomb(tmp_path, 4, 3)
    loads: dict[str, int] = {}
    real_load = protocols.load

    def counting(id_or_path, *args, **kwargs):
        key = str(Path(str(id_or_path)).resolve())
        loads[key] = loads.get(key, 0) + 1
        return real_load(id_or_path, *args, **kwargs)

    monkeypatch.setattr(protocols, "load", counting)
    assert main(["protocols", "show", str(top)]) == 0
    assert sorted(loads.values()) == [1, 1, 1, 1], loads  # l3, l2, l1, leaf
    out = capsys.readouterr().out
    assert out.count("  work ") == 4 ** 3, out[-400:]
    assert len(real_load(str(top)).sections) == 4 ** 3


# --- item 4b: a protocol of many short phases ----------------------------------------------

SHORT = ('id = "short"\n[[section]]\nrepetitions = 900\n[[section.phase]]\nkind = "work"\n'
         'hold_s = {hold}\nreach_s = 0\ntarget_pct_mvc = 50\n[[section.phase]]\nkind = "rest"\n'
         'duration_s = {rest}\n')


def test_many_short_repetitions_do_not_hang_the_simulated_sensor(tmp_path):
    """900 reps of 0.3 s work + 0.2 s rest on the simulated sensor at 6 kHz: each squeeze was
    shaped over every sample of the session (an old run: 40 s before the first sample at
    1 kHz, several minutes at 6 kHz); ``record`` now starts at once and ends as asked."""
    proto = tmp_path / "short.toml"
    proto.write_text(SHORT.format(hold=0.3, rest=0.2))
    out = tmp_path / "x.edf"
    run = bbfeedback("record", "--device", "sim", "--rate", "6000", "--protocol", proto,
                     "--seconds", "2", "--speed", "20", "--out", out)
    assert run.returncode == 0, run.stderr.decode(errors="replace")
    assert b"recorded 12000 samples (2.0 s)" in run.stdout, run.stdout


@pytest.mark.parametrize(("hold", "rest"), [(0.3, 0.2), (0.1, 0.1), (0.02, 0.3)])
def test_a_short_repetition_is_one_squeeze_within_it(hold, rest):
    """The simulated patient (steady: no jitter) makes one squeeze per repetition that ramps
    up, holds (for some time, not less than none) and lets go before the next one begins:
    a fixed 0.15 s ramp gave a 0.1 s work phase a hold of -0.05 s."""
    proto = protocols.loads(SHORT.format(hold=hold, rest=rest), "short.toml")
    pfm, _, cues, _ = session_plan(proto, Behaviour(reaction_s=0.05))
    assert len(pfm) == 900
    for sq in pfm:
        assert sq.hold_s > 0 and sq.ramp_s <= hold / 3 + 1e-12
        assert sq.ramp_s + sq.hold_s + sq.release_s <= hold + sq.ramp_s + 1e-9
    for a, b in zip(pfm, pfm[1:], strict=False):
        assert a.offset_s < b.onset_s  # apart: 900 squeezes, not one long one
    import numpy as np

    t = np.arange(0, pfm[5].onset_s, 1e-3)
    act = activation(t, pfm[:6])
    gaps = [(a.offset_s + b.onset_s) / 2 for a, b in zip(pfm[:5], pfm[1:6], strict=True)]
    assert all(act[int(g * 1000)] == 0.0 for g in gaps)
    assert all(act[int((sq.onset_s + sq.ramp_s + sq.hold_s / 2) * 1000)] > 0.3
               for sq in pfm[:5])


# --- item 4c: a loop of links under a glob ---------------------------------------------------

def test_a_glob_over_a_loop_of_links_ends_with_each_file_once(tmp_path):
    """``analyze "DIR/**/*.edf"`` with two links back up the tree: glob's ``**`` walked
    2 ** 40 paths, memory growing; each real folder is entered once now, so each recording
    is analysed once. A linked-in folder elsewhere is searched too (once)."""
    root = tmp_path / "archive"
    (root / "sub").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    shutil.copy(SAMPLE, root / "a.edf")
    shutil.copy(SAMPLE, root / "sub" / "b.edf")
    shutil.copy(SAMPLE, tmp_path / "elsewhere" / "c.edf")
    (root / "sub" / "up").symlink_to(root)
    (root / "sub" / "again").symlink_to(root, target_is_directory=True)
    (root / "linked").symlink_to(tmp_path / "elsewhere")
    (root / "loop").symlink_to(root / "sub")
    table = tmp_path / "t.csv"
    run = bbfeedback("analyze", f"{root}/**/*.edf", "--out", table, "--jobs", "1")
    assert run.returncode == 0, run.stderr.decode(errors="replace")
    with table.open() as fh:
        files = {os.path.relpath(r["file"], root) for r in csv.DictReader(fh)}
    assert files == {"a.edf", "sub/b.edf", "linked/c.edf"}  # by its real folder, not a link
    assert b"3 of 3 recordings analysed" in run.stdout, run.stdout


# --- item 5, first half: a header that counts fewer records than the file holds ------------

@pytest.fixture
def stale_header(tmp_path) -> Path:
    """The sample session with a header that says 10 of its records (1 s each; 94 since
    the writer adds no padding records for queued annotations)."""
    data = bytearray(SAMPLE.read_bytes())
    assert int(data[236:244]) > 20
    data[236:244] = b"10".ljust(8)
    path = tmp_path / "stale.edf"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("command", ["analyze", "export", "gui", "report", "archive"])
def test_a_header_counting_too_few_records_is_said(stale_header, command):
    """Every command that reads the file says so in one line, exit 2, with the way out (they
    used the header's 10 s of 95 without a word); ``analyze DIR --out`` names it in its
    error row."""
    tmp = stale_header.parent
    args = {"analyze": ["analyze", stale_header],
            "export": ["export", stale_header, "--out", tmp / "copy.edf"],
            "gui": ["gui", "--replay", stale_header, "--quit-after", "3"],
            "report": ["report", stale_header, "--out", tmp / "r.html"],
            "archive": ["analyze", tmp, "--out", tmp / "t.csv", "--jobs", "1"]}[command]
    run = bbfeedback(*args, env={"QT_QPA_PLATFORM": "offscreen"})
    records = int(SAMPLE.read_bytes()[236:244])
    said = (f"{stale_header}: the header says 10 s but the file holds {records} s (a recording "
            f"whose header was not brought up to date); run `bbfeedback recover "
            f"{stale_header}`")
    if command == "archive":
        assert run.returncode == 1
        assert said in run.stderr.decode(), run.stderr
    else:
        assert one_error_line(run) == f"bbfeedback: error: {said}"
    assert not (tmp / "copy.edf").exists() and not (tmp / "r.html").exists()


def test_recover_then_analyze_reads_all_of_it(stale_header):
    assert bbfeedback("recover", stale_header, "--in-place").returncode == 0
    run = bbfeedback("analyze", stale_header, "--json")
    assert run.returncode == 0, run.stderr
    assert b'"duration_s": 94.0' in run.stdout


# --- item 8a: a file name that is not UTF-8 ------------------------------------------------

@pytest.fixture
def latin1_names(tmp_path) -> tuple[bytes, bytes]:
    """(a recording, a folder holding another) named in Latin-1: caf\\xe9."""
    folder = os.fsencode(tmp_path) + b"/dossier-\xe9"
    try:
        os.mkdir(folder)
    except (OSError, UnicodeError):
        pytest.skip("this file system takes only UTF-8 names")
    single = os.fsencode(tmp_path) + b"/caf\xe9.edf"
    shutil.copy(SAMPLE, single)
    shutil.copy(SAMPLE, folder + b"/caf\xe9.edf")
    return single, folder


def test_analyze_and_report_take_any_file_name(latin1_names, tmp_path):
    """``analyze`` and ``report`` of ``caf\\xe9.edf`` ended in a traceback (pyedflib encodes
    names as UTF-8); they work, printing the odd byte escaped ('\\xe9')."""
    single, _ = latin1_names
    run = bbfeedback("analyze", single)
    assert run.returncode == 0, run.stderr.decode(errors="replace")
    assert b"caf\\xe9.edf  (94.0 s)" in run.stdout, run.stdout[:200]
    report = tmp_path / "r.html"
    run = bbfeedback("report", single, "--out", report)
    assert run.returncode == 0, run.stderr.decode(errors="replace")
    assert report.stat().st_size > 1000
    run = bbfeedback("analyze", single + b".missing")
    assert one_error_line(run) == (f"bbfeedback: error: {tmp_path}/caf\\xe9.edf.missing: "
                                   "no such file")


def test_history_rebuild_skips_a_name_it_cannot_store(latin1_names, tmp_path):
    """``history rebuild`` over ``caf\\xe9.edf`` ended in a traceback from sqlite; the file
    is skipped with its reason, the rebuild goes on."""
    _, folder = latin1_names
    run = bbfeedback("history", "rebuild", folder, "--db", tmp_path / "h.sqlite3")
    assert run.returncode == 0 and b"Traceback" not in run.stderr, run.stderr[-2000:]
    assert b"0 sessions imported" in run.stdout
    assert b"the file name is not UTF-8 text: rename it" in run.stderr


def test_an_archive_table_is_written_whatever_the_names(latin1_names, tmp_path):
    """``analyze DIR --out`` failed writing its table after all the work (a name that is not
    UTF-8 in the ``file`` column); the table is written, the odd byte as ``\\xe9``."""
    _, folder = latin1_names
    for out in ("t.csv", "t.parquet"):
        run = bbfeedback("analyze", folder, "--out", tmp_path / out, "--jobs", "1")
        assert run.returncode == 0, run.stderr.decode(errors="replace")
    with (tmp_path / "t.csv").open(encoding="utf-8") as fh:
        files = {r["file"] for r in csv.DictReader(fh)}
    assert files == {f"{tmp_path}/dossier-\\xe9/caf\\xe9.edf"}


# --- item 8b: control characters in a protocol's text ----------------------------------------

def test_a_protocols_control_characters_never_reach_the_terminal(tmp_path):
    """A protocol whose name sets the terminal's title (ESC ] 0 ; ... BEL) and whose cue
    clears the screen: refused on load, named, and no control character is printed; one in
    the file's name is shown escaped."""
    text = ('id = "evil"\nname = { nl = "x", en = "\\u001b]0;pwned\\u0007Evil" }\n'
            '[[section]]\n[[section.phase]]\nkind = "work"\nhold_s = 3\n'
            'target_pct_mvc = 50\ncue_nl = "knijp"\ncue_en = "squeeze\\u001b[2J"\n')
    for name in ("evil.toml", "ev\x1b]0;T\x07il.toml"):
        path = tmp_path / name
        path.write_text(text)
        run = bbfeedback("protocols", "show", path)
        line = one_error_line(run)
        assert not any(b in run.stdout + run.stderr for b in (b"\x1b", b"\x07"))
        assert line.endswith("name.en: contains a control character ('\\x1b' at 0), which "
                             "a protocol's texts may not (and 1 more)"), line
    assert "ev\\x1b]0;T\\x07il.toml" in line
    clean = tmp_path / "clean.toml"
    clean.write_text(text.replace("\\u001b]0;pwned\\u0007", "").replace("\\u001b[2J", ""))
    run = bbfeedback("protocols", "show", clean)
    assert run.returncode == 0 and b"squeeze" in run.stdout


# --- item 8c: a rate analyze refuses ---------------------------------------------------------

def test_export_and_replay_refuse_what_analyze_refuses(tmp_path):
    """An EMG at 1 Hz: ``analyze`` refused it, ``export`` copied it and ``gui --replay``
    opened it (and failed inside the window, exit 0); all three say the same line now."""
    import numpy as np

    from bbfeedback.recording import Signal
    from bbfeedback.recording.edf import write_edf
    from bbfeedback.signal.blocks import EMG, Channel

    path = tmp_path / "slow.edf"
    data = np.random.default_rng(0).normal(0, 5, 120)
    write_edf(path, [Signal(Channel.of_kind("pfm", EMG), 1.0, data)], [])
    said = (f"bbfeedback: error: {path}: channel pfm: sample rate 1 Hz is too low for a "
            "20 Hz high-pass")
    for args in (["analyze", path], ["export", path, "--out", tmp_path / "copy.edf"],
                 ["gui", "--replay", path, "--quit-after", "3"]):
        run = bbfeedback(*args, env={"QT_QPA_PLATFORM": "offscreen"})
        assert one_error_line(run) == said, args
    assert not (tmp_path / "copy.edf").exists()
    csv = tmp_path / "slow.csv"  # a CSV goes the same way (export copied it as it was)
    csv.write_text("time_s,emg_uV\n" + "".join(f"{t},{v:.3f}\n" for t, v in enumerate(data)))
    for args in (["analyze", csv], ["export", csv, "--out", tmp_path / "copy.csv"]):
        run = bbfeedback(*args)
        assert one_error_line(run) == said.replace(str(path), str(csv)).replace(
            "channel pfm", "channel emg"), args
    assert not (tmp_path / "copy.csv").exists()
    run = bbfeedback("export", SAMPLE, "--out", tmp_path / "fine.edf")  # a good file still goes
    assert run.returncode == 0 and (tmp_path / "fine.edf").read_bytes() == SAMPLE.read_bytes()
