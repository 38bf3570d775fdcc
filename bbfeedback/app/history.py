"""Patient history: an SQLite database of sessions and repetition scores.

The EDF files stay the source of truth: the database is an index that ``history rebuild DIR``
re-creates from them, and nothing here ever writes to an EDF file. Schema changes are
numbered migrations (``PRAGMA user_version``); WAL mode and a busy timeout let two processes
(the GUI and a ``record``) use it at once, and every write, migrations included, is one
``BEGIN IMMEDIATE`` transaction (so two processes opening a new database never both create it).
"""

from __future__ import annotations

import errno
import functools
import hashlib
import json
import logging
import math
import os
import sqlite3
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from bbfeedback.app import change
from bbfeedback.app.recorder import PATIENT_ID
from bbfeedback.detect.calibration import Calibration
from bbfeedback.errors import InputError
from bbfeedback.exercise import protocols
from bbfeedback.recording import Recording, edf_header, read_recording
from bbfeedback.recording.repair import WriteFailed
from bbfeedback.recording.schemas import CalibrationEntry

log = logging.getLogger("bbfeedback")
MIGRATIONS = [
    """
    CREATE TABLE patients (id TEXT PRIMARY KEY, created TEXT NOT NULL);
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        patient TEXT NOT NULL REFERENCES patients(id),
        file TEXT NOT NULL UNIQUE,
        started TEXT NOT NULL,
        protocol TEXT,
        targets TEXT,
        posture TEXT,
        device TEXT,
        calibration TEXT,
        summary TEXT
    );
    CREATE TABLE reps (
        session INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        hold_s REAL, target_hold_s REAL, met INTEGER, peak_pct_mvc REAL,
        rest_residual_pct REAL, flags TEXT, score TEXT,
        PRIMARY KEY (session, idx)
    );
    CREATE INDEX sessions_patient ON sessions(patient, started);
    """,
    # 2: the hash of a file's data records, so a copy (an export, an anonymised copy) of a
    # session already in the history is recognised
    """
    ALTER TABLE sessions ADD COLUMN signal_hash TEXT;
    CREATE INDEX sessions_signal_hash ON sessions(signal_hash);
    """,
    # 3: the hash leaves the annotation channel out (an anonymised copy rewrites its free
    # text): older hashes are recomputed from their files (``_hash_older_rows``)
    """
    UPDATE sessions SET signal_hash = NULL WHERE signal_hash NOT LIKE 'v2:%';
    """,
]
BUSY_TIMEOUT_S = 5.0  # how long to wait for another process's write before saying "busy"
SETS_PER_DAY = (4, 6)  # leaflet A: exercises 1-3 at least 4-6 times a day


def default_path() -> Path:
    """``BBFEEDBACK_DB``, else the user's data directory."""
    env = os.environ.get("BBFEEDBACK_DB")
    if env:
        return Path(env)
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "bbfeedback" / "history.sqlite3"


class CopyInHistory(InputError):
    """The same samples are in the history already, under another file name."""

    def __init__(self, other: str, file: str):
        super().__init__(f"a copy of {other}, which is in the history already", file)
        self.other = other


