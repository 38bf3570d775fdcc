"""Replaying a recording as if it were a live device: 1x or faster, pause, seek.

``ReplaySource`` has the live sources' interface (start, get, drain, stop), so the GUI and
the session engine run on it unchanged. ``replay_session`` sets up the session engine the way
the recording was made (protocol, calibration, settings, cue alignment, gaps), so replayed
scores equal the recorded ones when nothing changes.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from bbfeedback.app.analyze import (
    AnalysisOptions,
    group_of,
    make_session,
    read_meta,
    recorded_all,
    run_groups,
)
from bbfeedback.drivers.source import ThreadedSource
from bbfeedback.errors import InputError
from bbfeedback.exercise import protocols
from bbfeedback.exercise.session import Session
from bbfeedback.recording import Recording, read_recording
from bbfeedback.signal.blocks import split_blocks

BLOCK_S = 0.04


class ReplaySource(ThreadedSource):
    def __init__(self, recording: Recording | str | Path, speed: float = 1.0,
                 channels: list[str] | None = None):
        self.recording = recording if isinstance(recording, Recording) else read_recording(
            recording)
        options = AnalysisOptions(channels=channels)
        self.results, _ = run_groups(self.recording, options, detect_events=False)
        self.options = options
        self.group = self.results[0]
        self.fs_hz = self.group.block.fs_hz
        self.channels = self.group.pipeline.channels
        self.blocks = split_blocks(self.group.block, max(1, int(BLOCK_S * self.fs_hz)))
        self.speed = speed
        super().__init__("replay", max_items=500)
        self.position = 0  # index of the next block
        self.samples = 0
        self.lost_samples = 0
        self.overflow_blocks = 0
        self._paused = threading.Event()
        self._lock = threading.Lock()

    @property
    def duration_s(self) -> float:
        return self.group.block.n_samples / self.fs_hz

    @property
    def time_s(self) -> float:
        return self.position * BLOCK_S

    def pause(self) -> None:
        self._paused.set()

    def resume(self) -> None:
        self._paused.clear()

    def seek(self, t_s: float) -> None:
        """Jump to a time; the consumer rebuilds its session from the start of the file
        (fast) when it sees the ``seek`` status, as filters need the signal before."""
        with self._lock:
            self.position = int(max(0.0, min(t_s, self.duration_s)) / BLOCK_S)
            self._clock = None
        self.queue.put(("seek", self.position))

    def set_speed(self, speed: float) -> None:
        with self._lock:
            self.speed = speed
            self._clock = None

    def _run(self) -> None:
        self._clock = None
        while not self._stop.is_set() and self.position < len(self.blocks):
            if self._paused.is_set():
                self._clock = None
                self._stop.wait(0.05)
                continue
            with self._lock:
                if self._clock is None:
                    self._clock = (time.monotonic(), self.blocks[self.position].start_s)
                t0, s0 = self._clock
                block = self.blocks[self.position]
                due = (block.end_sample / self.fs_hz - s0) / self.speed
            wait = due - (time.monotonic() - t0)
            if wait > 0:
                self._stop.wait(min(wait, 0.05))
                continue
            self.queue.put(block)
            self.samples += block.n_samples
            with self._lock:
                self.position += 1
        self.queue.put(("end", self.position))

def recorded_protocol(recording: Recording) -> str | None:
    return (read_meta(recording).get("settings") or {}).get("protocol")


def replay_session(source: ReplaySource, protocol: str | None = None) -> Session:
    """The session engine for a replay, as recorded unless another protocol is given."""
    pid = protocol or recorded_protocol(source.recording)
    if pid is None:
        raise InputError("the recording names no protocol: choose one", source.recording.path)
    settings = read_meta(source.recording).get("settings") or {}
    result = group_of(source.results, settings.get("main"), settings.get("accessory"),
                      source.recording.path)
    session, _ = make_session(source.recording, result, protocols.load(pid), source.options,
                              None, settings.get("main"), settings.get("accessory"))
    return session


def recorded_reps(recording: Recording) -> list[dict]:
    """The repetition scores the live session wrote into the recording."""
    return recorded_all(recording, "rep")
