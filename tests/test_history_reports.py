"""Patient history (SQLite) and printable reports."""

import dataclasses
import json
import multiprocessing
import sqlite3
import subprocess
from datetime import date, datetime
from pathlib import Path

import pytest
from conftest import BB

from bbfeedback import texts
from bbfeedback.app import history
from bbfeedback.app.history import (
    MIGRATIONS,
    History,
    adherence,
    progress,
    signal_hash,
    suggest,
)
from bbfeedback.app.report import progress_report, session_report
from bbfeedback.app.tables import format_progress
from bbfeedback.errors import InputError
from bbfeedback.exercise import protocols


def _record(folder, name, seed, patient="P-1", protocol="a1-strength", db=None):
    out = folder / name
    cmd = [*BB, "record", "--device", "sim", "--protocol", protocol, "--seconds",
           "100", "--speed", "60", "--patient", patient, "--posture", "lying", "--seed",
           str(seed), "--out", str(out)]
    if db:
        cmd += ["--db", str(db)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return out


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sessions")
    db = folder / "h.sqlite3"
    files = [_record(folder, f"s{i}.edf", i, db=db) for i in range(3)]
    return folder, db, files


def test_recording_with_a_patient_adds_the_session(recordings):
    folder, db, files = recordings
    hist = History(db)
    sessions = hist.sessions("P-1")
    assert [s["file"] for s in sessions] == [str(f.resolve()) for f in files]
    s = sessions[0]
    assert s["protocol"] == "a1-strength" and s["posture"] == "lying"
    assert s["targets"]["hold_s"] == [5.0] and len(s["reps"]) == 5
    assert s["calibration"]["pfm"]["mvc"] > 20
    assert hist.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) == 3


def test_history_command_table_json_and_suggestion(recordings, tmp_path):
    folder, db, _ = recordings
    out = subprocess.run([*BB, "history", "P-1", "--db", str(db)],
                         capture_output=True, text=True)
    assert out.returncode == 0 and "Strength" in out.stdout and "practice:" in out.stdout
    doc = json.loads(subprocess.run([*BB, "history", "P-1", "--db", str(db),
                                     "--json"], capture_output=True, text=True).stdout)
    assert len(doc["sessions"]) == 3
    row = doc["sessions"][0]
    for key in ("mvc", "best_hold_s", "reps_met", "quick_count", "fatigue_ratio",
                "resting_tone_pct"):
        assert key in row
    assert doc["adherence"]["target_per_day"] == [4, 6]
    # three a1 recordings made one after the other are one sitting: one set, not three
    assert list(doc["adherence"]["per_day"].values()) == [1]
    assert doc["adherence"]["mean_per_day"] == 1.0 and doc["adherence"]["visits"] == []


def test_rebuild_from_the_edf_files(recordings, tmp_path):
    folder, _, files = recordings
    db = tmp_path / "new.sqlite3"
    out = subprocess.run([*BB, "history", "rebuild", str(folder), "--db", str(db)],
                         capture_output=True, text=True)
    assert out.returncode == 0 and "3 sessions imported" in out.stdout
    assert len(History(db).sessions("P-1")) == 3
    before = [f.read_bytes() for f in files]
    History(db).rebuild(folder)  # re-importing twice keeps one row per file
    assert len(History(db).sessions("P-1")) == 3
    assert [f.read_bytes() for f in files] == before  # the EDF files are never touched


def test_rebuild_skips_copies_of_a_session_already_indexed(recordings, tmp_path):
    folder, _, files = recordings
    archive = tmp_path / "archive"
    archive.mkdir()
    for args in ([], ["--anonymise"]):
        out = archive / f"copy{len(args)}.edf"
        assert subprocess.run([*BB, "export", str(files[0]), *args, "--out", str(out)],
                              capture_output=True).returncode == 0
    db = tmp_path / "h.sqlite3"
    History(db).rebuild(folder)
    got = subprocess.run([*BB, "history", "rebuild", str(archive), "--db", str(db)],
                         capture_output=True, text=True)
    assert got.returncode == 0 and "0 sessions imported" in got.stdout
    assert "2 files skipped" in got.stdout and got.stderr.count("a copy of") == 1
    assert got.stderr.count("no pseudonymous patient code") == 1  # the anonymised copy
    assert history.signal_hash(archive / "copy1.edf") == history.signal_hash(files[0])
    assert len(History(db).sessions("P-1")) == 3