class History:
    def __init__(self, path: str | Path | None = None, create: bool = True):
        """The history database at ``path`` (default ``default_path()``). ``create``: made
        when missing (the commands that add a session); else a missing one is one line, "no
        history at PATH", and nothing is made (the commands that only read: a mistyped --db
        must not leave a new database behind)."""
        self.path = Path(path) if path else default_path()
        if path and not self.path.parent.is_dir():  # a given --db: its folder must exist
            raise InputError("folder does not exist", self.path.parent)
        if not create and (not self.path.exists() or _empty(self.path)):
            # (SQLite takes an empty file for an empty database, and would write one in it)
            raise InputError(f"no history at {self.path} (a mistyped --db? one is made by "
                             "record --patient --protocol, or history rebuild DIR)")
        if self.path.exists() and not self.path.is_file():  # a FIFO, a device, a folder:
            # no database, and SQLite's "disk I/O error" on it is no full disk (exit 4)
            raise InputError("is not a database file", self.path)
        self.db: sqlite3.Connection | None = None
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                _create_private(self.path)  # SQLite gives its -wal/-shm files the same mode
            # isolation_level=None: no implicit transactions; every write below opens its own
            # with BEGIN IMMEDIATE (see _transaction); not created: mode=rw never makes one
            where, uri = (self.path, False) if create else (
                f"{self.path.absolute().as_uri()}?mode=rw", True)
            self.db = sqlite3.connect(where, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                                      uri=uri)
            self._use_wal()
            self.db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
            self._check()
        except sqlite3.OperationalError as exc:
            self.close()  # (closed now, not when collected: a caller may remove the files)
            raise _operational(exc, self.path) from None
        except sqlite3.DatabaseError as exc:
            self.close()
            raise InputError(_damaged(exc), self.path) from None
        except OSError as exc:
            self.close()
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise WriteFailed(f"no room on the disk for the history database "
                                  f"({exc.strerror})", self.path) from None
            raise InputError(f"cannot open the history database ({exc.strerror})",
                             self.path) from None

    def _use_wal(self) -> None:
        """Switch to WAL mode (once per database file). Two processes switching a fresh file
        at once can get "database is locked" at once, without the busy timeout (SQLite's
        deadlock avoidance): retry until the timeout."""
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                self.db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(0.005)

    @contextmanager
    def _transaction(self):
        """A write transaction that holds the write lock from its start (BEGIN IMMEDIATE,
        waiting up to the busy timeout for another writer): what it reads stays true until it
        commits. Rolled back on any error (a failed COMMIT included)."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:  # (SQLite may have rolled back already)
                self.db.execute("ROLLBACK")
            raise

    def _migrate(self) -> None:
        """Bring the schema to the newest version. The version is read inside the write
        transaction, so two processes opening a fresh database at once cannot both run the
        same migration: the second waits, then finds it done."""
        if self._version() == len(MIGRATIONS):
            return  # the usual case: no write lock needed
        with self._transaction():
            version = self._version()
            for number in range(version, len(MIGRATIONS)):
                for statement in _statements(MIGRATIONS[number]):
                    self.db.execute(statement)  # not executescript: it would COMMIT first
                self.db.execute(f"PRAGMA user_version = {number + 1}")

    def _version(self) -> int:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise InputError(f"database schema {version} is newer than this bbfeedback "
                             f"({len(MIGRATIONS)}): upgrade bbfeedback", self.path)
        return version

    def close(self) -> None:
        """Close the database; never raises (a checkpoint that finds the disk full leaves
        the -wal file, which SQLite reads again next time: nothing is lost)."""
        if self.db is not None:
            try:
                self.db.close()
            except sqlite3.Error:
                pass

    # --- writing ---------------------------------------------------------------------------
    def add(self, path: str | Path, recording: Recording | None = None) -> int | None:
        """Index one session recording (None when it holds no bbfeedback session). A copy of
        a session already indexed under another file name is refused (InputError), and so
        is a file whose name is not UTF-8: the history keeps names as text, and one that
        cannot be stored cannot be found again."""
        try:
            str(path).encode("utf-8")
        except UnicodeEncodeError:
            raise InputError("the file name is not UTF-8 text: rename it to add the session "
                             "to the history", str(path).encode("utf-8", "surrogateescape")
                             .decode("utf-8", "replace")) from None
        rec = recording or read_recording(path)
        info = session_info(rec)
        if info is None:
            return None
        digest = signal_hash(path)
        try:
            with self._transaction():
                self._refuse_copy(digest, info["file"])
                self.db.execute("INSERT OR IGNORE INTO patients VALUES (?, ?)",
                                (info["patient"], datetime.now().isoformat(timespec="seconds")))
                self.db.execute("DELETE FROM sessions WHERE file = ?", (info["file"],))
                cur = self.db.execute(
                    "INSERT INTO sessions (patient, file, started, protocol, targets, posture,"
                    " device, calibration, summary, signal_hash)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (info["patient"], info["file"], info["started"], info["protocol"],
                     json.dumps(info["targets"]), info["posture"], json.dumps(info["device"]),
                     json.dumps(info["calibration"]), json.dumps(info["summary"]), digest))
                sid = cur.lastrowid
                self.db.executemany(
                    "INSERT INTO reps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(sid, r["index"], r.get("hold_s"), r.get("target_hold_s"), int(r["met"]),
                      r.get("peak_pct_mvc"), r.get("rest_residual_pct"),
                      json.dumps(r.get("flags", [])), json.dumps(r)) for r in info["reps"]])
        except sqlite3.OperationalError as exc:
            raise _operational(exc, self.path) from None
        return sid

    def _refuse_copy(self, digest: str, file: str) -> None:
        row = self.db.execute("SELECT file FROM sessions WHERE signal_hash = ? AND file != ?",
                              (digest, file)).fetchone()
        if row:
            raise CopyInHistory(row[0], file)

    def rebuild(self, folder: str | Path) -> tuple[int, list[str]]:
        """Re-import every session recording under a folder: (added, skipped files with the
        reason). Copies of a session already indexed and files without a patient code are
        skipped; so is a damaged file, without stopping the others. A full disk stops it
        (``RebuildStopped``): each session is its own transaction, so those imported stay
        whole and the one being written leaves nothing."""
        added, skipped = 0, []
        files = sorted(Path(folder).rglob("*.edf"))
        try:
            self._hash_older_rows()
            for edf in files:
                try:
                    if self.add(edf) is not None:
                        added += 1
                    else:
                        skipped.append(f"{edf}: no bbfeedback session in it")
                except WriteFailed:
                    raise
                except (InputError, sqlite3.IntegrityError) as exc:  # one bad file, not all
                    skipped.append(str(exc))
        except WriteFailed as exc:
            raise RebuildStopped(str(exc), added, len(files), skipped) from None
        return added, skipped

    def _hash_older_rows(self) -> None:
        """Sessions indexed before signal hashes existed get theirs (when the file is still
        there), so a rebuild recognises their copies too."""
        rows = self.db.execute("SELECT id, file FROM sessions WHERE signal_hash IS NULL")
        for sid, file in rows.fetchall():
            try:
                digest = signal_hash(file)
            except InputError:
                continue
            try:
                with self._transaction():
                    self.db.execute("UPDATE sessions SET signal_hash = ? WHERE id = ?",
                                    (digest, sid))
            except sqlite3.OperationalError as exc:
                raise _operational(exc, self.path) from None

    # --- reading ---------------------------------------------------------------------------
    def sessions(self, patient: str) -> list[dict]:
        """A patient's sessions in time order; a damaged row is left out with a warning
        (the EDF file still has it: ``history rebuild`` restores it)."""
        try:
            rows = self.db.execute(
                "SELECT id, file, started, protocol, targets, posture, device, calibration,"
                " summary FROM sessions WHERE patient = ? ORDER BY started", (patient,)
            ).fetchall()
            out = []
            for row in rows:
                try:
                    out.append(self._session(*row))
                except (ValueError, TypeError):
                    log.warning("%s: session %s (%s) is damaged in the history; left out "
                                "(history rebuild restores it)", self.path, row[0], row[1])
            return out
        except sqlite3.DatabaseError as exc:
            raise InputError(_damaged(exc), self.path) from None

    def _session(self, sid: int, file: str, started: str, protocol: str, targets: str,
                 posture: str, device: str, cal: str, summary: str) -> dict:
        reps = [json.loads(r[0]) for r in self.db.execute(
            "SELECT score FROM reps WHERE session = ? ORDER BY idx", (sid,))]
        got = {"id": sid, "file": file, "started": started, "protocol": protocol,
               "targets": json.loads(targets or "{}"), "posture": posture,
               "device": json.loads(device or "{}"), "calibration": json.loads(cal or "{}"),
               "summary": json.loads(summary or "{}"), "reps": reps}
        datetime.fromisoformat(started)  # a damaged date would break every plot
        if not all(isinstance(got[k], dict) for k in ("targets", "device", "calibration",
                                                       "summary")):
            raise ValueError("not an object")
        if not all(isinstance(r, dict) for r in reps):
            raise ValueError("rep not an object")
        _check_shapes(got)
        return got

    def _check(self) -> None:
        """A damaged database file (a bad page, a dropped table) is named at once, with the
        way back; it is never repaired or rewritten behind the user's back."""
        ok = self.db.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        tables = {r[0] for r in self.db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = {"patients", "sessions", "reps"} - tables
        if not ok or missing:
            raise sqlite3.DatabaseError("table " + sorted(missing)[0] + " is missing"
                                        if missing else "database disk image is malformed")

    def patients(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT id FROM patients ORDER BY id")]


NUMBERS = ("reps", "reps_met", "planned_reps", "quick_count", "fatigue_ratio")


def _check_shapes(s: dict) -> None:
    """What the progress table reads of a session, of the type it reads (ValueError: the row
    is damaged, left out with a warning, as a row that is not JSON)."""
    if not all(isinstance(c, dict) for c in s["calibration"].values()):
        raise ValueError("calibration not an object per channel")
    if not isinstance(s["device"].get("main"), str | None):
        raise ValueError("device main not a name")
    summary = s["summary"]
    if not isinstance(summary.get("resting_tone"), dict | None):
        raise ValueError("resting tone not an object")
    for key in NUMBERS:
        v = summary.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float)):
            raise ValueError(f"summary {key} not a number")
    for c in s["calibration"].values():
        for key in ("mvc", "baseline_mean", "baseline_sd"):
            v = c.get(key)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int | float)):
                raise ValueError(f"calibration {key} not a number")
    for r in s["reps"]:
        v = r.get("hold_s")
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float)):
            raise ValueError("hold_s not a number")


