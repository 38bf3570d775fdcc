"""``bbfeedback record``: a live source through the run loop into an EDF+ file (and history)."""

from __future__ import annotations

import errno
import signal
import sys
import threading
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from bbfeedback import texts
from bbfeedback.app.allocator import steady_allocator
from bbfeedback.app.recorder import SessionRecorder, check_patient_id
from bbfeedback.app.run import EndReason, RunEnd, Sink, SinkFailed, Watchdog, run
from bbfeedback.app.sources import LiveSource, open_source
from bbfeedback.app.terminal import shown
from bbfeedback.app.visit import calibration_for
from bbfeedback.errors import InputError
from bbfeedback.exercise import protocols
from bbfeedback.exercise.session import Session
from bbfeedback.recording.outputs import check_output
from bbfeedback.recording.repair import (
    WriteFailed,
    marker_path,
    recover,
    remove_marker,
    unfinished,
)


class ConsoleSink(Sink):
    """Connection events on stderr; with ``progress`` the samples safely on disk."""

    def __init__(self, recorder: SessionRecorder, progress: bool, lang: str = "en"):
        self.recorder = recorder
        self.progress = progress
        self.lang = lang
        self._records = 0

    def status(self, status) -> None:
        if status.kind not in ("error", "lost"):  # said once, by record(), as the end
            print(f"bbfeedback: {said(status.message, self.lang)}", file=sys.stderr)

    def block(self, block, events, session) -> None:
        w = self.recorder.writer
        if self.progress and w.records > self._records:
            self._records = w.records
            print(said(f"on disk {w.records * w.per_record[0]} samples", self.lang),
                  flush=True)


def said(english: str, lang: str) -> str:
    """A line of ``record``'s in ``lang`` (``texts.message``), safe for the terminal."""
    return shown(texts.message(english, lang))


def _tell(level: str, english: str, lang: str) -> None:
    """``bbfeedback: fout: ...`` (``level`` error, warning or note) on stderr, in ``lang``."""
    print(shown(texts.level_line(level, english, lang)), file=sys.stderr)


class SafeRecorder(SessionRecorder):
    """The session recorder that outlives its disk. A write that fails (the disk is full, a
    quota, an I/O error) ends the recording, never the program: what reached the disk is made
    a valid file at once and in place (``recover``: the header's record count and cutting a
    partial record need no new space; a copy would), and the run ends with reason
    ``write-failed`` (``SinkFailed``). ``failure`` then says what happened in one line."""

    def __init__(self, path, *args, **kwargs):
        self.failure = ""  # why the recording stopped early ("" while the disk takes it)
        self.full, self.refused, self.kept, self.stopped_at_s = False, "", "none", 0.0
        self.kept_s = 0.0  # seconds of signal the file keeps after a failure
        try:
            super().__init__(path, *args, **kwargs)
        except OSError as exc:  # no room for the header: nothing recorded, nothing left
            if marker_path(path).exists():  # (the marker comes first: the file is ours)
                Path(path).unlink(missing_ok=True)
                remove_marker(path)
            raise WriteFailed(f"cannot create ({exc.strerror or exc})", path) from None

    def block(self, block, events, session) -> None:
        if self.failure:
            return
        try:
            super().block(block, events, session)
        except OSError as exc:
            raise SinkFailed(self._fail(exc)) from None

    def status(self, status) -> None:
        if self.failure:
            return
        try:
            super().status(status)
        except OSError as exc:
            raise SinkFailed(self._fail(exc)) from None

    def finish(self, session, events, result) -> None:
        """As the recorder's; a write failing while the file is closed (the last record,
        the summary) is noted in ``failure``, not raised: the run is over by then."""
        if self.failure:
            return
        try:
            super().finish(session, events, result)
        except OSError as exc:
            self._fail(exc)

    def close(self) -> None:
        if self.failure:
            return
        try:
            super().close()
        except OSError as exc:
            self._fail(exc)

    def _fail(self, exc: OSError) -> str:
        """Make what is on disk a valid recording, in place, and say so (``failure``)."""
        at_s = self.samples / self.fs_hz
        fh = self.writer._fh  # noqa: SLF001 - the writer has no way to give up its file yet
        try:  # (its buffer is tried once more; the raw file is closed whatever happens)
            fh.close()
        except OSError:
            pass
        try:
            records, _, _ = recover(self.path)
            self.kept_s = records * self.writer.record_s
            kept = (f"the {self.kept_s:.1f} s on disk are kept as a valid recording in "
                    f"{self.path}")
            self.kept = "kept"
        except WriteFailed as again:  # not even in place: left as it is, for later
            kept = (f"{again}; the file is left as it is: run bbfeedback recover "
                    f"{self.path} when the disk is back")
            self.kept = "left"
        except InputError:  # not one whole record on disk: nothing to keep
            self.path.unlink(missing_ok=True)
            remove_marker(self.path)
            kept = "nothing was on disk yet, so no file is left"
            self.kept = "none"
        self.full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
        self.refused = "" if self.full else str(exc.strerror or exc)
        self.stopped_at_s = at_s
        why = "the disk is full" if self.full else f"the disk refused a write ({self.refused})"
        self.failure = f"{why}: the recording stopped at {at_s:.1f} s; {kept}"
        return self.failure

    def failure_text(self, lang: str) -> str:
        """``failure`` in the window's language ("" while the disk takes the recording)."""
        if not self.failure:
            return ""
        why = texts.text("disk_full", lang) if self.full else \
            texts.text("disk_refused", lang, why=self.refused)
        kept = texts.text(f"disk_{self.kept}", lang, path=self.path,
                          kept=texts.fmt(self.kept_s, lang, ".1f"))
        return texts.text("disk_stopped", lang, why=why, kept=kept,
                          at=texts.fmt(self.stopped_at_s, lang, ".1f"))


