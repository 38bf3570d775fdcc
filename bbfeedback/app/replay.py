"""Replaying a recording as if it were a live device: 1x or faster, pause, seek.

``ReplaySource`` has the live sources' interface (start, get, drain, stop) and hands out the
file's blocks as its device delivered them (gaps as jumps of the sample clock), so the run
loop, the session engine and the GUI run on it unchanged; ``replay_session`` is
``session_for`` (the recorded protocol, calibration, settings and alignment), so replayed
scores equal the recorded ones when nothing changes.
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path

from bbfeedback.app.analyze import (
    AnalysisOptions,
    Rescoring,
    file_blocks,
    run_groups,
    select,
    session_for,
)
from bbfeedback.drivers.source import ThreadedSource
from bbfeedback.drivers.status import Status, StatusKind
from bbfeedback.exercise import protocols
from bbfeedback.exercise.clock import CueChange
from bbfeedback.exercise.protocols import CUES
from bbfeedback.exercise.scores import RepScore
from bbfeedback.exercise.session import Session
from bbfeedback.recording import Recording, check_rates, read_recording

BLOCK_S = 0.04


def replayable(recording: Recording | str | Path, channels: list[str] | None = None
               ) -> Recording:
    """The recording, or one line why it cannot be replayed: unreadable, in progress, no
    EMG or pressure, a rate ``analyze`` refuses (1 Hz), or too long to hold for seeking
    (refused before any work: the window opened, then failed, and the command said 0)."""
    rec = recording if isinstance(recording, Recording) else read_recording(recording)
    chosen = select(rec, channels)
    check_rates(rec, chosen)
    for g in rec.groups(chosen):
        g.check_holdable()
    return rec


class ReplaySource(ThreadedSource):
    def __init__(self, recording: Recording | str | Path, speed: float = 1.0,
                 channels: list[str] | None = None):
        self.recording = replayable(recording, channels)
        self.options = AnalysisOptions(channels=channels)
        self.results, _ = run_groups(self.recording, self.options, detect_events=False)
        self.rescoring: Rescoring | None = None
        group = self.results[0]
        self.fs_hz = group.fs_hz
        self.channels = group.pipeline.channels
        self.n_samples = group.group.n_samples
        self._group = group
        self.blocks = self._blocks(group)
        self.speed = speed
        super().__init__("replay", max_items=500)
        self.position = 0  # index of the next block
        self._paused = threading.Event()
        self._lock = threading.Lock()
        self._seek_to = 0
        self._seek_pending = False

    def _blocks(self, group) -> list:
        return list(file_blocks(group.group, self.recording, BLOCK_S))

    def session(self, protocol: str | None = None) -> Session:
        """A fresh session engine for this file (as recorded unless another protocol)."""
        proto = protocols.load(protocol) if protocol else None
        self.rescoring = session_for(self.recording, proto, self.options,
                                     results=self.results)
        if self.rescoring.group is not self._group:
            self._group = self.rescoring.group
            self.fs_hz = self._group.fs_hz
            self.channels = self._group.pipeline.channels
            self.blocks = self._blocks(self._group)
        return self.rescoring.session

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.fs_hz

    @property
    def time_s(self) -> float:
        with self._lock:
            i = self.position
        return self.blocks[i].start_s if i < len(self.blocks) else self.duration_s

    def pause(self) -> None:
        self._paused.set()

    def resume(self) -> None:
        self._paused.clear()

    def seek(self, t_s: float) -> None:
        """Jump to a time. Seeks coalesce: one ``seek`` status is queued until the consumer
        takes the latest target (``take_seek``) and rebuilds its session from the start of
        the file (fast: filters need what came before)."""
        with self._lock:
            target = max(0.0, min(float(t_s), self.duration_s)) * self.fs_hz
            self.position = next((i for i, b in enumerate(self.blocks)
                                  if b.end_sample > target), len(self.blocks))
            self._clock = None
            self._seek_to = self.blocks[self.position].start_sample if self.position < len(
                self.blocks) else self.n_samples
            if not self._seek_pending:  # under the lock: no block of the old place after it
                self._seek_pending = True
                self._put_status(Status(StatusKind.SEEK, "seek", sample=self._seek_to))

    def take_seek(self) -> int:
        """The sample to go on from after the latest seek (the consumer's side)."""
        with self._lock:
            self._seek_pending = False
            return self._seek_to

    def set_speed(self, speed: float) -> None:
        speed = float(speed)
        if not (math.isfinite(speed) and speed > 0):
            raise ValueError(f"replay speed must be a positive number, not {speed!r}")
        with self._lock:
            self.speed = speed
            self._clock = None

    def _run(self) -> None:
        self._clock = None
        while not self._stop.is_set():
            if self._paused.is_set():
                self._clock = None
                self._stop.wait(0.05)
                continue
            with self._lock:  # pick and queue a block in one step: a seek comes before or after
                if self.position >= len(self.blocks):
                    break
                if self._clock is None:
                    self._clock = (time.monotonic(), self.blocks[self.position].start_s)
                t0, s0 = self._clock
                block = self.blocks[self.position]
                wait = (block.end_sample / self.fs_hz - s0) / self.speed - (
                    time.monotonic() - t0)
                sent = wait <= 0 and self._offer_block(block)  # waits for its consumer
                if sent:
                    self.position += 1
            if not sent:
                self._stop.wait(min(max(wait, 0.01), 0.05))
        if not self._stop.is_set():
            self._put_status(Status(StatusKind.STOPPED, "end of recording", sample=self.n_samples))


def replay_session(source: ReplaySource, protocol: str | None = None) -> Session:
    """The session engine for a replay, as recorded unless another protocol is given."""
    return source.session(protocol)


def recorded_calibration_cues(recording: Recording) -> list[CueChange]:
    """The calibration's cues as the live session gave them (a replay re-scores with the
    recorded calibration, so its session has none), each lasting until the next cue."""
    cues = recording.meta.cues
    out = []
    for c, nxt in zip(cues, [*cues[1:], None], strict=True):
        words = CUES.get(c.cue)
        if not c.calibration or words is None:
            continue
        end = nxt.onset_s if nxt is not None else recording.duration_s
        out.append(CueChange(c.onset_s, -1, c.kind, c.cue, words["nl"], words["en"], c.rep,
                             end - c.onset_s, "calibration", None, calibration=True))
    return out


def recorded_reps(recording: Recording) -> list[RepScore]:
    """The repetition scores the live session wrote into the recording (each checked when
    read, ``schemas.Rep``; a damaged one is left out with a warning)."""
    out = []
    for d in recording.meta.all("rep"):
        try:
            out.append(RepScore.from_dict(d))
        except ValueError:  # a flag of a newer version: not this version's score to compare
            continue
    return out