def calibration_of(entry: object) -> Calibration:
    """A calibration from a history row or a recording's annotation, checked by the file
    schema first (a row is JSON the database kept: it may have been edited); ValueError when
    it is not one."""
    return Calibration.from_dict(CalibrationEntry.model_validate(entry).model_dump())


def session_calibrations(session: dict) -> dict[str, Calibration]:
    """A history session's calibration per channel; a channel whose entry does not read as
    one is left out (``previous_calibration``, ``app/visit.py``)."""
    cals = {}
    for name, c in (session.get("calibration") or {}).items():
        try:
            cals[name] = calibration_of(c)
        except ValueError:
            continue
    return cals


def previous_calibration(history: History, patient: str,
                         device: str | None = None) -> dict[str, Calibration]:
    """The calibration of the patient's last session that had an MVC (``record --calibration
    previous``: that MVC, with today's rest), on ``device`` when one is named (µV do not carry
    across devices: another device's MVC is no scale for this one); {} when there is none."""
    for s in reversed(history.sessions(patient)):
        if device is not None and change.device_name(s.get("device")) != device:
            continue
        cals = session_calibrations(s)
        if any(c.mvc is not None for c in cals.values()):
            return cals
    return {}


HASH_VERSION = "v2:"  # the signal channels only (v1, unprefixed: all data record bytes)


def signal_hash(path: str | Path) -> str:
    """SHA-256 of an EDF's signal samples: its data records without the annotation channel
    (an anonymised copy rewrites the annotations' free text, ``recording.anonymise``), so
    it is equal for a file, its export and its anonymised copy."""
    p = Path(path)
    digest = hashlib.sha256()
    try:
        with p.open("rb") as fh:
            header = edf_header.read(fh)
            slot = header.annotation_slot()
            fh.seek(header.header_bytes)
            if slot is None:
                while chunk := fh.read(1 << 20):
                    digest.update(chunk)
            else:
                record, (off, length) = header.record_bytes, slot
                many = max(1, (1 << 20) // record) * record
                while chunk := fh.read(many):
                    view = memoryview(chunk)
                    for at in range(0, len(chunk), record):
                        rec = view[at:at + record]
                        digest.update(rec[:off])
                        digest.update(rec[off + length:])
    except ValueError:
        raise InputError("not an EDF file (header unreadable)", p) from None
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror})", p) from None
    return HASH_VERSION + digest.hexdigest()