class HistorySink(Sink):
    """Adds the finished recording to the patient's history (the file stays the truth)."""

    def __init__(self, path: Path, db: str | None, recorder: SafeRecorder | None = None):
        self.path = path
        self.db = db
        self.recorder = recorder  # a recording its disk cut short is not added
        self.db_path: Path | None = None
        self.added: bool | None = None  # None: the session has not finished
        self.problem = ""  # why it was not added
        self.copy_of: str | None = None  # not added: the same samples are there as this file
        self.write_failed: WriteFailed | None = None  # the disk refused the history's write

    @property
    def note(self) -> str:
        """What became of it, for the command line ("" before the session finished)."""
        if self.added is None:
            return ""
        return (f"added to the history ({self.db_path})" if self.added
                else f"not added to the history: {self.problem}")

    def finish(self, session, events, result) -> None:
        if result is None or (self.recorder is not None and self.recorder.failure):
            return
        from bbfeedback.app.history import CopyInHistory, History

        hist = None
        try:
            hist = History(self.db)
            self.db_path = hist.path
            hist.add(self.path)
            self.added = True
        except InputError as exc:
            self.added, self.problem = False, str(exc)
            self.copy_of = exc.other if isinstance(exc, CopyInHistory) else None
            self.write_failed = exc if isinstance(exc, WriteFailed) else None
        finally:
            if hist is not None:
                hist.close()


SILENT_S = 3.0  # no data this long: "no data from PORT" (the watchdog)
EXIT_DEVICE_LOST = 3
EXIT_WRITE_FAILED = WriteFailed.exit_status  # the disk refused a write: what it holds is kept


