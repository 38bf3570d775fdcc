"""Patient history: an SQLite database of sessions and repetition scores.

The EDF files stay the source of truth: the database is an index that ``history rebuild DIR``
re-creates from them, and nothing here ever writes to an EDF file. Schema changes are
numbered migrations (``PRAGMA user_version``); WAL mode and a busy timeout let two processes
(the GUI and a ``record``) use it at once, and every write, migrations included, is one
``BEGIN IMMEDIATE`` transaction (so two processes opening a new database never both create it).
"""

from __future__ import annotations

import hashlib
import json
import logging
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
from bbfeedback.recording import Recording, read_recording

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
]
BUSY_TIMEOUT_S = 5.0  # how long to wait for another process's write before saying "busy"
SETS_PER_DAY = (4, 6)  # leaflet A: exercises 1-3 at least 4-6 times a day
MET_TO_PROGRESS = 0.8  # two sessions in a row with >= 80 % of reps met: make it harder
MET_TO_EASE = 0.4  # two sessions in a row with < 40 % met: make it easier


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
    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else default_path()
        if path and not self.path.parent.is_dir():  # a given --db: its folder must exist
            raise InputError("folder does not exist", self.path.parent)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _create_private(self.path)  # SQLite gives its -wal/-shm files the same mode
            # isolation_level=None: no implicit transactions; every write below opens its own
            # with BEGIN IMMEDIATE (see _transaction)
            self.db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            self._use_wal()
            self.db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
            self._check()
        except sqlite3.OperationalError as exc:
            raise InputError(_explain(exc), self.path) from None
        except sqlite3.DatabaseError as exc:
            raise InputError(_damaged(exc), self.path) from None
        except OSError as exc:
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
        self.db.close()

    # --- writing ---------------------------------------------------------------------------
    def add(self, path: str | Path, recording: Recording | None = None) -> int | None:
        """Index one session recording (None when it holds no bbfeedback session). A copy of
        a session already indexed under another file name is refused (InputError)."""
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
            raise InputError(_explain(exc), self.path) from None
        return sid

    def _refuse_copy(self, digest: str, file: str) -> None:
        row = self.db.execute("SELECT file FROM sessions WHERE signal_hash = ? AND file != ?",
                              (digest, file)).fetchone()
        if row:
            raise CopyInHistory(row[0], file)

    def rebuild(self, folder: str | Path) -> tuple[int, list[str]]:
        """Re-import every session recording under a folder: (added, skipped files with the
        reason). Copies of a session already indexed and files without a patient code are
        skipped; so is a damaged file, without stopping the others."""
        self._hash_older_rows()
        added, skipped = 0, []
        for edf in sorted(Path(folder).rglob("*.edf")):
            try:
                if self.add(edf) is not None:
                    added += 1
                else:
                    skipped.append(f"{edf}: no bbfeedback session in it")
            except (InputError, sqlite3.IntegrityError) as exc:  # one bad file, not all
                skipped.append(str(exc))
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
            with self._transaction():
                self.db.execute("UPDATE sessions SET signal_hash = ? WHERE id = ?",
                                (digest, sid))

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


def previous_calibration(history: History, patient: str) -> dict[str, Calibration]:
    """The calibration of the patient's last session that had an MVC (``record --calibration
    previous``: that MVC, with today's rest); {} when there is none."""
    for s in reversed(history.sessions(patient)):
        cals = {}
        for name, c in (s["calibration"] or {}).items():
            try:
                cals[name] = Calibration.from_dict(c)
            except ValueError:
                continue
        if any(c.mvc is not None for c in cals.values()):
            return cals
    return {}