def _create_private(path: Path) -> None:
    """A new database file is the user's only (0600); an existing one keeps its mode."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
    except FileExistsError:
        pass


def _statements(script: str) -> list[str]:
    """The SQL statements of a migration script, one by one."""
    out, cur = [], ""
    for piece in script.split(";"):
        cur += piece + ";"
        if sqlite3.complete_statement(cur):
            if cur.strip(" \t\n;"):
                out.append(cur.strip())
            cur = ""
    if cur.strip(" \t\n;"):
        raise ValueError(f"incomplete SQL statement in a migration: {cur.strip()!r}")
    return out


def _damaged(exc: sqlite3.DatabaseError) -> str:
    return (f"not a readable history database ({exc}); your EDF files are safe: rebuild it "
            "with bbfeedback history rebuild DIR --db NEW")


def _explain(exc: sqlite3.OperationalError) -> str:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return "the history database is busy (another bbfeedback is writing); try again"
    return f"history database error ({text})"


def _disk_refused(exc: sqlite3.OperationalError) -> bool:
    """SQLite's full disk (SQLITE_FULL) or a failed write or read (SQLITE_IOERR_*)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR)
    return "disk is full" in str(exc) or "disk I/O error" in str(exc)


def _operational(exc: sqlite3.OperationalError, path: Path) -> InputError:
    """The one line for an operational error: a full disk is a ``WriteFailed`` (exit 4)."""
    if not _disk_refused(exc):
        return InputError(_explain(exc), path)
    full = getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_FULL \
        or _nearly_full(path)  # (a full disk fails SQLite's -shm map as an I/O error)
    return WriteFailed(("the disk is full" if full else "the disk refused a write")
                       + f" ({exc})", path)


def _nearly_full(path: Path) -> bool:
    """Whether the disk of ``path`` has less than a megabyte left."""
    try:
        st = os.statvfs(path.parent)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < (1 << 20)


class RebuildStopped(WriteFailed):
    """``history rebuild`` stopped by a full disk, after ``added`` of ``files`` files."""

    def __init__(self, message: str, added: int, files: int, skipped: list[str]):
        super().__init__(message)
        self.added, self.files, self.skipped = added, files, skipped


DB_COMPANIONS = ("-wal", "-shm", "-journal")  # SQLite's files beside a database


def _empty(path: Path) -> bool:
    try:
        return path.is_file() and path.stat().st_size == 0
    except OSError:
        return False


def remove_unused(path: str | Path) -> bool:
    """Remove a history database that holds no session, with its -wal/-shm files: one a
    command made and then could not use (a full disk), never left half-made. One that holds
    a session (another process added it meanwhile), or that is busy, is kept. True when
    removed."""
    path = Path(path)
    if not path.is_file():
        return False
    try:
        con = sqlite3.connect(f"{path.absolute().as_uri()}?mode=rw", uri=True, timeout=1.0)
        try:
            used = con.execute("SELECT count(*) FROM sessions").fetchone()[0] > 0
        finally:
            con.close()
    except sqlite3.Error as exc:  # no table yet (half-made), or a full disk's "disk I/O
        used = "locked" in str(exc) or "busy" in str(exc)  # error": unused; busy: another's
    if used:
        return False
    for name in (path, *(Path(f"{path}{c}") for c in DB_COMPANIONS)):
        name.unlink(missing_ok=True)
    return True


def rebuild_history(folder: str | Path, db: str | Path | None = None
                    ) -> tuple[Path, int, list[str]]:
    """``history rebuild``: every session recording under ``folder`` into the database
    (path, added, skipped). On a full disk it stops with one line (``RebuildStopped``) that
    says what the database keeps; a database this rebuild had just begun and that got no
    session is removed with its -wal/-shm files (it would only hide the problem)."""
    path = Path(db) if db else default_path()
    new = not path.exists()
    hist: History | None = None
    try:
        hist = History(db)
        added, skipped = hist.rebuild(folder)
        return hist.path, added, skipped
    except WriteFailed as exc:
        added = getattr(exc, "added", 0)
        if hist is not None:
            hist.close()
        if new and added == 0:
            for name in (path, *(Path(f"{path}{c}") for c in DB_COMPANIONS)):
                name.unlink(missing_ok=True)
            kept = "nothing was imported, and the new database is removed again"
        elif isinstance(exc, RebuildStopped):
            kept = (f"{added} of {exc.files} files were imported before, each whole; free "
                    "some space and run history rebuild again")
        else:
            kept = "the database is left as it was"
        stopped = RebuildStopped(f"{exc}; {kept} (the EDF files are untouched)",
                                 added, getattr(exc, "files", 0), getattr(exc, "skipped", []))
        raise stopped from None
    finally:
        if hist is not None:
            hist.close()


