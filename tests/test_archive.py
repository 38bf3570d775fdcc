"""Issue 14: a clinic's archive analysed at once: one row per contraction and repetition,
the same table serially, on several cores and on a Dask cluster; failures listed, not fatal."""

import csv
import json
import shutil

import pytest
from conftest import SAMPLES

from bbfeedback.app import archive
from bbfeedback.app.cli import main
from bbfeedback.recording import read_recording
from bbfeedback.recording.csvfile import write_csv

SETTINGS = archive.Settings()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """The four sample sessions (four protocols), a CSV export of one, and a broken file."""
    root = tmp_path_factory.mktemp("archive")
    for f in sorted(SAMPLES.glob("*.edf")):
        shutil.copy(f, root / f.name)
    (root / "sub").mkdir()
    lift = read_recording(SAMPLES / "lift.edf")
    write_csv(root / "sub" / "lift.csv", lift.usable())  # a foreign file: no cues, no protocol
    (root / "broken.edf").write_bytes(b"0       not an EDF header")
    return root


@pytest.fixture(scope="module")
def serial(folder):
    return archive.run_archive(archive.expand([str(folder)]), SETTINGS, jobs=1, progress=False)


def test_rows_equal_analyze_of_each_file(folder, serial, capsys):
    """Every file's rows are what ``analyze FILE --json`` says of it (same path)."""
    for f in sorted(folder.glob("*.edf")):
        if f.name == "broken.edf":
            continue
        assert main(["analyze", str(f), "--json"]) == 0
        doc = json.loads(capsys.readouterr().out)
        mine = [r for r in serial if r["file"] == str(f)]
        cons = [r for r in mine if r["kind"] == "contraction"]
        reps = [r for r in mine if r["kind"] == "repetition"]
        assert [(r["onset_s"], r["channel"]) for r in cons] == [
            (c["onset_s"], c["channel"]) for c in doc["contractions"]]
        assert [(r["rep"], r["hold_s"], r["met"]) for r in reps] == [
            (r["index"], r["hold_s"], r["met"]) for r in doc["reps"]]
        assert len(reps) == doc["summary"]["reps"] > 0
        assert {r["protocol"] for r in mine} == {doc["protocol"]["id"]}
        assert {r["patient"] for r in mine} == {"SAMPLE-01"}  # pseudonymous code, as recorded
        lift = [r["floors_pct_mvc"] for r in reps if r["protocol"] == "b5-lift"]
        assert all(len(f.split(",")) == 3 for f in lift)
    kinds = {r["file"].rsplit("/", 1)[-1]: r["kind"] for r in serial}
    assert kinds["broken.edf"] == "error" and kinds["lift.csv"] == "contraction"


def test_parallel_equals_serial(folder, serial):
    parallel = archive.run_archive(archive.expand([str(folder)]), SETTINGS, jobs=2,
                                   progress=False)
    assert parallel == serial


def test_relative_paths_reach_the_workers_whole(folder, monkeypatch):
    """Walkthrough finding: a Dask worker started elsewhere got 'arch/lift.edf' as typed."""
    monkeypatch.chdir(folder)
    assert archive.expand(["lift.edf", "sub"]) == [str(folder / "lift.edf"),
                                                   str(folder / "sub" / "lift.csv")]


def test_a_dask_cluster_equals_serial(folder, serial):
    distributed = pytest.importorskip("dask.distributed")  # a test dependency: [research]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        rows = archive.run_archive(archive.expand([str(folder)]), SETTINGS,
                                   scheduler=cluster.scheduler_address, progress=False)
    assert rows == serial


@pytest.mark.parametrize("ext", ["csv", "parquet"])
def test_the_cli_writes_the_table_and_lists_failures(folder, serial, tmp_path, capsys, ext):
    out = tmp_path / f"results.{ext}"
    code = main(["analyze", str(folder / "*.edf"), str(folder / "sub"), "--jobs", "2",
                 "--out", str(out)])
    said = capsys.readouterr()
    assert code == 1  # one file failed: listed, the others written
    listed = [line for line in said.err.splitlines() if "broken.edf" in line]
    assert len(listed) == 1 and "not a readable EDF" in listed[0]
    assert "5 of 6 recordings analysed" in said.out
    if ext == "csv":
        with open(out, newline="") as fh:
            table = list(csv.DictReader(fh))
        files = [r["file"] for r in table]
    else:
        import pyarrow.parquet as pq

        table = pq.read_table(out).to_pylist()
        files = [r["file"] for r in table]
        reps = [r for r in table if r["kind"] == "repetition"]
        assert all(isinstance(r["met"], bool) and isinstance(r["rep"], int) for r in reps)
    assert list(table[0]) == list(archive.COLUMNS)
    assert sorted(set(files)) == sorted({r["file"] for r in serial})
    assert len(table) == len(serial)


