"""``bbfeedback record``: a live source through the run loop into an EDF+ file (and history)."""

from __future__ import annotations

import signal
import sys
import threading
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from bbfeedback.app.allocator import steady_allocator
from bbfeedback.app.recorder import SessionRecorder, check_patient_id
from bbfeedback.app.run import RunEnd, Sink, Watchdog, run
from bbfeedback.app.sources import LiveSource, open_source
from bbfeedback.app.visit import calibration_for
from bbfeedback.errors import InputError
from bbfeedback.exercise import protocols
from bbfeedback.exercise.session import Session
from bbfeedback.recording.outputs import check_output
from bbfeedback.recording.repair import marker_path, unfinished


class ConsoleSink(Sink):
    """Connection events on stderr; with ``progress`` the samples safely on disk."""

    def __init__(self, recorder: SessionRecorder, progress: bool):
        self.recorder = recorder
        self.progress = progress
        self._records = 0

    def status(self, status) -> None:
        if status.kind not in ("error", "lost"):  # said once, by record(), as the end
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
        self.db_path: Path | None = None
        self.added: bool | None = None  # None: the session has not finished
        self.problem = ""  # why it was not added
        self.copy_of: str | None = None  # not added: the same samples are there as this file

    @property
    def note(self) -> str:
        """What became of it, for the command line ("" before the session finished)."""
        if self.added is None:
            return ""
        return (f"added to the history ({self.db_path})" if self.added
                else f"not added to the history: {self.problem}")

    def finish(self, session, events, result) -> None:
        if result is None:
            return
        from bbfeedback.app.history import CopyInHistory, History

        try:
            hist = History(self.db)
            self.db_path = hist.path
            hist.add(self.path)
            hist.close()
            self.added = True
        except InputError as exc:
            self.added, self.problem = False, str(exc)
            self.copy_of = exc.other if isinstance(exc, CopyInHistory) else None


SILENT_S = 3.0  # no data this long: "no data from PORT" (the watchdog)
EXIT_DEVICE_LOST = 3


def record(device: str, port: str | None, protocol: str | None, seconds: float | None,
           out: str, patient: str = "X", posture: str | None = None, db: str | None = None,
           speed: float = 1.0, seed: int = 0, progress: bool = False,
           rate: float | None = None, wait_s: float = 10.0, force: bool = False,
           calibration: str | None = None, lsl: bool = False, **spec_options) -> int:
    """Record until ``seconds`` of signal, the protocol's end (its last step over: an
    as-long-as-possible hold moves it; ``seconds`` may then be left out), Ctrl-C / SIGTERM,
    or a device silent for ``wait_s`` (exit status 3); the file is finalised in every case.
    ``calibration``: the protocol's own mode unless given ("previous": the MVC of the
    patient's last session). ``lsl``: publish raw signal, envelopes and markers as LSL
    streams too."""
    if seconds is None and not protocol:
        raise InputError("record needs --seconds, or a --protocol whose end ends it")
    proto = protocols.load(protocol) if protocol else None
    check_patient_id(patient)
    steady_allocator()  # flat memory over a long session
    calibration, previous = calibration_for(calibration, patient, db, proto, device)
    path = check_output(out, force)
    marker = marker_path(path)
    if marker.exists() or marker.is_symlink():
        raise InputError(f"cannot create: {marker.name} is there (an unfinished recording of "
                         "this name? recover it, or remove that marker)", path)
    if patient != "X" and proto:  # the history is an output too: checked before any work
        from bbfeedback.app.history import History

        History(db).close()
    for left in unfinished(path.parent):
        print(f"bbfeedback: unfinished recording {left} found (a crash?); "
              f"recover it with: bbfeedback recover {left}", file=sys.stderr)
    played = as_played(proto, calibration)
    src = open_source(device, port, played or "a1-strength", rate, seed, speed, **spec_options)
    try:
        session = Session(proto, src.channels, src.fs_hz, start_s=src.start_s,
                          calibration=calibration, previous=previous,
                          posture=posture, ranges=src.ranges) if proto else None
        outlet = _lsl_outlet(src, patient, session) if lsl else None
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
    if outlet is not None:
        sinks.append(outlet)
    watchdog = Watchdog(src.port or src.name, SILENT_S, max(wait_s, SILENT_S))
    stop = threading.Event()
    try:
        with _signals_as_stop(stop):
            end = run(src.stream, session, sinks,
                      until_sample=None if seconds is None else int(seconds * src.fs_hz),
                      stop=stop, watchdog=watchdog, drain_on_stop=True,
                      until_ended=session is not None)
    finally:
        src.stream.stop()
        if outlet is not None:
            outlet.close()
    if end.reason == "stop-requested":
        end = replace(end, reason="interrupted")
    if rec.samples == 0:  # nothing half-made: a failed start leaves no file behind
        rec.close()  # (again: closing twice is harmless) the in-progress marker goes too
        path.unlink(missing_ok=True)
        if end.reason == "interrupted":
            print("bbfeedback: stopped before any sample arrived; nothing recorded",
                  file=sys.stderr)
            return 0
        why = end.last_status.message if end.last_status else "no samples received"
        if end.reason != "lost":
            raise InputError(f"{why}: is the device on, and is it the right one?")
        print(f"bbfeedback: error: {why}: is the device on, and is it the right one? "
              "(nothing recorded)", file=sys.stderr)
        return EXIT_DEVICE_LOST
    _report(src, rec, end, path, history)
    if end.reason in ("lost", "error"):
        print(f"bbfeedback: device lost ({end.last_status.message}); the recording up to "
              f"then is saved in {path}", file=sys.stderr)
        return EXIT_DEVICE_LOST
    return 0


def _lsl_outlet(src: LiveSource, patient: str, session: Session | None):
    """The LSL outlets of ``--lsl`` (pylsl is imported only then)."""
    from bbfeedback.app.lsl import LslOutlet

    return LslOutlet(src.channels, src.fs_hz, src.name, src.port, patient, session)


def as_played(proto: protocols.Protocol | None,
              calibration: str | None) -> protocols.Protocol | None:
    """The protocol a simulated patient follows: it calibrates as the session asks
    ("previous", "visit": the session only rests, so the patient only rests)."""
    if proto is None or not calibration:
        return proto
    return replace(proto, calibration="none" if calibration in ("previous", "visit")
                   else calibration)


def previous_calibration_of(calibration: str | None, patient: str, db: str | None,
                            proto: protocols.Protocol | None,
                            device: str | None = None) -> dict | None:
    """The patient's last calibration with an MVC, for ``--calibration previous`` (and the
    window's "MVC of the previous session"); None for any other mode."""
    if calibration != "previous":
        return None
    if proto is None or patient == "X":
        raise InputError("--calibration previous needs --protocol and --patient (the MVC is "
                         "the patient's last session's, from the history)")
    from bbfeedback.app.history import History, previous_calibration

    history = History(db)
    try:
        cals = previous_calibration(history, patient, device)
    finally:
        history.close()
    if not cals:
        raise InputError(f"no earlier session of patient {patient} with an MVC in the history"
                         + (f" on device {device}" if device else "")
                         + ": choose --calibration max, gentle or none")
    return cals


@contextmanager
def _signals_as_stop(stop: threading.Event):
    """Ctrl-C and SIGTERM end a recording between two blocks, so the file is finished and
    whole (a signal in the middle of writing a block would leave it half written); a second
    one interrupts at once."""
    def handler(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    try:
        old = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        for sig, previous in old.items():
            signal.signal(sig, previous)


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