def session_info(rec: Recording) -> dict | None:
    """What the history keeps of a session recording (from its annotations, checked when
    read by ``recording.schemas``, and header): a pseudonymous patient code, sound repetition
    scores. A file that fails is not added (InputError says why); None: no session in it."""
    meta = rec.meta
    settings = meta.settings
    if not settings:
        return None
    patient = (rec.header.get("patientCode") or "").strip()
    if patient in ("", "X") or not PATIENT_ID.match(patient):
        raise InputError("no pseudonymous patient code in the file's header (none, or a "
                         "name); not added", rec.path)
    if stopped_in_calibration(rec):
        raise InputError("the session was stopped during its calibration: no repetition to "
                         "keep (record and the live window leave it out too)", rec.path)
    started = rec.header.get("start") or datetime.now().isoformat(timespec="seconds")
    device = meta.last("device") or {}
    return {
        "patient": patient, "file": str(Path(rec.path).resolve()), "started": started,
        "protocol": settings.get("protocol"), "targets": settings.get("targets") or {},
        "posture": meta.last("posture") or device.get("posture"), "device": device,
        "calibration": {name: calibration_of(c).to_dict()
                        for name, c in (meta.last("calibration") or {}).items()},
        "summary": meta.last("summary") or {}, "reps": _reps(rec),
    }


def stopped_in_calibration(rec: Recording) -> bool:
    """A session that never finished its calibration: no calibration written, no
    repetition scored (and not a damaged calibration). ``record`` and the window add a
    session only when it has a result, which needs a finished calibration: a rebuild from the
    files must leave out the same sessions."""
    meta = rec.meta
    return (meta.last("calibration") is None and "calibration" not in meta.damaged
            and not meta.all("rep") and "rep" not in meta.damaged)


def _reps(rec: Recording) -> list[dict]:
    """Repetition scores as stored, each with its own index; a file with a damaged one (left
    out when read) is not added: re-analyse it to score it again from the signal."""
    reps = rec.meta.all("rep")
    indexes = {r["index"] for r in reps}
    if "rep" in rec.meta.damaged or len(indexes) < len(reps):
        raise InputError("damaged repetition scores in the file; not added (analyze it to "
                         "score it again from the signal)", rec.path)
    return reps


@dataclass
class Progress:
    rows: list[dict]
    adherence: dict
    suggestion: dict | None


def is_incomplete(session: dict) -> bool:
    """Stopped before its last repetition (its summary says so; older ones: complete)."""
    return bool((session.get("summary") or {}).get("incomplete"))


def progress(sessions: list[dict], today: date | None = None,
             include_incomplete: bool = False) -> Progress:
    """Per-session progress, practice adherence and a suggested next step. Every session is
    listed; one stopped early is marked ``incomplete`` and left out of the changes, the
    adherence and the suggestion unless the therapist includes it. ``rest`` is the session's
    rest level in the device's unit (its calibration: judged, ``app/change.py``);
    ``resting_tone_pct`` (the rests between repetitions in % MVC) is shown, not judged."""
    counted = [s for s in sessions if include_incomplete or not is_incomplete(s)]
    rows = []
    for s in sessions:
        summ = s["summary"]
        main = (s["device"] or {}).get("main") or next(iter(s["calibration"]), None)
        cal = s["calibration"].get(main, {}) if main else {}
        holds = [r["hold_s"] for r in s["reps"] if r.get("hold_s") is not None]
        tone = summ.get("resting_tone") or {}
        rows.append({
            "date": s["started"][:16].replace("T", " "), "protocol": s["protocol"],
            "posture": s["posture"], "mvc": cal.get("mvc"), "unit": cal.get("unit"),
            "rest": _rest_level(cal),
            "best_hold_s": max(holds) if holds else None,
            "reps": summ.get("reps", len(s["reps"])), "reps_met": summ.get("reps_met"),
            "quick_count": summ.get("quick_count"), "fatigue_ratio": summ.get("fatigue_ratio"),
            "resting_tone_pct": tone.get("pct_mvc"), "file": s["file"],
            "device": change.device_name(s["device"]), "mvc_source": cal.get("source"),
            "incomplete": is_incomplete(s),
            "counted": include_incomplete or not is_incomplete(s),
        })
    judged_rows = [r for r in rows if r["counted"]]
    for row in rows:
        row["changes"] = {}
    for row, judged in zip(judged_rows, change.changes(judged_rows), strict=True):
        row["changes"] = judged  # per metric: vs the first, vs the previous, the trend
    return Progress(rows, adherence(counted, today), suggest(counted))


def _rest_level(cal: dict) -> float | None:
    """The calibration's rest level in the device's unit (a robust median when the
    calibration has one, else its mean)."""
    level = cal.get("baseline_median", cal.get("baseline_mean"))
    ok = isinstance(level, int | float) and not isinstance(level, bool) and math.isfinite(level)
    return float(level) if ok else None


# --- adherence: per prescribed plan -----------------------------------------------------------
SITTING_S = 3600.0  # recordings started within 60 min of a sitting's first one belong to it
# leaflet A's daily set: exercises 1-3 (or the three in a row), 4-6 times a day
LEAFLET_A_SET = ("a1-strength", "a2-endurance", "a3-quick", "a-daily")
ASSESSMENTS = ("glazer", "perfect")


def is_assessment(session: dict) -> bool:
    """A Glazer or PERFECT assessment (its summary or its protocol says so): measured, not
    practised."""
    summary = session.get("summary") or {}
    return ("glazer" in summary or "perfect" in summary
            or _plan(session.get("protocol")) == "assessment")