def record(device: str, port: str | None, protocol: str | None, seconds: float | None,
           out: str, patient: str = "X", posture: str | None = None, db: str | None = None,
           speed: float = 1.0, seed: int = 0, progress: bool = False,
           rate: float | None = None, wait_s: float = 10.0, force: bool = False,
           calibration: str | None = None, lsl: bool = False, lang: str = "en",
           mains: str = "50", **spec_options) -> int:
    """Record until ``seconds`` of signal, the protocol's end (its last step over: an
    as-long-as-possible hold moves it; ``seconds`` may then be left out), Ctrl-C / SIGTERM,
    or a device silent for ``wait_s`` (exit status 3); the file is finalised in every case.
    ``calibration``: the protocol's own mode unless given ("previous": the MVC of the
    patient's last session). ``lsl``: publish raw signal, envelopes and markers as LSL
    streams too. ``mains``: the mains frequency notched ("50", "60", "off"), recorded in the
    file's settings so that re-analysis notches the same."""
    if seconds is None and not protocol:
        raise InputError("record needs --seconds, or a --protocol whose end ends it")
    proto = protocols.load(protocol) if protocol else None
    check_patient_id(patient)
    path = check_recording_name(out, force)  # before any work: the session is not repeatable
    steady_allocator()  # flat memory over a long session
    calibration, previous = calibration_for(calibration, patient, db, proto, device)
    made = None  # a history database this command makes: removed again if left unused
    if patient != "X" and proto:  # the history is an output too: checked before any work
        from bbfeedback.app.history import History, default_path

        made = Path(db) if db else default_path()
        made = None if made.exists() or made.is_symlink() else made
        try:
            History(db).close()
        except WriteFailed as exc:
            raise WriteFailed(f"{exc}{_unmade(made)}; nothing recorded") from None
    try:
        return _record(device, port, seconds, path, patient, posture, db, speed, seed,
                       progress, rate, wait_s, force, calibration, previous, proto, lsl,
                       lang, made, spec_options, mains)
    finally:
        _unmade(made)  # (a database with a session in it is kept)


def check_recording_name(out: str, force: bool) -> Path:
    """``record --out``, or one line (exit 2) before the session: a file that could not be
    created (no such folder, not writable, there already, an unfinished recording's marker),
    a name without .edf (``history rebuild`` would never find it), or a name that is not
    UTF-8 text (the history keeps names as text: it would refuse the
    session only after it was done)."""
    path = check_output(out, force)
    if path.suffix.lower() != ".edf":  # history rebuild and a folder's analysis look for .edf
        raise InputError("is not an .edf name: a recording is an EDF+ file (give FILE.edf)",
                         path)
    try:
        str(path.absolute()).encode("utf-8")
    except UnicodeEncodeError:
        raise InputError("the file name is not UTF-8 text: give a name of letters, digits "
                         "and punctuation (the history keeps names as text)", path) from None
    marker = marker_path(path)
    if marker.exists() or marker.is_symlink():
        raise InputError(f"cannot create: {marker.name} is there (an unfinished recording of "
                         "this name? recover it, or remove that marker)", path)
    return path


def _unmade(made: Path | None) -> str:
    """Remove the history database this record made when it holds no session (a full disk
    left it half-made, or the session was not added); what to say of it ("" when kept)."""
    if made is None:
        return ""
    from bbfeedback.app.history import remove_unused

    return "; the new history database is removed again" if remove_unused(made) else ""


def _record(device, port, seconds, path, patient, posture, db, speed, seed, progress, rate,
            wait_s, force, calibration, previous, proto, lsl, lang, made,
            spec_options, mains="50") -> int:
    """``record`` once its outputs are checked: the session itself."""
    for left in unfinished(path.parent):
        _tell("warning", f"unfinished recording {left} found (a crash?); recover it with: "
              f"bbfeedback recover {left}", lang)
    played = as_played(proto, calibration)
    src = open_source(device, port, played or "a1-strength", rate, seed, speed, **spec_options)
    try:
        session = Session(proto, src.channels, src.fs_hz, start_s=src.start_s,
                          calibration=calibration, previous=previous,
                          posture=posture, ranges=src.ranges, mains=mains) if proto else None
        outlet = _lsl_outlet(src, patient, session) if lsl else None
        rec = SafeRecorder(path, src.channels, src.fs_hz, src.full_scale, session,
                           {"name": src.name, "port": src.port, "fs_hz": src.fs_hz,
                            "posture": posture}, patient, force)
    except WriteFailed as exc:
        src.stream.stop()
        _tell("error", f"{exc}; nothing recorded{_unmade(made)}", lang)
        return EXIT_WRITE_FAILED
    except BaseException:
        src.stream.stop()
        raise
    sinks: list[Sink] = [rec, ConsoleSink(rec, progress, lang)]
    history = HistorySink(path, db, rec) if patient != "X" and proto else None
    if patient != "X" and not proto:
        _tell("note", "--patient without --protocol records no scores, so the session is not "
              "added to the history", lang)
    if history:
        sinks.append(history)
    if outlet is not None:
        sinks.append(outlet)
    watchdog = Watchdog(src.port or src.name, SILENT_S, max(wait_s, SILENT_S))
    stop = threading.Event()
    # the signals stay caught until record ends: one that comes while the file is finished
    # (or its unused marker removed) is the stop already under way, never a kill half-way
    with _signals_as_stop(stop):
        try:
            end = run(src.stream, session, sinks,
                      until_sample=None if seconds is None else int(seconds * src.fs_hz),
                      stop=stop, watchdog=watchdog, drain_on_stop=True,
                      until_ended=session is not None)
        finally:
            src.stream.stop()
            if outlet is not None:
                outlet.close()
        return _ended(src, rec, end, path, history, made, lang)


