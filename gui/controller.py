"""Runs a live or replayed session off the GUI thread; the windows only read frames.

No Qt here: a worker thread runs the one run loop (``bbfeedback.app.run``) with the recorder,
the history and a ``FramePublisher`` as sinks. ``frame()`` hands the windows the latest
immutable frame; nothing on the GUI thread touches the live session.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from bbfeedback.app.frames import Frame, FramePublisher
from bbfeedback.app.record import HistorySink, SafeRecorder, as_played
from bbfeedback.app.replay import ReplaySource, recorded_calibration_cues, recorded_reps
from bbfeedback.app.run import BlockList, EndReason, Sink, Watchdog, run
from bbfeedback.app.sources import open_source
from bbfeedback.exercise.protocols import Protocol
from bbfeedback.exercise.session import Session
from bbfeedback.recording import Recording

EMULATED = "emulated"  # a port choice: start a byte-exact emulator of the device on a pty


class LiveController:
    def __init__(self, window_s: float = 30.0):
        self.window_s = window_s
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.source = None
        self.replay: ReplaySource | None = None
        self.publisher: FramePublisher | None = None
        self.recorder: SafeRecorder | None = None
        self.history: HistorySink | None = None
        self.result: dict | None = None
        self.emulator = None
        self._idle = Frame()
        self._watchdog: Watchdog | None = None  # live sources only: a paused replay is quiet
        self._protocol_override: str | None = None
        self.protocol: Protocol | None = None  # of the session running (or last run)
        self.lsl = False  # live sessions also published as LSL streams (``--lsl``)
        self.outlet = None  # the LSL outlets of the session running (or last run)

    # --- starting and stopping -------------------------------------------------------------
    def start_live(self, device: str, port: str | None, protocol: Protocol,
                   record_path: str | Path | None = None, patient: str = "X",
                   posture: str | None = None, speed: float = 1.0, seed: int = 0,
                   calibration: str | None = None, previous: dict | None = None,
                   mains: str = "50", **spec_options) -> None:
        """``calibration``: the protocol's own mode unless the therapist chose another
        (``previous``: the patient's last calibration, for "previous")."""
        self.stop()
        self._stop.clear()  # (a stop while starting, Ctrl-C, stays set: the run ends at once)
        self.recorder = self.history = None
        played = as_played(protocol, calibration)  # what a simulated patient does
        if port == EMULATED and device != "sim":
            port = self._emulate(device, played, seed)
        try:
            src = open_source(device, port, played, None, seed, speed, **spec_options)
            self.source = src.stream
            session = Session(protocol, src.channels, src.fs_hz, start_s=src.start_s,
                              calibration=calibration, previous=previous, posture=posture,
                              ranges=src.ranges, mains=mains)
            sinks = self._live_sinks(src, session, record_path, patient, posture)
        except BaseException:  # a recording that cannot be made, Ctrl-C: idle, not stuck
            self.stop()
            if self.recorder is not None:  # made before what failed: closed, not left open
                self.recorder.close()
            self.recorder = self.history = self.publisher = None
            raise
        self.publisher = FramePublisher(src.fs_hz, src.channels, self.window_s)
        self._watchdog = Watchdog(src.port or src.name)  # says "no data", never gives up
        self._begin(src.stream, session, sinks + [self.publisher], live=True)

    def _live_sinks(self, src, session: Session, record_path: str | Path | None,
                    patient: str, posture: str | None) -> list[Sink]:
        """The recorder (and the patient's history) and the LSL outlets, as asked."""
        sinks: list[Sink] = []
        if record_path:
            device_info = {"name": src.name, "port": src.port, "fs_hz": src.fs_hz,
                           "posture": posture}
            self.recorder = SafeRecorder(record_path, src.channels, src.fs_hz,
                                         src.full_scale, session, device_info, patient)
            sinks.append(self.recorder)
            if patient != "X":  # no code: the file only, no history
                self.history = HistorySink(self.recorder.path, None)
                sinks.append(self.history)
        if self.lsl:
            from bbfeedback.app.lsl import LslOutlet

            self.outlet = LslOutlet(src.channels, src.fs_hz, src.name, src.port, patient,
                                    session)
            sinks.append(self.outlet)
        return sinks

    def _emulate(self, device: str, protocol: Protocol, seed: int) -> str:
        """An emulated device on a pty (a simulated patient doing ``protocol``)."""
        from bbfeedback.drivers.devices import make_device
        from bbfeedback.drivers.emulator import PtyEmulator, make_packets

        from bbfeedback.app.emulate import emulated_values

        spec = make_device(device)
        packets = make_packets(spec, emulated_values(spec, protocol, seed))
        self.emulator = PtyEmulator(spec, packets, wait_for_reader=True).start()
        return self.emulator.port

    def start_replay(self, path: str | Path | Recording, speed: float = 1.0,
                     protocol: str | None = None) -> None:
        self.stop()
        self._stop.clear()
        self.recorder = self.history = None  # a replay records nothing
        self.replay = ReplaySource(path, speed)
        self._watchdog = None
        self.source = self.replay
        self._protocol_override = protocol
        session = self.replay.session(protocol)
        self.publisher = FramePublisher(self.replay.fs_hz, self.replay.channels, self.window_s,
                                        status="replay",
                                        recorded_reps=recorded_reps(self.replay.recording),
                                        lead_cues=recorded_calibration_cues(
                                            self.replay.recording))
        self._begin(self.replay, session, [self.publisher])
        self.replay.start()

    def _begin(self, source, session: Session, sinks: list[Sink], live: bool = False) -> None:
        """The worker, on ``source`` as it was started (a stop meanwhile cleared
        ``self.source``: the run then ends at once and still closes the recording). A live
        session ends when its protocol does (its last rest over), as ``record`` does."""
        self.result = None
        self.protocol = session.protocol
        sinks = [_KeepResult(self), *sinks]  # the result is there before the frame says so
        self._thread = threading.Thread(target=self._work, args=(source, session, sinks, live),
                                        daemon=True, name="session")
        self._thread.start()

    def stop(self) -> dict | None:
        """Stop the source; the run loop finishes the session and saves the recording."""
        self._stop.set()
        if self.source is not None:
            self.source.stop()
        if self._thread is not None:
            self._thread.join(10.0)
            self._thread = None
        self.source = None
        self.replay = None
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None
        if self.outlet is not None:
            self.outlet.close()
            self.outlet = None
        return self.result

    # --- worker ----------------------------------------------------------------------------
    def _work(self, source, session: Session, sinks: list[Sink], live: bool = False) -> None:
        """The session thread. A recording the disk cannot take any more (full) ends the
        session there, as Stop would: the recorder has made what reached the disk a valid
        file, every sink is finished (the window shows the end and ``failure``), the device
        is let go; a session going on unrecorded would be a session lost."""
        first = 0
        while True:
            end = run(source, session, sinks, stop=self._stop, first_sample=first,
                      watchdog=self._watchdog, until_ended=live)
            # nothing more for this session
            if end.reason in (EndReason.ENDED, EndReason.WRITE_FAILED):
                source.stop()
            if end.reason != EndReason.SEEK:
                return
            session, first = self._reseek(self.replay.take_seek())

    def _reseek(self, sample: int) -> tuple[Session, int]:
        """A fresh session run fast up to the new position (filters need the signal before)."""
        src = self.replay
        session = src.session(self._protocol_override)
        before = [b for b in src.blocks if b.end_sample <= sample]
        end = run(BlockList(before), session, [], finish=False)
        shown, n = [], 0  # the raw blocks of the window before the new position
        for b in reversed(before):
            if n >= self.publisher.ring.n:
                break
            shown.insert(0, b.data)
            n += b.n_samples
        self.publisher.restart(session, end.end_sample / src.fs_hz, shown)
        return session, end.end_sample

    # --- for the windows -------------------------------------------------------------------
    def frame(self) -> Frame:
        """The latest frame (immutable): all a window may read."""
        return self.publisher.latest if self.publisher is not None else self._idle

    @property
    def failure(self) -> str:
        """Why the last live session stopped before its end on the controller's side (the
        disk refused its recording), in one line; "" when it did not."""
        return self.recorder.failure if self.recorder is not None else ""

    def failure_text(self, lang: str) -> str:
        """``failure`` in the window's language."""
        return self.recorder.failure_text(lang) if self.recorder is not None else ""

    def wait_finished(self, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.frame().status == "finished":
                return True
            time.sleep(0.05)
        return False


class _KeepResult(Sink):
    def __init__(self, controller: LiveController):
        self.controller = controller

    def finish(self, session, events, result) -> None:
        self.controller.result = result