def _plan(pid: str | None) -> str:
    """Which prescribed plan an exercise belongs to: "A" (leaflet A: 4-6 sets a day), "B"
    (leaflet B: no number a day), "assessment" or "other" (a therapist's own protocol)."""
    if pid is None or pid not in protocols.builtin_ids():
        return "other"
    return _builtin_plan(pid)


_PLANS: dict[str, str] = {}


def _builtin_plan(pid: str) -> str:
    if pid not in _PLANS:
        p = protocols.load(pid)
        _PLANS[pid] = ("assessment" if p.scoring in ASSESSMENTS else
                       "A" if p.source.startswith("Leaflet A") else
                       "B" if p.source.startswith("Leaflet B") else "other")
    return _PLANS[pid]


def sittings(sessions: list[dict]) -> list[list[dict]]:
    """Sessions in time order, grouped into sittings: one day, each started less than
    ``SITTING_S`` after the sitting's first recording."""
    out: list[list[dict]] = []
    first: datetime | None = None
    for s in sorted(sessions, key=lambda s: s["started"]):
        t = datetime.fromisoformat(s["started"])
        if out and first is not None and t.date() == first.date() \
                and (t - first).total_seconds() < SITTING_S:
            out[-1].append(s)
        else:
            out.append([s])
            first = t
    return out


def is_visit(sitting: list[dict]) -> bool:
    """The documented rule: a sitting is a clinic visit (not home practice) when it holds an
    assessment, or two or more different exercises, except leaflet A's daily set alone (a1,
    a2, a3, a-daily: done in a row at home, one set)."""
    if any(is_assessment(s) for s in sitting):
        return True
    ids = {s["protocol"] for s in sitting}
    return len(ids) >= 2 and not ids <= set(LEAFLET_A_SET)


def adherence(sessions: list[dict], today: date | None = None) -> dict:
    """Home practice per prescribed plan, clinic visits apart (``is_visit``).

    Leaflet A (a1, a2, a3, a-daily): sets a day against its 4-6 (a sitting of leaflet A
    exercises is one set; ``per_day``, ``mean_per_day``, ``days_on_target`` over ``days``,
    from the first day of leaflet A practice to today or the last session; ``by_exercise``:
    each exercise's sets a day, a-daily counting for a1, a2 and a3). Leaflet B (b1-b5) gives no
    number a day: only the days practised (``leaflet_b``). A therapist's own protocols:
    days practised (``other``). Visits and assessments are listed, never counted as
    practice."""
    groups = sittings(sessions)
    visits = [g for g in groups if is_visit(g)]
    home = [g for g in groups if not is_visit(g)]
    last_day = today or max((date.fromisoformat(s["started"][:10]) for s in sessions),
                            default=None)

    def days_of(plan: str) -> Counter:
        return Counter(g[0]["started"][:10] for g in home
                       if any(_plan(s["protocol"]) == plan for s in g))

    def span(days: Counter) -> int:
        if not days or last_day is None:
            return 0
        return (max(last_day, *map(date.fromisoformat, days))
                - min(map(date.fromisoformat, days))).days + 1

    a_days = days_of("A")
    a_span = span(a_days)
    by_exercise: dict[str, dict[str, int]] = {}
    for g in home:
        ids = {s["protocol"] for s in g}
        for pid in LEAFLET_A_SET[:3]:
            if pid in ids or "a-daily" in ids:
                day = g[0]["started"][:10]
                by_exercise.setdefault(pid, {}).setdefault(day, 0)
                by_exercise[pid][day] += 1
    leaflet_a = {
        "days": a_span, "per_day": dict(sorted(a_days.items())),
        "mean_per_day": round(sum(a_days.values()) / a_span, 2) if a_span else 0.0,
        "days_on_target": sum(1 for n in a_days.values()
                              if SETS_PER_DAY[0] <= n <= SETS_PER_DAY[1]),
        "target_per_day": list(SETS_PER_DAY) if a_days else None,
        "by_exercise": {pid: dict(sorted(d.items())) for pid, d in by_exercise.items()},
    }
    practised = {}
    for key, plan in (("leaflet_b", "B"), ("other", "other")):
        d = days_of(plan)
        practised[key] = {"days": span(d), "days_practised": len(d),
                          "per_day": dict(sorted(d.items())), "target_per_day": None}
    return {
        **{k: leaflet_a[k] for k in ("days", "per_day", "mean_per_day", "days_on_target",
                                     "target_per_day")},
        "leaflet_a": leaflet_a, **practised,
        "visits": [{"date": g[0]["started"][:16].replace("T", " "),
                    "exercises": sorted({s["protocol"] or "-" for s in g})} for g in visits],
        "assessments": sum(1 for s in sessions if is_assessment(s)),
        "rule": f"sitting: one day, within {SITTING_S / 60:g} min of its first recording; "
                "visit: an assessment or 2+ different exercises (not leaflet A's set alone)",
    }