def _ended(src: LiveSource, rec: SessionRecorder, end: RunEnd, path: Path,
           history: HistorySink | None, made: Path | None, lang: str) -> int:
    """What ``record`` says and returns once the run is over (the file is closed)."""
    if end.reason == EndReason.STOP_REQUESTED:
        end = replace(end, reason="interrupted")
    if rec.failure:  # the disk refused a write: what it holds is a valid file (or none)
        _tell("error", f"{rec.failure}{_unmade(made)}", lang)
        return EXIT_WRITE_FAILED
    if rec.samples == 0:  # nothing half-made: a failed start leaves no file behind
        rec.close()  # (again: closing twice is harmless) the in-progress marker goes too
        path.unlink(missing_ok=True)
        if end.reason == EndReason.INTERRUPTED:
            _tell("note", "stopped before any sample arrived; nothing recorded", lang)
            return 0
        why = end.last_status.message if end.last_status else "no samples received"
        if end.reason != EndReason.LOST:
            raise InputError(f"{why}: is the device on, and is it the right one?")
        _tell("error", f"{why}: is the device on, and is it the right one? (nothing "
              "recorded)", lang)
        return EXIT_DEVICE_LOST
    _report(src, rec, end, path, history, lang)
    if history is not None and history.write_failed:  # the recording is whole, kept
        _tell("error", f"{history.write_failed}: the session is not in the history"
              f"{_unmade(made)}; the recording is kept in {path} (add it when there is room: "
              f"bbfeedback history rebuild {path.parent})", lang)
        return EXIT_WRITE_FAILED
    if end.reason in (EndReason.LOST, EndReason.ERROR):
        why = end.last_status.message.removesuffix("; device lost")  # (said once)
        _tell("error", f"device lost ({why}); the recording up to then is saved in {path}",
              lang)
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
    from bbfeedback.app.history import History, default_path, previous_calibration

    where = Path(db) if db else default_path()
    if not where.exists():  # only read: a missing history is never made here
        raise InputError(f"no earlier session of patient {patient}: no history at {where} "
                         "(a mistyped --db?): choose --calibration max, gentle or none")
    history = History(db, create=False)
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
            history: HistorySink | None, lang: str = "en") -> None:
    packets_lost = getattr(src.stream, "lost_packets", 0)  # the simulated sensor loses none
    print(said(f"recorded {rec.samples} samples ({rec.samples / src.fs_hz:.1f} s) to {path}; "
               f"samples received {rec.samples - rec.lost}; packets lost {packets_lost}; "
               f"samples lost {rec.lost}; disconnections {end.disconnects}", lang))
    if end.reason == EndReason.INTERRUPTED:
        print(said("stopped early (Ctrl-C or SIGTERM); the recording is saved", lang))
    if end.result is not None:  # the therapist's summary, then the patient's own sentences
        print(end.result.text(lang))
        told = end.result.summary.get(f"patient_text_{lang}")
        if told:
            print(f"{texts.text('for_patient', lang)}: {told}")
    if history is not None and history.note and not history.write_failed:
        print(said(history.note, lang))  # (a full disk: said as the error, last)