def signal_hash(path: str | Path) -> str:
    """SHA-256 of an EDF's data records (everything after its header): equal for a file, its
    export and its anonymised copy, which differ only in header fields."""
    p = Path(path)
    digest = hashlib.sha256()
    try:
        with p.open("rb") as fh:
            head = fh.read(256)
            header_bytes = int(head[184:192]) if len(head) == 256 else -1
            if header_bytes < 256:
                raise InputError("not an EDF file (header unreadable)", p)
            fh.seek(header_bytes)
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    except ValueError:
        raise InputError("not an EDF file (header unreadable)", p) from None
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror})", p) from None
    return digest.hexdigest()


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
    started = rec.header.get("start") or datetime.now().isoformat(timespec="seconds")
    device = meta.last("device") or {}
    return {
        "patient": patient, "file": str(Path(rec.path).resolve()), "started": started,
        "protocol": settings.get("protocol"), "targets": settings.get("targets") or {},
        "posture": meta.last("posture") or device.get("posture"), "device": device,
        "calibration": {name: Calibration.from_dict(c).to_dict()
                        for name, c in (meta.last("calibration") or {}).items()},
        "summary": meta.last("summary") or {}, "reps": _reps(rec),
    }


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
    adherence and the suggestion unless the therapist includes it."""
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
        row["changes"] = judged  # per metric: beyond its measurement error or not
    return Progress(rows, adherence(counted, today), suggest(counted))


def is_assessment(session: dict) -> bool:
    """A Glazer or PERFECT assessment (its summary says so): measured, not practised."""
    summary = session.get("summary") or {}
    return "glazer" in summary or "perfect" in summary


def adherence(sessions: list[dict], today: date | None = None) -> dict:
    """Practice sessions per day against the 4-6 a day the leaflet asks, over the days
    practised. Assessments (Glazer, PERFECT) are not practice: not counted."""
    days = Counter(s["started"][:10] for s in sessions if not is_assessment(s))
    if not days:
        return {"days": 0, "per_day": {}, "mean_per_day": 0.0, "days_on_target": 0,
                "target_per_day": list(SETS_PER_DAY)}
    first = min(date.fromisoformat(d) for d in days)
    last = today or max(date.fromisoformat(d) for d in days)
    span = (last - first).days + 1
    return {
        "days": span, "per_day": dict(sorted(days.items())),
        "mean_per_day": round(sum(days.values()) / span, 2),
        "days_on_target": sum(1 for n in days.values()
                              if SETS_PER_DAY[0] <= n <= SETS_PER_DAY[1]),
        "target_per_day": list(SETS_PER_DAY),
    }


def suggest(sessions: list[dict]) -> dict | None:
    """The documented rule: the last two sessions of a protocol with >= 80 % of repetitions
    met -> hold 1 s longer (or, for quick and endurance work, target +5 % MVC); both below
    40 % -> hold 1 s shorter. The therapist accepts it or not."""
    if not sessions:
        return None
    pid = sessions[-1]["protocol"]
    same = [s for s in sessions if s["protocol"] == pid][-2:]
    if len(same) < 2:
        return None
    shares = [s["summary"].get("reps_met", 0) / max(1, s["summary"].get("reps", 0))
              for s in same]
    holds = [r["target_hold_s"] for r in same[-1]["reps"] if r.get("target_hold_s")]
    hold = max(set(holds), key=holds.count) if holds else None
    met = {"met_shares": [round(x, 3) for x in shares]}  # the words: texts.suggestion_text
    if all(x >= MET_TO_PROGRESS for x in shares):
        if hold is not None and hold >= 2:
            return {"protocol": pid, "change": "hold_s", "from": hold, "to": hold + 1,
                    "why": f"{shares[0]:.0%} and {shares[1]:.0%} of repetitions met", **met}
        return {"protocol": pid, "change": "target_pct_mvc_delta", "from": 0, "to": 5,
                "why": f"{shares[0]:.0%} and {shares[1]:.0%} of repetitions met", **met}
    if all(x < MET_TO_EASE for x in shares) and hold is not None and hold > 2:
        return {"protocol": pid, "change": "hold_s", "from": hold, "to": hold - 1,
                "why": f"only {shares[0]:.0%} and {shares[1]:.0%} of repetitions met", **met}
    return None


def accept_suggestion(s: dict) -> protocols.Protocol:
    """The protocol a suggestion asks for (``history --accept`` writes it as TOML)."""
    base = protocols.load(s["protocol"])
    if s["change"] == "hold_s":
        return protocols.customise(base, hold_s=s["to"])
    work = [ph for sec in base.sections for ph in sec.phases if ph.kind == "work"]
    return protocols.customise(base, target_pct_mvc=min(
        100.0, (work[0].target_pct_mvc or 50) + s["to"]))