# --- suggested next targets -------------------------------------------------------------------
MET_TO_PROGRESS = 0.8  # two sessions in a row with >= 80 % of reps met: make it harder
MET_TO_EASE = 0.4  # two sessions in a row with < 40 % met: make it easier
LONGEST_HOLD_S = 10.0  # holds: leaflet B "5 tot 10 s", PERFECT's E "up to 10 s"
SHORTEST_HOLD_S = 2.0  # holds are not made shorter than this
QUICK_MORE = 0.25  # quick squeezes counted to the end twice: a quarter more (at least 2)
LIMIT_MORE = 1.5  # as-long-as-possible holds up to the limit twice: the limit x 1.5
LIMIT_REACHED_S = 1.0  # a hold ending within this of its limit was cut by the limit
FLOOR_STEP_PCT = 5.0  # the lift: every floor 5 % MVC higher (or lower)
TOP_FLOOR_MAX_PCT = 90.0  # ... the top floor no higher than this
BOTTOM_FLOOR_MIN_PCT = 10.0  # ... the bottom floor no lower than this
FIXED_HOLD = ("b2-contract-relax",)  # leaflet B: "2 tellen"; longer holds are exercise 3
KNACK_CUES = ("cough",)  # the squeeze before a cough is timed to the cough: nothing to move
NOT_JUDGED = ("not_judged", "stopped")  # repetitions neither met nor missed


def suggest(sessions: list[dict]) -> dict | None:
    """The documented rule, per kind of exercise, on the last two sessions of the last
    practised exercise (assessments are never progressed), section by section in the
    exercise's order (a-daily: strength, endurance, quick); the first change wins, else the
    first refusal:

    - holds: >= 80 % of the section's repetitions met twice -> hold 1 s longer (up to 10 s);
      < 40 % twice -> 1 s shorter (not below 2 s). b2 (2 counts by the leaflet) and the
      squeeze before a cough are not changed;
    - as long as possible (a2): both sessions' longest hold reached the limit -> the limit
      x 1.5 (the hold itself has no target);
    - quick (a3, b4): counted to the end of the planned squeezes without fading twice (or,
      without a count, >= 80 % met) -> a quarter more repetitions (at least 2);
    - lift (b5): >= 80 % met twice -> every floor +5 % MVC (top floor up to 90); < 40 %
      twice -> -5 (bottom floor not below 10);
    - awareness (b1, paced by the breath): nothing to change (a refusal).

    A refusal is a suggestion with ``change`` "none" and its ``reason``: shown, and
    ``--accept`` says why it cannot."""
    practice = [s for s in sessions if not is_assessment(s)]
    if not practice:
        return None
    pid = practice[-1]["protocol"]
    same = [s for s in practice if s["protocol"] == pid][-2:]
    if len(same) < 2:
        return None
    found = []
    for name, kind, phases in _sections(pid):
        shares = [_met_share([r for r in s["reps"] if _section_of(r, pid) == name],
                             s["summary"]) for s in same]
        if any(x is None for x in shares):
            continue
        got = _rule(pid, name, kind, phases, same, shares)
        if got is not None:
            found.append({"protocol": pid, "section": name,
                          "met_shares": [round(x, 3) for x in shares], **got})
    changes = [f for f in found if f["change"] != "none"]
    return (changes or found or [None])[0]


@functools.lru_cache(maxsize=64)
def _sections(pid: str) -> list[tuple[str | None, str, list]]:
    """(section name, kind of scoring, work phases) of an exercise, in order, one entry per
    section name; an exercise not bundled: one "holds" entry for all its repetitions
    (bundled exercises do not change while running: cached)."""
    if pid not in protocols.builtin_ids():
        return [(None, "holds", [])]
    out: dict[str, tuple[str, list]] = {}
    for sec in protocols.load(pid).sections:
        work = [ph for ph in sec.phases if ph.kind == protocols.WORK]
        if work and sec.name not in out:
            out[sec.name] = (sec.scoring, work)
    return [(name, kind, work) for name, (kind, work) in out.items()]


def _section_of(rep: dict, pid: str) -> str | None:
    """A repetition's section (an older score without one: the exercise's first; an
    exercise not bundled: None, one for all)."""
    if pid not in protocols.builtin_ids():
        return None
    if rep.get("section") is not None:
        return rep["section"]
    return _sections(pid)[0][0]


def _met_share(reps: list[dict], summary: dict) -> float | None:
    """Share of the judged repetitions that were met (not judged, stopped: left out); scores
    without a ``met`` of their own: the summary's repetitions met."""
    if reps and not any("met" in r for r in reps):
        return summary.get("reps_met", 0) / max(1, summary.get("reps", 0))
    judged = [r for r in reps if not set(r.get("flags") or ()) & set(NOT_JUDGED)]
    if not judged:
        return None
    return sum(1 for r in judged if r.get("met")) / len(judged)


