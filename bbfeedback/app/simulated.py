"""The built-in simulated sensor: a device like the others, with no serial port.

It plays a simulated patient doing a protocol (``bbfeedback.exercise.simulate``) and hands out
blocks on its own thread at the real rate (or faster), through the same interface as
``DeviceStream``: start, get, drain, stop.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable

from bbfeedback.drivers.source import ThreadedSource
from bbfeedback.drivers.status import Status, StatusKind
from bbfeedback.exercise import protocols
from bbfeedback.exercise.simulate import (
    Behaviour,
    Patient,
    session_plan,
    session_start_s,
    simulate_pieces,
    simulate_protocol,
)
from bbfeedback.signal.blocks import Block, split_blocks

BLOCK_S = 0.04
PIECES_AFTER_S = 600.0  # longer simulated sessions are made as they play


def _played(pieces: Iterable, fs_hz: float, size: int) -> Iterable[Block]:
    """The pieces of a long session as blocks on one sample clock."""
    start = 0
    for data, channels in pieces:
        yield from split_blocks(Block(data, fs_hz, channels, start), size)
        start += data.shape[0]


class SimulatedSource(ThreadedSource):
    """A sensor playing a simulated patient. A session longer than ``PIECES_AFTER_S`` is made
    a minute at a time as it plays (memory flat over an hour: ``blocks`` is then an iterable
    read once); a shorter one is made whole (``blocks`` a list)."""

    spec_name = "sim"

    def __init__(self, protocol: str | protocols.Protocol = "a1-strength", fs_hz: float = 1000.0,
                 behaviour: Behaviour | None = None, seed: int = 0, speed: float = 1.0,
                 calibrate: bool = True, accessory: bool = True,
                 patient: Patient | None = None):
        proto = protocol if isinstance(protocol, protocols.Protocol) else protocols.load(protocol)
        behaviour = behaviour or Behaviour.realistic(seed)
        pfm, abd, cues, duration = session_plan(proto, behaviour, seed, calibrate=calibrate,
                                                patient=patient)
        self._start_s = session_start_s(cues)  # as a session plans it (``Session.start_s``)
        self.fs_hz = fs_hz
        size = max(1, int(BLOCK_S * fs_hz))
        if duration <= PIECES_AFTER_S:
            self.sim = simulate_protocol(proto, behaviour, fs_hz, seed=seed,
                                         calibrate=calibrate, accessory=accessory,
                                         patient=patient)
            block = self.sim.sim.recording.blocks()[0]
            self.channels = block.channels
            self.blocks: Iterable[Block] = split_blocks(block, size)
        else:
            pieces = simulate_pieces(pfm, abd, duration, fs_hz, patient, seed, accessory)
            first = next(pieces)
            self.channels = first[1]
            self.blocks = _played(itertools.chain([first], pieces), fs_hz, size)
        self.speed = speed
        self.samples = 0
        self.lost_samples = 0
        self.overflow_blocks = 0
        super().__init__("simulated")

    @property
    def start_s(self) -> float:
        return self._start_s

    def _run(self) -> None:
        self.queue.put(Status(StatusKind.CONNECTED, "simulated sensor: connected"))
        t0 = time.monotonic()
        for b in self.blocks:
            due = b.end_sample / self.fs_hz / self.speed
            wait = due - (time.monotonic() - t0)
            if wait > 0 and self._stop.wait(wait):
                break
            self.samples += b.n_samples
            self.queue.put(b)
        self.queue.put(Status(StatusKind.STOPPED, "simulated sensor: end of session",
                              sample=self.samples))
