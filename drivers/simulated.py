"""The built-in simulated sensor: a device like the others, with no serial port.

It plays a simulated patient doing a protocol (``bbfeedback.exercise.simulate``) and hands out
blocks on its own thread at the real rate (or faster), through the same interface as
``DeviceStream``: start, get, drain, stop.
"""

from __future__ import annotations

import time

from bbfeedback.drivers.serial_transport import Status
from bbfeedback.drivers.source import ThreadedSource

from bbfeedback.exercise import protocols
from bbfeedback.exercise.simulate import Behaviour, Patient, simulate_protocol
from bbfeedback.signal.blocks import Block, split_blocks

BLOCK_S = 0.04


class SimulatedSource(ThreadedSource):
    spec_name = "sim"

    def __init__(self, protocol: str | protocols.Protocol = "a1-strength", fs_hz: float = 1000.0,
                 behaviour: Behaviour | None = None, seed: int = 0, speed: float = 1.0,
                 calibrate: bool = True, accessory: bool = True,
                 patient: Patient | None = None):
        proto = protocol if isinstance(protocol, protocols.Protocol) else protocols.load(protocol)
        self.sim = simulate_protocol(proto, behaviour or Behaviour.realistic(seed), fs_hz,
                                     seed=seed, calibrate=calibrate, accessory=accessory,
                                     patient=patient)
        block = self.sim.sim.recording.blocks()[0]
        self.fs_hz = fs_hz
        self.channels = block.channels
        self.blocks: list[Block] = split_blocks(block, max(1, int(BLOCK_S * fs_hz)))
        self.speed = speed
        self.samples = 0
        self.lost_samples = 0
        self.overflow_blocks = 0
        super().__init__("simulated")

    @property
    def start_s(self) -> float:
        return self.sim.start_s

    def _run(self) -> None:
        self.queue.put(Status("connected", "simulated sensor: connected"))
        t0 = time.monotonic()
        for b in self.blocks:
            due = b.end_sample / self.fs_hz / self.speed
            wait = due - (time.monotonic() - t0)
            if wait > 0 and self._stop.wait(wait):
                break
            self.samples += b.n_samples
            self.queue.put(b)
        self.queue.put(Status("stopped", "simulated sensor: end of session",
                              sample=self.samples))
