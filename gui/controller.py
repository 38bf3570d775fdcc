"""Runs a live or replayed session off the GUI thread; the windows only read snapshots.

No Qt here: a worker thread takes blocks from the source (simulated sensor, serial device or
replay), feeds the recorder and session engine, and fills a preallocated ring buffer of the
raw signal. ``snapshot()`` copies what one frame needs under a lock.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bbfeedback.app.replay import ReplaySource, recorded_reps, replay_session
from bbfeedback.app.sources import open_source
from bbfeedback.exercise.protocols import Protocol
from bbfeedback.exercise.session import CueChange, RepScored, Session
from bbfeedback.recording.recorder import SessionRecorder
from bbfeedback.signal.blocks import Block

EMULATED = "emulated"  # a port choice: start a byte-exact emulator of the device on a pty


class Ring:
    """Last ``n`` samples of each channel, preallocated; the write index wraps."""

    def __init__(self, n: int, channels: int):
        self.data = np.zeros((n, channels))
        self.n = n
        self.count = 0

    def push(self, x: np.ndarray) -> None:
        x = x[-self.n:]
        i = self.count % self.n
        k = min(x.shape[0], self.n - i)
        self.data[i:i + k] = x[:k]
        self.data[: x.shape[0] - k] = x[k:]
        self.count += x.shape[0]

    def last(self) -> np.ndarray:
        """Oldest to newest, at most n samples."""
        if self.count < self.n:
            return self.data[: self.count].copy()
        i = self.count % self.n
        return np.concatenate([self.data[i:], self.data[:i]])


@dataclass
class Snapshot:
    t_s: float = 0.0
    fs_hz: float = 1.0
    channels: tuple = ()
    raw: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    env_t: np.ndarray = field(default_factory=lambda: np.zeros(0))
    env: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    cue: CueChange | None = None
    cue_end_s: float | None = None
    template: list = field(default_factory=list)
    contractions: list = field(default_factory=list)
    reps: list = field(default_factory=list)
    recorded_reps: list = field(default_factory=list)
    summary: dict | None = None
    calibration: dict = field(default_factory=dict)
    thresholds: tuple | None = None
    status: str = "idle"
    lost_samples: int = 0
    level_pct: float | None = None
    running: bool = False
    message: str = ""  # the last connection problem, in the device's words


class LiveController:
    def __init__(self, window_s: float = 30.0):
        self.window_s = window_s
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.source = None
        self.session: Session | None = None
        self.recorder: SessionRecorder | None = None
        self.ring: Ring | None = None
        self.state = Snapshot()
        self.replay: ReplaySource | None = None
        self.result: dict | None = None
        self.emulator = None
        self._finished_session: Session | None = None  # still drawn after the end
        self._protocol_override: str | None = None

    # --- starting and stopping -------------------------------------------------------------
    def start_live(self, device: str, port: str | None, protocol: Protocol,
                   record_path: str | Path | None = None, patient: str = "X",
                   posture: str | None = None, speed: float = 1.0, seed: int = 0,
                   **spec_options) -> None:
        self.stop()
        if port == EMULATED and device != "sim":
            port = self._emulate(device, protocol, seed)
        src = open_source(device, port, protocol, None, seed, speed, **spec_options)
        self.source = src.stream
        self.session = Session(protocol, src.channels, src.fs_hz, start_s=src.start_s)
        if record_path:
            device_info = {"name": src.name, "port": src.port, "fs_hz": src.fs_hz,
                           "posture": posture}
            self.recorder = SessionRecorder(record_path, src.channels, src.fs_hz,
                                            src.full_scale, self.session, device_info, patient)
            if posture:
                self.recorder.note(0.0, f"bbfeedback:posture \"{posture}\"")
        self._begin(src.fs_hz, src.channels, "connecting")

    def _emulate(self, device: str, protocol: Protocol, seed: int) -> str:
        """An emulated device on a pty (a simulated patient doing ``protocol``)."""
        from bbfeedback.drivers.devices import make_device
        from bbfeedback.drivers.emulator import PtyEmulator, make_packets

        from bbfeedback.exercise.simulate import Behaviour, simulate_protocol

        spec = make_device(device)
        ps = simulate_protocol(protocol, Behaviour.realistic(seed), spec.fs_hz, seed=seed,
                               calibrate=True, accessory=True, pressure=True)
        by_name = {s.channel.name: s.data for s in ps.sim.recording.signals}
        values = np.column_stack([by_name[c.name] for c in spec.channels])
        self.emulator = PtyEmulator(spec, make_packets(spec, values)).start()
        return self.emulator.port

    def start_replay(self, path: str | Path, speed: float = 1.0,
                     protocol: str | None = None) -> None:
        self.stop()
        self.replay = ReplaySource(path, speed)
        self.source = self.replay
        self._protocol_override = protocol
        self.session = replay_session(self.replay, protocol)
        self.state.recorded_reps = recorded_reps(self.replay.recording)
        self._begin(self.replay.fs_hz, self.replay.channels, "replay")
        self.replay.start()

    def _begin(self, fs_hz: float, channels, status: str) -> None:
        self.ring = Ring(int(self.window_s * fs_hz), len(channels))
        with self._lock:
            recorded = self.state.recorded_reps if self.replay else []
            self.state = Snapshot(fs_hz=fs_hz, channels=tuple(channels), status=status,
                                  running=True, recorded_reps=recorded)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True, name="session")
        self._thread.start()

    def stop(self) -> dict | None:
        """Stop the source, finish the session and close the recording (saved)."""
        self._stop.set()
        if self.source is not None:
            self.source.stop()
        if self._thread is not None:
            self._thread.join(3.0)
            self._thread = None
        result = self._finish()
        self.source = None
        self.replay = None
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None
        return result

    # --- worker ----------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            item = self.source.get(timeout=0.05)
            if item is None:
                continue
            if isinstance(item, Block):
                self._block(item)
            elif isinstance(item, tuple):  # replay: ("seek", position) / ("end", position)
                if item[0] == "end":
                    self._finish()
                    return
                self._reseek(item[1])
            else:
                self._status(item)
                if item.kind in ("stopped", "error"):
                    self._finish()
                    return

    def _block(self, block: Block) -> None:
        if self.recorder is not None:
            events = self.recorder.add(block)
        else:
            events = self.session.process(block)
        self.ring.push(block.data)
        with self._lock:
            st = self.state
            st.t_s = block.end_sample / block.fs_hz
            st.lost_samples += block.lost_before
            if st.status in ("connecting", "reconnecting"):
                st.status = "connected"
            for e in events:
                if isinstance(e, CueChange):
                    st.cue = e
                elif isinstance(e, RepScored):
                    st.reps = list(self.session.reps)

    def _status(self, status) -> None:
        with self._lock:
            if status.kind in ("disconnected", "error", "warning"):
                self.state.message = status.message
            if status.kind == "disconnected":
                self.state.status = "reconnecting"
            elif status.kind in ("connected", "reconnected"):
                self.state.status = "connected"
            self.state.lost_samples += status.lost_samples
        if self.recorder is not None and status.kind in ("disconnected", "reconnected"):
            self.recorder.status(status.kind, status.message)

    def _reseek(self, position: int) -> None:
        """Rebuild the session and run it fast up to the new position (filters need the
        signal before it)."""
        src = self.replay
        session = replay_session(src, self._protocol_override)
        for b in src.blocks[:position]:
            session.process(b)
        self.session = session
        self.ring = Ring(self.ring.n, self.ring.data.shape[1])
        for b in src.blocks[max(0, position - int(self.window_s / 0.04)):position]:
            self.ring.push(b.data)
        with self._lock:
            self.state.reps = list(session.reps)
            self.state.cue = session.cues[-1] if session.cues else None

    def _finish(self) -> dict | None:
        if self.session is None:
            return self.result
        session, self.session = self.session, None
        if self.recorder is not None:
            result = self.recorder.close()
            self._add_to_history(self.recorder.path)
            self.recorder = None
        else:
            session.finish()
            result = session.result()
        self.result = result
        with self._lock:
            self.state.reps = list(result["reps"])
            self.state.summary = result["summary"]
            self.state.running = False
            self.state.status = "finished"
        self._finished_session = session
        return result

    def _add_to_history(self, path: Path) -> None:
        """The session joins the patient's history; a database problem never loses the
        recording (the EDF file is the source of truth)."""
        from bbfeedback.app.history import History
        from bbfeedback.errors import InputError

        try:
            hist = History()
            hist.add(path)
            hist.close()
            self.history_note = f"history: {hist.path}"
        except InputError as exc:
            self.history_note = str(exc)

    # --- for the windows -------------------------------------------------------------------
    def snapshot(self, ahead_s: float = 8.0) -> Snapshot:
        with self._lock:
            st = self.state
            snap = Snapshot(**{k: getattr(st, k) for k in st.__dataclass_fields__})
            snap.reps = list(st.reps)
            session = self.session or self._finished_session
            ring = self.ring
        if ring is not None:
            snap.raw = ring.last()
        if session is None:
            return snap
        t = snap.t_s
        snap.template = session.template(t - self.window_s, t + ahead_s)
        tr = session.trace()
        a = max(0, tr.index(t - self.window_s))
        snap.env = np.column_stack([session.trace(c).values[a:] for c in
                                    range(len(session.channels))]) if tr.values.size else \
            np.zeros((0, len(session.channels)))
        snap.env_t = tr.t0_s + (a + np.arange(snap.env.shape[0])) / tr.rate_hz
        snap.contractions = [c for c in session.contractions if c.offset_s > t - self.window_s]
        cal = session.calibrations.get(session.channels[session.main].name)
        snap.calibration = {k: v.to_dict() for k, v in session.calibrations.items()}
        if session.detector is not None:
            det = session.detector.channels[session.main]
            snap.thresholds = (det.on, det.off)
        if cal is not None and cal.mvc is not None and snap.env.shape[0]:
            snap.level_pct = float(cal.pct_mvc(snap.env[-1, session.main]))
        if snap.cue is not None:
            snap.cue_end_s = session.step_end(snap.cue.step)
        return snap

    def wait_finished(self, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                if not self.state.running and self.state.status == "finished":
                    return True
            time.sleep(0.05)
        return False