@pytest.mark.parametrize("argv, says", [
    (["{d}", "--jobs", "2"], "needs --out"),
    (["{d}", "--out", "{t}/x.xlsx"], "use a .parquet or .csv"),
    (["{d}", "{d}/lift.edf", "--out", "{t}/x.csv", "--json"], "--json is for one recording"),
    (["{t}/empty", "--out", "{t}/x.csv"], "no recordings"),
    (["{d}", "--out", "{t}/x.csv", "--jobs", "0"], "--jobs"),
    (["{d}", "--out", "{t}/x.csv", "--jobs", "2", "--scheduler", "tcp://h:1"], "exclude"),
    (["{d}", "--out", "{t}/x.csv", "--scheduler", "tcp://127.0.0.1:9"], "Dask scheduler"),
])
def test_archive_mistakes_are_one_line_and_status_2(folder, tmp_path, capsys, monkeypatch,
                                                     argv, says):
    monkeypatch.setattr(archive, "SCHEDULER_TIMEOUT_S", 2)
    (tmp_path / "empty").mkdir()
    argv = [a.format(d=folder, t=tmp_path) for a in argv]
    try:
        code = main(["analyze", *argv])
    except SystemExit as exc:  # argparse's own checks
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0], err


def test_the_table_is_never_written_over_an_input_or_read_as_one(folder, tmp_path, capsys):
    """Attacker findings: `--out arc/rec.csv --force` replaced a recording with the table;
    a second run read the first run's table (in the folder) as a recording."""
    victim = tmp_path / "rec.csv"
    shutil.copy(folder / "sub" / "lift.csv", victim)
    before = victim.read_bytes()
    assert main(["analyze", str(victim), str(folder / "lift.edf"), "--out", str(victim),
                 "--force"]) == 2
    assert "input" in capsys.readouterr().err and victim.read_bytes() == before
    out = tmp_path / "results.csv"
    for _ in range(2):
        assert main(["analyze", str(tmp_path), "--out", str(out), "--force"]) == 0
        assert "1 of 1 recordings analysed" in capsys.readouterr().out
    assert out.stat().st_mode & 0o777 == 0o600  # it names patients by their codes


def dies_on_quick_flicks(path: str, settings) -> list[dict]:
    """A worker killed while at one file (as the out-of-memory killer would)."""
    import os

    if "quick_flicks" in path:
        os._exit(9)
    return archive.analyze_file(path, settings)


def test_a_worker_that_dies_costs_its_file_only(folder, serial):
    """Attacker finding: one killed worker (out of memory) lost the whole table."""
    paths = archive.expand([str(folder)])
    done = archive._in_processes(paths, SETTINGS, 2, lambda: None, dies_on_quick_flicks)
    rows = [r for p in paths for r in done[p]]
    died = [r for r in rows if r["kind"] == "error" and "quick_flicks" in r["file"]]
    assert len(died) == 1 and "process died" in died[0]["error"]
    others = [r for r in rows if "quick_flicks" not in r["file"]]
    assert others == [r for r in serial if "quick_flicks" not in r["file"]]


@pytest.mark.parametrize("address", ["bogus", "", "http://x:1", "tcp://host"])
def test_a_scheduler_address_that_is_not_one_is_one_line(folder, tmp_path, capsys, address):
    assert main(["analyze", str(folder), "--out", str(tmp_path / "x.csv"), "--scheduler",
                 address]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--scheduler" in err[0]


def test_an_unknown_protocol_is_one_line_before_any_file(folder, tmp_path, capsys):
    assert main(["analyze", str(folder), "--out", str(tmp_path / "x.csv"), "--protocol",
                 "nonexistent"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_a_recording_still_being_recorded_is_skipped_and_said(tmp_path, capsys):
    """Issue 23: ``analyze DIR --out`` must never take half a session as a session."""
    from test_export_privacy import recording_in_progress

    shutil.copy(SAMPLES / "lift.edf", tmp_path / "lift.edf")
    live = tmp_path / "live.edf"
    out = tmp_path / "table.csv"
    with recording_in_progress(live) as proc:
        code = main(["analyze", str(tmp_path), "--out", str(out), "--jobs", "1"])
        said, err = capsys.readouterr()
    assert code == 0, err
    assert f"bbfeedback: {live}: still being recorded (process {proc.pid}); skipped" in err
    assert "1 of 2 recordings analysed" in said and "1 still being recorded, skipped" in said
    with out.open(newline="") as fh:
        files = {row["file"] for row in csv.DictReader(fh)}
    assert files == {str(tmp_path / "lift.edf")}
