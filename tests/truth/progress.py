"""Sessions over weeks and exercises of one visit, through the whole path: each session
recorded live from the corpus model (the session engine and the recorder, as ``record``
makes them), added to a history, and the progress table (``history.progress``) or the
visit's calibration (``app.visit``) judged against the truth.

A case's ``make`` gives the sessions (``Made``, in order); ``run`` gives
``{"progress": rows, "calibrations": [...], "file_equals_live": [...]}`` for its checks (each
recording analysed from its file must score as it did live)."""

from __future__ import annotations

import json
import sqlite3
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from bbfeedback.app.analyze import analyze
from bbfeedback.app.history import History, progress
from bbfeedback.app.recorder import SessionRecorder
from bbfeedback.app.run import BlockList
from bbfeedback.app.run import run as run_loop
from bbfeedback.app.visit import calibration_for
from bbfeedback.exercise import protocols
from bbfeedback.exercise.session import Session
from bbfeedback.recording import read_recording
from bbfeedback.signal.blocks import Block

from .run import BLOCK_S, channels

PATIENT = "TRUTH-1"
WEEK_ONE = datetime(2026, 1, 5, 10, 0)
DEVICE = "truth-device"


def _blocks(rec, chans) -> list[Block]:
    data = rec.matrix()
    n = int(round(BLOCK_S * rec.fs_hz))
    return [Block(data[a:a + n], rec.fs_hz, chans, a) for a in range(0, data.shape[0], n)]


def record_all(mades: list, protocol_ids: list[str], use_visit: bool = False) -> dict:
    """Record each session into one history (a fresh one); with ``use_visit`` each session
    calibrates as ``record`` would (this visit's MVC when there is one)."""
    with tempfile.TemporaryDirectory(prefix="bbfeedback-truth-") as tmp:
        db = str(Path(tmp) / "h.sqlite3")
        cals, same = [], []
        for k, (made, pid) in enumerate(zip(mades, protocol_ids, strict=True)):
            rec = made.recording
            chans = channels(rec)
            proto = protocols.load(pid)
            mode, previous = (calibration_for(None, PATIENT, db, proto, DEVICE) if use_visit
                              else (None, None))
            session = Session(proto, chans, rec.fs_hz, calibration=mode, previous=previous,
                              ranges={s.name: s.range for s in rec.signals})
            path = Path(tmp) / f"{k}-{pid}.edf"
            recorder = SessionRecorder(path, chans, rec.fs_hz,
                                       {s.kind: s.range for s in rec.signals}, session,
                                       {"name": DEVICE, "fs_hz": rec.fs_hz}, PATIENT)
            end = run_loop(BlockList(_blocks(rec, chans)), session, [recorder])
            cals.append(end.result.to_dict()["calibration"])
            offline = analyze(read_recording(path), protocol=proto)
            same.append(_same(offline["reps"]) == _same(end.result.to_dict()["reps"])
                        and _same(offline["summary"]) == _same(end.result.to_dict()["summary"]))
            history = History(db)
            try:
                history.add(path)
            finally:
                history.close()
            if not use_visit:  # sessions over weeks: a week apart (recorded seconds apart)
                _dated(db, path, WEEK_ONE + timedelta(days=7 * k))
        history = History(db)
        try:
            rows = progress(history.sessions(PATIENT)).rows
        finally:
            history.close()
    return {"progress": rows, "calibrations": cals, "file_equals_live": same}


def _dated(db: str, path: Path, when: datetime) -> None:
    """Give a recorded session the date it would have had: the recorder stamps "now", and six
    sessions recorded within a minute would be a trend over seconds."""
    con = sqlite3.connect(db)
    try:
        con.execute("UPDATE sessions SET started = ? WHERE file = ?",
                    (when.isoformat(timespec="seconds"), str(path.resolve())))
        con.commit()
    finally:
        con.close()


def _same(x):
    """As a JSON document gives it back."""
    return json.loads(json.dumps(x))
