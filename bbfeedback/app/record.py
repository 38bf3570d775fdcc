"""``bbfeedback record``: a live source through the run loop into an EDF+ file (and history)."""

from __future__ import annotations

import signal
import sys
from contextlib import contextmanager
from pathlib import Path

from bbfeedback.app.recorder import SessionRecorder, check_patient_id
from bbfeedback.app.run import RunEnd, Sink, Watchdog, run
from bbfeedback.app.sources import LiveSource, open_source
from bbfeedback.errors import InputError
from bbfeedback.exercise import protocols
from bbfeedback.exercise.session import Session
from bbfeedback.recording.outputs import check_output
from bbfeedback.recording.repair import unfinished


class ConsoleSink(Sink):
    """Connection events on stderr; with ``progress`` the samples safely on disk."""

    def __init__(self, recorder: SessionRecorder, progress: bool):
        self.recorder = recorder
        self.progress = progress
        self._records = 0

    def status(self, status) -> None:
        print(f"bbfeedback: {status.message}", file=sys.stderr)

    def block(self, block, events, session) -> None:
        w = self.recorder.writer
        if self.progress and w.records > self._records:
            self._records = w.records
            print(f"on disk {w.records * w.per_record[0]} samples", flush=True)


class HistorySink(Sink):
    """Adds the finished recording to the patient's history (the file stays the truth)."""

    def __init__(self, path: Path, db: str | None):
        self.path = path
        self.db = db
        self.note = ""

    def finish(self, session, events, result) -> None:
        if result is None:
            return
        from bbfeedback.app.history import History

        try:
            hist = History(self.db)
            hist.add(self.path)
            hist.close()
            self.note = f"added to the history ({hist.path})"
        except InputError as exc:
            self.note = f"not added to the history: {exc}"


SILENT_S = 3.0  # no data this long: "no data from PORT" (the watchdog)
EXIT_DEVICE_LOST = 3


def record(device: str, port: str | None, protocol: str | None, seconds: float, out: str,
           patient: str = "X", posture: str | None = None, db: str | None = None,
           speed: float = 1.0, seed: int = 0, progress: bool = False,
           rate: float | None = None, wait_s: float = 10.0, force: bool = False,
           **spec_options) -> int:
    """Record until ``seconds`` of signal, Ctrl-C / SIGTERM, or a device silent for
    ``wait_s`` (exit status 3); the file is finalised in every case."""
    proto = protocols.load(protocol) if protocol else None
    check_patient_id(patient)
    path = check_output(out, force)
    for left in unfinished(path.parent):
        print(f"bbfeedback: unfinished recording {left} found (a crash?); "
              f"recover it with: bbfeedback recover {left}", file=sys.stderr)
    src = open_source(device, port, proto or "a1-strength", rate, seed, speed, **spec_options)
    try:
        session = Session(proto, src.channels, src.fs_hz, start_s=src.start_s) if proto else None
        rec = SessionRecorder(path, src.channels, src.fs_hz, src.full_scale, session,
                              {"name": src.name, "port": src.port, "fs_hz": src.fs_hz,
                               "posture": posture}, patient, force)
    except BaseException:
        src.stream.stop()
        raise
    sinks: list[Sink] = [rec, ConsoleSink(rec, progress)]
    history = HistorySink(path, db) if patient != "X" and proto else None
    if patient != "X" and not proto:
        print("bbfeedback: note: --patient without --protocol records no scores, so the "
              "session is not added to the history", file=sys.stderr)
    if history:
        sinks.append(history)
    watchdog = Watchdog(src.port or src.name, SILENT_S, max(wait_s, SILENT_S))
    try:
        with _sigterm_as_interrupt():
            end = run(src.stream, session, sinks, until_sample=int(seconds * src.fs_hz),
                      watchdog=watchdog)
    finally:
        src.stream.stop()
    if rec.samples == 0:  # nothing half-made: a failed start leaves no file behind
        path.unlink(missing_ok=True)
        why = end.last_status.message if end.last_status else "no samples received"
        if end.reason != "lost":
            raise InputError(f"{why}: is the device on, and is it the right one?")
        print(f"bbfeedback: error: {why}: is the device on, and is it the right one? "
              "(nothing recorded)", file=sys.stderr)
        return EXIT_DEVICE_LOST
    _report(src, rec, end, path, history)
    if end.reason == "lost":
        print(f"bbfeedback: device lost ({end.last_status.message}); the recording up to "
              f"then is saved in {path}", file=sys.stderr)
        return EXIT_DEVICE_LOST
    return 0


@contextmanager
def _sigterm_as_interrupt():
    """SIGTERM ends a recording the way Ctrl-C does: finished and saved."""
    def handler(signum, frame):
        raise KeyboardInterrupt

    try:
        old = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _report(src: LiveSource, rec: SessionRecorder, end: RunEnd, path: Path,
            history: HistorySink | None) -> None:
    packets_lost = getattr(src.stream, "lost_packets", 0)  # the simulated sensor loses none
    print(f"recorded {rec.samples} samples ({rec.samples / src.fs_hz:.1f} s) to {path}; "
          f"samples received {rec.samples - rec.lost}; packets lost {packets_lost}; "
          f"samples lost {rec.lost}; disconnections {end.disconnects}")
    if end.reason == "interrupted":
        print("stopped early (Ctrl-C or SIGTERM); the recording is saved")
    if end.result is not None:
        print(end.result["summary"]["text_en"])
    if history is not None and history.note:
        print(history.note)