def test_an_older_database_is_migrated_and_its_rows_hashed(recordings, tmp_path):
    folder, _, files = recordings
    db = tmp_path / "v1.sqlite3"
    old = sqlite3.connect(db)
    old.executescript(MIGRATIONS[0] + "PRAGMA user_version = 1;")
    old.execute("INSERT INTO patients VALUES ('P-1', '2026-01-01')")
    old.execute("INSERT INTO sessions (patient, file, started) VALUES ('P-1', ?, "
                "'2026-01-01T10:00:00')", (str(files[1].resolve()),))
    old.commit()
    old.close()
    copy = tmp_path / "copy.edf"
    copy.write_bytes(files[1].read_bytes())
    hist = History(db)
    assert hist.db.execute("PRAGMA user_version").fetchone()[0] == 3
    added, skipped = hist.rebuild(tmp_path)  # the copy only: its original is indexed
    assert added == 0 and "a copy of" in skipped[0]


def test_hashes_of_the_whole_records_are_made_again_without_the_annotations(recordings,
                                                                            tmp_path):
    """Migration 3: a hash over the whole data records (annotations included) no longer
    recognises an anonymised copy (its annotations' free text is rewritten); it is
    recomputed from the file, so the copy is still known as one."""
    folder, _, files = recordings
    db = tmp_path / "v2.sqlite3"
    old = sqlite3.connect(db)
    old.executescript(MIGRATIONS[0] + MIGRATIONS[1] + "PRAGMA user_version = 2;")
    old.execute("INSERT INTO patients VALUES ('P-1', '2026-01-01')")
    old.execute("INSERT INTO sessions (patient, file, started, signal_hash) VALUES ('P-1', ?, "
                "'2026-01-01T10:00:00', 'abc123')", (str(files[1].resolve()),))
    old.commit()
    old.close()
    hist = History(db)
    assert hist.db.execute("SELECT signal_hash FROM sessions").fetchone()[0] is None
    copy = tmp_path / "anon"
    copy.mkdir()
    run = subprocess.run([*BB, "export", str(files[1]),
                          "--out", str(copy / "anon.edf"), "--anonymise"], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    added, skipped = hist.rebuild(copy)
    assert added == 0 and len(skipped) == 1  # a copy, or (anonymised) without a patient
    assert hist.db.execute("SELECT signal_hash FROM sessions").fetchone()[0] == \
        signal_hash(files[1]) == signal_hash(copy / "anon.edf")
    assert signal_hash(files[1]).startswith("v2:")


def test_env_variable_and_corrupt_or_locked_database(recordings, tmp_path, monkeypatch):
    db = tmp_path / "env.sqlite3"
    monkeypatch.setenv("BBFEEDBACK_DB", str(db))
    assert History().path == db
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(InputError, match="not a readable history database"):
        History(bad).sessions("x")
    out = subprocess.run([*BB, "history", "P-1", "--db", str(bad)],
                         capture_output=True, text=True)
    assert out.returncode == 2 and len(out.stderr.splitlines()) == 1
    locked = tmp_path / "locked.sqlite3"
    History(locked).close()
    hist = History(locked)
    holder = sqlite3.connect(locked)
    holder.execute("BEGIN EXCLUSIVE")  # another process is writing
    with pytest.raises(InputError, match="busy"):
        hist.add(recordings[2][0])  # waits 5 s, then says so in one line
    holder.rollback()
    holder.close()


def _open_at_once(folder, runs, barrier, results):
    """One of several processes: in every run, open the same fresh database as the others,
    all released together by the barrier; report what failed."""
    errors = []
    for k in range(runs):
        barrier.wait(timeout=60)
        try:
            History(Path(folder) / f"run{k}.sqlite3").close()
        except Exception as exc:  # any failure at all is what this test counts
            errors.append(f"run {k}: {type(exc).__name__}: {exc}")
    results.put(errors)


@pytest.mark.parametrize("processes", [2, 4])
def test_processes_opening_a_fresh_database_at_once(tmp_path, processes):
    runs = 50
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    barrier, results = ctx.Barrier(processes), ctx.Queue()
    procs = [ctx.Process(target=_open_at_once, args=(str(tmp_path), runs, barrier, results))
             for _ in range(processes)]
    for p in procs:
        p.start()
    try:
        errors = [e for _ in procs for e in results.get(timeout=120)]
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
    assert errors == [], f"{len({e.split(':')[0] for e in errors})}/{runs} runs failed: " \
                         f"{errors[:3]}"
    assert all(p.exitcode == 0 for p in procs)
    for k in range(runs):  # each database migrated once, in WAL mode
        hist = History(tmp_path / f"run{k}.sqlite3")
        assert hist.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert hist.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in hist.db.execute("SELECT name FROM sqlite_master")}
        assert {"patients", "sessions", "reps", "sessions_patient"} <= tables
        hist.close()