def _rule(pid: str, name: str | None, kind: str, phases: list, same: list[dict],
          shares: list[float]) -> dict | None:
    """One section's suggestion (``suggest``), or None."""
    up = all(x >= MET_TO_PROGRESS for x in shares)
    down = all(x < MET_TO_EASE for x in shares)
    why = f"{shares[0]:.0%} and {shares[1]:.0%} of repetitions met"
    if kind in ASSESSMENTS:
        return None
    if kind == "awareness":
        return _refusal("breath_paced", why, "met") if up else None
    if kind == "endurance" or any(ph.until_fail for ph in phases):
        limit = max((ph.duration_s for ph in phases if ph.until_fail), default=None)
        if limit is None:
            return None
        longest = [max((r.get("hold_s") or 0.0 for r in s["reps"]
                        if _section_of(r, pid) == name), default=0.0) for s in same]
        if all(h >= limit - LIMIT_REACHED_S for h in longest):
            return {"change": "max_s", "from": limit, "to": round(limit * LIMIT_MORE),
                    "why": f"held up to the {limit:g} s limit twice", "why_code": "limit",
                    "limit": limit}
        return None
    if kind == "quick":
        planned = next((sec.repetitions for sec in protocols.load(pid).sections
                        if sec.name == name), None) if name is not None else None
        summaries = [s["summary"] for s in same]
        code = "met"
        if planned and all("quick_faded" in m for m in summaries):
            up = all(not m["quick_faded"] and (m.get("quick_count") or 0) >= planned
                     for m in summaries)
            why, code = "counted to the end without fading twice", "quick_end"
        if not up or not planned:
            return None
        return {"change": "repetitions", "from": planned,
                "to": planned + max(2, math.ceil(QUICK_MORE * planned)), "why": why,
                "why_code": code}
    if kind == "lift":
        floors = [ph.target_pct_mvc for ph in phases]
        if None in floors:
            return None
        if up:
            if floors[-1] + FLOOR_STEP_PCT > TOP_FLOOR_MAX_PCT:
                return _refusal("top_floor", why, "met", pct=floors[-1])
            return {"change": "floors_pct_mvc", "from": floors,
                    "to": [f + FLOOR_STEP_PCT for f in floors], "why": why, "why_code": "met"}
        if down and floors[0] - FLOOR_STEP_PCT >= BOTTOM_FLOOR_MIN_PCT:
            return {"change": "floors_pct_mvc", "from": floors,
                    "to": [f - FLOOR_STEP_PCT for f in floors], "why": f"only {why}",
                    "why_code": "met_low"}
        return None
    # holds
    if any(ph.cue in KNACK_CUES for ph in phases):
        return None
    holds = [r["target_hold_s"] for r in same[-1]["reps"]
             if r.get("target_hold_s") and _section_of(r, pid) == name]
    hold = max(set(holds), key=holds.count) if holds else (phases[0].hold_s if phases
                                                             else None)
    if hold is None or hold < SHORTEST_HOLD_S:
        return None
    if up:
        if pid in FIXED_HOLD:
            return _refusal("fixed_count", why, "met")
        if hold >= LONGEST_HOLD_S:
            return _refusal("longest_hold", why, "met", hold=hold)
        return {"change": "hold_s", "from": hold, "to": min(hold + 1, LONGEST_HOLD_S),
                "why": why, "why_code": "met"}
    if down and hold > SHORTEST_HOLD_S and pid not in FIXED_HOLD:
        return {"change": "hold_s", "from": hold, "to": max(hold - 1, SHORTEST_HOLD_S),
                "why": f"only {why}", "why_code": "met_low"}
    return None


def _refusal(reason: str, why: str, code: str, **values) -> dict:
    return {"change": "none", "from": None, "to": None, "reason": reason,
            "reason_values": values, "why": why, "why_code": code}


def accept_suggestion(s: dict) -> protocols.Protocol:
    """The protocol a suggestion asks for (``history --accept`` writes it as TOML): the
    bundled exercise with the suggested parameter changed in the suggested section. An
    InputError (one line, exit 2) says why when it cannot be: a refusal, an assessment, an
    exercise not bundled, or a change that would leave the exercise as it is."""
    from dataclasses import replace

    from bbfeedback import texts

    pid = s.get("protocol")
    if s.get("change") == "none":
        reason = texts.suggest_reason(s, "en")
        raise InputError(f"cannot accept the suggestion: {reason}", pid)
    if _plan(pid) == "assessment":
        raise InputError("cannot accept the suggestion: an assessment is measured, not "
                         "practised; it has no targets to change", pid)
    if pid not in protocols.builtin_ids():
        raise InputError("cannot accept the suggestion: not a bundled exercise (change its "
                         "own protocol file)", pid)
    base = protocols.load(pid)
    section, to = s.get("section"), s.get("to")

    def mine(sec) -> bool:
        return section is None or sec.name == section

    def phase(ph, k: int):
        if ph.kind != protocols.WORK:
            return ph
        what = s.get("change")
        if what == "hold_s" and not ph.until_fail:
            return replace(ph, hold_s=float(to), duration_s=float(to) + ph.reach_s)
        if what == "max_s" and ph.until_fail:
            return replace(ph, duration_s=float(to))
        if what == "floors_pct_mvc" and ph.target_pct_mvc is not None and k < len(to):
            d = float(to[k]) - ph.target_pct_mvc
            lo, hi = ph.band_pct_mvc or (ph.target_pct_mvc, ph.target_pct_mvc)
            return replace(ph, target_pct_mvc=float(to[k]),
                           band_pct_mvc=(max(0.0, lo + d), hi + d))
        return ph

    def changed(sec):
        if not mine(sec):
            return sec
        if s.get("change") == "repetitions":
            return replace(sec, repetitions=int(to))
        work = iter(range(len(sec.phases)))
        phases = tuple(phase(ph, next(work) if ph.kind == protocols.WORK else -1)
                       for ph in sec.phases)
        return replace(sec, phases=phases)

    if s.get("change") not in ("hold_s", "max_s", "repetitions", "floors_pct_mvc"):
        raise InputError(f"cannot accept the suggestion: unknown change {s.get('change')!r}",
                         pid)
    new = replace(base, sections=tuple(changed(sec) for sec in base.sections))
    if new == base:
        raise InputError("cannot accept the suggestion: the exercise asks this already "
                         "(nothing would change)", pid)
    return new