def test_rebuilds_at_once_share_one_database(recordings, tmp_path):
    folder, _, _ = recordings
    db = tmp_path / "shared.sqlite3"
    procs = [subprocess.Popen([*BB, "history", "rebuild", str(folder), "--db",
                               str(db)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(3)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert len(History(db).sessions("P-1")) == 3


def test_a_failed_write_leaves_no_half_session(recordings, tmp_path, monkeypatch):
    _, _, files = recordings
    hist = History(tmp_path / "h.sqlite3")
    real = history.session_info

    def broken(rec):  # a repetition the database refuses, after the session row went in
        info = real(rec)
        info["reps"] = info["reps"] + [{"index": info["reps"][0]["index"], "met": True}]
        return info

    monkeypatch.setattr(history, "session_info", broken)
    with pytest.raises(sqlite3.IntegrityError):
        hist.add(files[0])
    assert not hist.db.in_transaction
    assert hist.db.execute("SELECT count(*) FROM sessions").fetchone()[0] == 0
    monkeypatch.setattr(history, "session_info", real)
    assert hist.add(files[0]) is not None and len(hist.sessions("P-1")) == 1


def _fake(protocol, met, reps=5, hold=5.0, day="2026-11-20T10:00:00"):
    return {"protocol": protocol, "started": day,
            "summary": {"reps": reps, "reps_met": met},
            "reps": [{"target_hold_s": hold, "hold_s": hold, "index": i + 1}
                     for i in range(reps)],
            "calibration": {}, "device": {}, "posture": None, "file": "x"}


def test_suggestion_rule():
    assert suggest([_fake("a1-strength", 4), _fake("a1-strength", 5)])["to"] == 6.0
    assert suggest([_fake("a1-strength", 3), _fake("a1-strength", 5)]) is None
    assert suggest([_fake("a1-strength", 1), _fake("a1-strength", 1)])["to"] == 4.0
    quick = suggest([_fake("a3-quick", 12, 12, 0.5), _fake("a3-quick", 11, 12, 0.5)])
    assert (quick["change"], quick["from"], quick["to"]) == ("repetitions", 12, 15)


def test_adherence_counts_sessions_per_day():
    days = [_fake("a1-strength", 5, day=d) for d in
            ("2026-11-20T08:00", "2026-11-20T12:00", "2026-11-20T16:00", "2026-11-20T20:00",
             "2026-11-22T09:00")]
    a = adherence(days)
    assert a["days"] == 3 and a["days_on_target"] == 1 and a["mean_per_day"] == 1.67


@pytest.mark.parametrize("kind", ["glazer", "perfect"])
def test_an_assessment_is_not_practice(kind):
    """Reviewer: a Glazer or PERFECT assessment counted toward the 4-6 practice sets a day."""
    day = [_fake("a1-strength", 5, day=f"2026-11-20T{h:02d}:00") for h in (8, 12, 16)]
    test = _fake(kind, 0, day="2026-11-20T18:00")
    test["summary"][kind] = {}
    a = adherence(day + [test])
    assert a["per_day"] == {"2026-11-20": 3} and a["days_on_target"] == 0


def test_an_incomplete_session_is_listed_but_not_counted():
    """Issue 13: a session stopped early enters the history marked incomplete; it is left
    out of the changes, the adherence and the suggestion unless the therapist includes it."""
    done = [_fake("a1-strength", 5, day=f"2026-11-2{d}T10:00") for d in (0, 1)]
    cut = _fake("a1-strength", 0, reps=2, day="2026-11-22T10:00")
    cut["summary"]["incomplete"] = True
    prog = progress(done + [cut])
    assert [r["incomplete"] for r in prog.rows] == [False, False, True]
    assert prog.rows[2]["changes"] == {} and prog.adherence["per_day"] == {
        "2026-11-20": 1, "2026-11-21": 1}
    assert prog.suggestion["to"] == 6.0  # from the two complete ones (0/2 would block it)
    assert "Kracht (onvolledig)" in format_progress("P-1", prog, "nl")
    counted = progress(done + [cut], include_incomplete=True)
    assert "2026-11-22" in counted.adherence["per_day"] and counted.suggestion is None


def test_ten_sessions_a_day_is_not_on_target():
    """Physio review: 10 a day read "1 van de 1 dag op doel" (the leaflet asks 4 to 6)."""
    many = [_fake("a1-strength", 5, day=f"2026-11-20T{h:02d}:00") for h in range(8, 18)]
    assert adherence(many)["days_on_target"] == 0


def test_accepting_the_suggestion_writes_a_protocol(recordings, tmp_path):
    folder, db, files = recordings
    s = progress(History(db).sessions("P-1")).suggestion
    # the simulated patient met 4 of 5 five-second holds in each session: one second longer
    assert s is not None, "three a1-strength sessions at >= 80 % met must give a suggestion"
    assert (s["protocol"], s["change"], s["from"], s["to"]) == ("a1-strength", "hold_s", 5, 6)
    out = tmp_path / "next.toml"
    run = subprocess.run([*BB, "history", "P-1", "--db", str(db), "--accept",
                          str(out)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "suggestion: Strength: hold 5 → 6 s (" in run.stdout
    assert f"wrote {out}" in run.stdout
    base, mine = protocols.load("a1-strength"), protocols.load(str(out))
    work = [ph for sec in mine.sections for ph in sec.phases if ph.kind == "work"]
    assert [ph.hold_s for ph in work] == [s["to"]] and work[0].duration_s == s["to"] + 1.0
    assert protocols.targets(mine) == {**protocols.targets(base), "hold_s": [s["to"]]}
    assert mine.duration_s == base.duration_s + 5 * (s["to"] - s["from"])
    assert dataclasses.replace(mine, path="") == dataclasses.replace(
        protocols.customise(base, hold_s=s["to"]), path="")  # nothing else changed

    one = tmp_path / "one.sqlite3"  # a single session: nothing to suggest yet
    History(one).add(files[0])
    assert progress(History(one).sessions("P-1")).suggestion is None
    refused = tmp_path / "refused.toml"
    run = subprocess.run([*BB, "history", "P-1", "--db", str(one), "--accept",
                          str(refused)], capture_output=True, text=True)
    assert run.returncode == 2 and len(run.stderr.splitlines()) == 1
    assert "no suggestion" in run.stderr and not refused.exists()


def test_session_report_is_self_contained_and_bilingual(recordings, tmp_path):
    _, _, files = recordings
    for lang, word in (("nl", "Herhalingen"), ("en", "Repetitions")):
        text = session_report(files[0], lang)
        assert word in text and "<svg" in text and "<polyline" in text
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
        assert "<script" not in text and "@page { size: A4" in text
    cli = subprocess.run([*BB, "report", str(files[0]), "--out",
                          str(tmp_path / "r.html"), "--lang", "nl"], capture_output=True,
                         text=True)
    assert cli.returncode == 0 and (tmp_path / "r.html").stat().st_size > 5000


def test_progress_report(recordings, tmp_path):
    _, db, _ = recordings
    prog = progress(History(db).sessions("P-1"))
    text = progress_report("P-1", prog, "nl")
    assert "Voortgang" in text and text.count("<svg") == 4 and "Oefentrouw" in text
    # the charts' dates with the month as a word (walkthrough: "12-07" read as 12 July)
    day, month = int(prog.rows[-1]["date"][8:10]), int(prog.rows[-1]["date"][5:7])
    assert f">{day} {texts.MONTHS[month - 1][0]} " in text
    assert ">" + prog.rows[-1]["date"][5:10] + " " not in text  # no "12-07 22:14" label
    out = subprocess.run([*BB, "report", "--patient", "P-1", "--db", str(db),
                          "--out", str(tmp_path / "p.html")], capture_output=True, text=True)
    assert out.returncode == 0
    missing = subprocess.run([*BB, "report", "--patient", "NOBODY", "--db", str(db),
                              "--out", str(tmp_path / "n.html")], capture_output=True,
                             text=True)
    assert missing.returncode == 2 and "no sessions" in missing.stderr


def test_report_of_a_file_without_session_is_refused(real_data, tmp_path):
    out = subprocess.run([*BB, "report", str(real_data / "edf_testfiles" /
                                                      "pyedflib_test_generator.edf"),
                          "--out", str(tmp_path / "x.html")], capture_output=True, text=True)
    assert out.returncode == 2 and "no bbfeedback session" in out.stderr


def test_rebuild_skips_bad_files_and_keeps_the_good_ones(tmp_path):
    """One malformed file never costs the others: unnamed, damaged repetition scores,
    duplicate indexes and an unreadable file are skipped, each with its reason."""
    from bbfeedback.app.recorder import SessionRecorder
    from bbfeedback.app.run import BlockList, run
    from bbfeedback.app.simulated import SimulatedSource
    from bbfeedback.app.sources import SIM_FULL_SCALE
    from bbfeedback.exercise.session import Session
    from bbfeedback.recording import Annotation, read_recording
    from bbfeedback.recording.edf import write_edf

    folder = tmp_path / "sessions"
    folder.mkdir()
    for seed in (3, 4):  # two sessions of one patient
        src = SimulatedSource("b4-wink", 250.0, seed=seed)
        session = Session(protocols.load("b4-wink"), src.channels, 250.0, start_s=src.start_s)
        run(BlockList(src.blocks), session, [SessionRecorder(
            folder / f"good-{seed}.edf", src.channels, 250.0, SIM_FULL_SCALE, session,
            patient="P-7")])
    rec = read_recording(folder / "good-3.edf")

    def copy(name, patient, edit=lambda text: text):
        notes = [Annotation(a.onset_s, a.duration_s, edit(a.text)) for a in rec.annotations
                 if not a.text.startswith("bbfeedback:padding")]
        write_edf(folder / name, rec.signals, notes,
                  {"patient": patient, "start": datetime(2026, 11, 1, 9, 0)})

    copy("unnamed.edf", "X")
    copy("html.edf", "<b>Jan</b>")
    copy("no-index.edf", "P-7", lambda t: t.replace('"index": 2', '"idx": 2'))
    copy("same-index.edf", "P-7", lambda t: t.replace('"index": 3', '"index": 2'))
    (folder / "broken.edf").write_bytes(b"0       not an edf file at all")
    db = tmp_path / "h.sqlite3"
    got = subprocess.run([*BB, "history", "rebuild", str(folder), "--db", str(db)],
                         capture_output=True, text=True)
    assert got.returncode == 0 and "Traceback" not in got.stderr, got.stderr
    assert "2 sessions imported" in got.stdout and "5 files skipped" in got.stdout
    for name, why in (("unnamed", "patient code"), ("html", "patient code"),
                      ("no-index", "damaged repetition"), ("same-index", "damaged repetition"),
                      ("broken", "broken.edf")):
        assert any(name in line and why in line for line in got.stderr.splitlines()), name
    assert History(db).patients() == ["P-7"]
    shown = subprocess.run([*BB, "history", "P-7", "--db", str(db)],
                           capture_output=True, text=True)
    assert shown.returncode == 0 and shown.stdout.count("Wink") == 2


def test_a_new_database_and_its_wal_files_are_private(tmp_path):
    import os
    import stat

    db = tmp_path / "new.sqlite3"
    hist = History(db)
    hist.patients()
    files = [db, Path(f"{db}-wal"), Path(f"{db}-shm")]
    assert all(stat.S_IMODE(os.stat(f).st_mode) == 0o600 for f in files if f.exists())
    assert Path(f"{db}-wal").exists()
    hist.close()


def test_a_damaged_database_is_named_not_a_traceback(recordings, tmp_path):
    folder, db, _ = recordings
    dropped = tmp_path / "dropped.sqlite3"
    copy = sqlite3.connect(dropped)
    sqlite3.connect(db).backup(copy)
    copy.execute("DROP TABLE reps")
    copy.commit()
    copy.close()
    garbled = tmp_path / "garbled.sqlite3"
    data = bytearray(db.read_bytes())
    data[100:4096] = b"\xa5" * (4096 - 100)  # the first page's schema
    garbled.write_bytes(bytes(data))
    for bad in (dropped, garbled):
        for cmd in (["history", "P-1"], ["report", "--patient", "P-1", "--out",
                                         str(tmp_path / "r.html")],
                    ["history", "rebuild", str(folder)]):
            got = subprocess.run([*BB, *cmd, "--db", str(bad)], capture_output=True,
                                 text=True)
            assert got.returncode == 2 and "Traceback" not in got.stderr, (bad, cmd)
            assert got.stderr.count("\n") == 1 and "rebuild it" in got.stderr


def test_a_damaged_session_row_is_left_out_with_a_warning(recordings, tmp_path):
    _, db, files = recordings
    copy = tmp_path / "rows.sqlite3"
    dest = sqlite3.connect(copy)
    sqlite3.connect(db).backup(dest)
    dest.execute("UPDATE sessions SET summary = '{bad' WHERE file = ?", (str(files[0].resolve()),))
    dest.commit()
    dest.close()
    got = subprocess.run([*BB, "history", "P-1", "--db", str(copy), "--json"],
                         capture_output=True, text=True)
    assert got.returncode == 0 and "is damaged in the history" in got.stderr
    assert len(json.loads(got.stdout)["sessions"]) == 2


# --- adherence per prescribed plan (issue 21) -----------------------------------------------
def _at(protocol, when, met=5):
    return _fake(protocol, met, day=f"2026-11-{when}")


def test_a_clinic_visit_with_four_exercises_is_not_a_day_on_target():
    """Physio review: a clinic visit with 4 exercises read "1 van de 1 dag op doel"."""
    visit = [_at(pid, f"20T10:{m:02d}") for pid, m in
             (("a1-strength", 0), ("a3-quick", 12), ("b2-contract-relax", 25), ("b5-lift", 40))]
    a = adherence(visit)
    assert a["per_day"] == {} and a["days_on_target"] == 0 and a["target_per_day"] is None
    assert len(a["visits"]) == 1 and a["visits"][0]["exercises"] == [
        "a1-strength", "a3-quick", "b2-contract-relax", "b5-lift"]
    assert a["leaflet_b"]["days_practised"] == 0
    prog = progress(visit)
    for lang, said, never in (("nl", "1 bezoek in de praktijk", "op doel"),
                              ("en", "1 clinic visit", "on target")):
        table = format_progress("P-1", prog, lang)
        assert said in table and never not in table


def test_a_visit_does_not_count_but_home_sets_that_day_do():
    home = [_at("a-daily", f"20T{h:02d}:00") for h in (7, 12, 16, 21)]
    visit = [_at("glazer", "20T10:00"), _at("a1-strength", "20T10:20")]
    visit[0]["summary"]["glazer"] = {}
    a = adherence(home + visit)
    assert a["per_day"] == {"2026-11-20": 4} and a["days_on_target"] == 1
    assert len(a["visits"]) == 1 and a["assessments"] == 1
    assert a["leaflet_a"]["by_exercise"]["a2-endurance"] == {"2026-11-20": 4}


def test_leaflet_a_exercises_in_a_row_are_one_set():
    a = adherence([_at(pid, f"20T08:{m:02d}") for pid, m in
                   (("a1-strength", 0), ("a2-endurance", 4), ("a3-quick", 9))])
    assert a["per_day"] == {"2026-11-20": 1} and a["visits"] == []
    assert a["leaflet_a"]["by_exercise"] == {pid: {"2026-11-20": 1} for pid in
                                             ("a1-strength", "a2-endurance", "a3-quick")}


def test_leaflet_b_is_not_judged_against_four_to_six_a_day():
    """Leaflet B gives no number a day: its days are counted as practised, never on target
    or short of it."""
    b = [_at("b2-contract-relax", f"{d}T{h:02d}:00") for d in (20, 22) for h in (8, 11, 14)]
    a = adherence(b, today=date(2026, 11, 23))
    assert a["target_per_day"] is None and a["days_on_target"] == 0 and a["per_day"] == {}
    assert a["leaflet_b"] == {"days": 4, "days_practised": 2, "target_per_day": None,
                              "per_day": {"2026-11-20": 3, "2026-11-22": 3}}
    prog = progress(b)  # up to the last session: 3 days
    for lang, said, asked in (("nl", "folder B: geoefend op 2 van de 3 dagen", "4 tot 6"),
                              ("en", "leaflet B: practised on 2 of 3 days", "4 to 6")):
        table = format_progress("P-1", prog, lang)
        assert said in table and asked not in table and "on target" not in table


def test_two_leaflet_b_exercises_in_one_hour_are_a_visit():
    """The documented rule: two or more different exercises in one sitting are a visit,
    except leaflet A's daily set alone."""
    a = adherence([_at("b1-awareness", "20T10:00"), _at("b4-wink", "20T10:30")])
    assert len(a["visits"]) == 1 and a["leaflet_b"]["days_practised"] == 0
    a = adherence([_at("b1-awareness", "20T10:00"), _at("b4-wink", "20T11:30")])
    assert a["visits"] == [] and a["leaflet_b"]["days_practised"] == 1


# --- history --accept: the right parameter for every exercise, or why not -------------------
def _all_met(pid, hold_factor=1.0):
    """Two sessions of a bundled exercise with every repetition of every section met (the
    as-long-as-possible holds up to their limit, the quick squeezes counted to the end)."""
    p = protocols.load(pid)
    reps, k = [], 0
    for sec in p.sections:
        work = [ph for ph in sec.phases if ph.kind == "work"]
        if not work:
            continue
        for _ in range(sec.repetitions):
            k += 1
            hold = work[0].duration_s if work[0].until_fail else work[0].hold_s * hold_factor
            reps.append({"index": k, "section": sec.name, "met": True, "flags": [],
                         "hold_s": hold, "target_hold_s": work[0].hold_s * hold_factor})
    quick = sum(s.repetitions for s in p.sections if s.scoring == "quick")
    summary = {"reps": len(reps), "reps_met": len(reps)}
    if quick:
        summary.update(quick_count=quick, quick_faded=False)
    return [{"protocol": pid, "started": f"2026-11-2{d}T10:00:00", "summary": dict(summary),
             "reps": [dict(r) for r in reps], "calibration": {}, "device": {},
             "posture": None, "file": "x"} for d in (0, 1)]


def _work(p, section=None):
    return [ph for s in p.sections if section in (None, s.name) for ph in s.phases
            if ph.kind == "work"]


ACCEPTED = {  # what the suggestion changes, per bundled exercise
    "a-daily": ("hold_s", "strength", 5.0, 6.0),
    "a1-strength": ("hold_s", "strength", 5.0, 6.0),
    "a2-endurance": ("max_s", "endurance", 60.0, 90),
    "a3-quick": ("repetitions", "quick", 12, 15),
    "b3-cough": ("hold_s", "long-hold", 5.0, 6.0),
    "b3-long-hold": ("hold_s", "long-hold", 5.0, 6.0),
    "b4-wink": ("repetitions", "wink", 10, 13),
    "b5-lift": ("floors_pct_mvc", "lift", [25.0, 50.0, 75.0], [30.0, 55.0, 80.0]),
}
REFUSED = {"b1-awareness": "follows the breath", "b2-contract-relax": "2 counts",
           "glazer": "assessment", "perfect": "assessment"}


@pytest.mark.parametrize("pid", protocols.builtin_ids())
def test_accept_changes_the_right_parameter_or_says_why_not(pid, tmp_path):
    assert pid in ACCEPTED or pid in REFUSED, "a new bundled exercise: say what it changes"
    s = suggest(_all_met(pid))
    base = protocols.load(pid)
    if pid in REFUSED:
        if history.is_assessment({"protocol": pid}):
            assert s is None  # measured, not practised: never a suggestion
            s = {"protocol": pid, "change": "hold_s", "section": None, "from": 5, "to": 6}
        else:
            assert s["change"] == "none"
        with pytest.raises(InputError, match=REFUSED[pid]) as err:
            history.accept_suggestion(s)
        assert "\n" not in str(err.value) and "cannot accept" in str(err.value)
        return
    change, section, old, new = ACCEPTED[pid]
    assert (s["change"], s["section"], s["from"], s["to"]) == (change, section, old, new)
    out = tmp_path / "next.toml"
    out.write_text(protocols.to_toml(history.accept_suggestion(s)))
    mine = protocols.load(str(out))
    assert dataclasses.replace(mine, path="") != dataclasses.replace(base, path="")
    others = [(a, b) for a, b in zip(base.sections, mine.sections, strict=True)
              if a.name != section]
    assert all(a == b for a, b in others), "only the suggested section changes"
    before, after = _work(base, section), _work(mine, section)
    if change == "hold_s":
        assert {ph.hold_s for ph in after} == {new} and {ph.hold_s for ph in before} == {old}
        assert all(ph.duration_s == new + ph.reach_s for ph in after)
    elif change == "max_s":
        assert [ph.duration_s for ph in after if ph.until_fail] == [new]
    elif change == "repetitions":
        mine_sec = next(sec for sec in mine.sections if sec.name == section)
        assert mine_sec.repetitions == new and after == before
    else:
        assert [ph.target_pct_mvc for ph in after] == new
        assert [ph.band_pct_mvc[0] for ph in after] == [12 + 5, 38 + 5, 62 + 5]
        assert [ph.hold_s for ph in after] == [ph.hold_s for ph in before]


def test_accept_refusals_and_easier_targets():
    longest = suggest(_all_met("a1-strength", hold_factor=2.0))  # holding 10 s already
    assert longest["change"] == "none" and longest["reason"] == "longest_hold"
    with pytest.raises(InputError, match="already 10 s"):
        history.accept_suggestion(longest)
    hard = _all_met("b5-lift")
    for s in hard:
        for r in s["reps"]:
            r["met"] = False
    eased = suggest(hard)
    assert (eased["change"], eased["to"]) == ("floors_pct_mvc", [20.0, 45.0, 70.0])
    # a suggestion for what the exercise asks already never writes an unchanged file
    with pytest.raises(InputError, match="nothing would change"):
        history.accept_suggestion({"protocol": "a1-strength", "section": "strength",
                                   "change": "hold_s", "from": 4, "to": 5.0})
    with pytest.raises(InputError, match="not a bundled exercise"):
        history.accept_suggestion({"protocol": "my-own", "section": None,
                                   "change": "hold_s", "from": 5, "to": 6})
    # an as-long-as-possible hold short of its limit has no target to raise
    short = _all_met("a2-endurance")
    for s in short:
        for r in s["reps"]:
            r["hold_s"] = 25.0
    assert suggest(short) is None


def _insert(db, patient, sessions):
    """Fake sessions straight into a history database (as ``History.add`` stores them)."""
    hist = History(db)
    hist.db.execute("INSERT OR IGNORE INTO patients VALUES (?, '2026-11-01')", (patient,))
    for k, s in enumerate(sessions):
        cur = hist.db.execute(
            "INSERT INTO sessions (patient, file, started, protocol, targets, posture, device,"
            " calibration, summary) VALUES (?, ?, ?, ?, '{}', NULL, '{}', '{}', ?)",
            (patient, f"/x/{patient}-{k}.edf", s["started"], s["protocol"],
             json.dumps(s["summary"])))
        hist.db.executemany("INSERT INTO reps (session, idx, met, score) VALUES (?, ?, ?, ?)",
                            [(cur.lastrowid, r["index"], int(r["met"]), json.dumps(r))
                             for r in s["reps"]])
    hist.close()


def test_history_accept_on_the_command_line(tmp_path):
    db = tmp_path / "h.sqlite3"
    _insert(db, "P-3", _all_met("a3-quick"))
    _insert(db, "P-4", _all_met("b1-awareness"))
    out = tmp_path / "quick.toml"
    run = subprocess.run([*BB, "history", "P-3", "--db", str(db), "--accept",
                          str(out)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "Quick contractions: 12 → 15 repetitions" in run.stdout
    assert protocols.targets(protocols.load(str(out)))["repetitions"] == 15
    refused = tmp_path / "b1.toml"
    run = subprocess.run([*BB, "history", "P-4", "--db", str(db), "--accept",
                          str(refused)], capture_output=True, text=True)
    assert run.returncode == 2 and len(run.stderr.splitlines()) == 1, run.stderr
    assert "cannot accept the suggestion: nothing to change: the lift follows the breath" \
        in run.stderr and not refused.exists()
    assert "nothing to change" in run.stdout and "--accept" not in run.stdout


def test_reading_commands_leave_an_empty_file_as_it_was(tmp_path):
    """Attacker finding: ``history --db EMPTY`` made a 36 kB database in an empty file (SQLite
    takes one for an empty database) and said nothing."""
    empty = tmp_path / "e3.txt"
    empty.write_bytes(b"")
    for args in (("history", "--db", empty), ("history", "P1", "--db", empty),
                 ("report", "--patient", "P1", "--out", tmp_path / "r.html", "--db", empty)):
        got = subprocess.run([*BB, *map(str, args)], capture_output=True, text=True)
        assert got.returncode == 2 and "no history at" in got.stderr, (args, got.stderr)
        assert empty.stat().st_size == 0
