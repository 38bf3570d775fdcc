"""The built-in simulated sensor: a device like the others, with no serial port.

It plays a simulated patient doing a protocol (``bbfeedback.simulate``) and hands out blocks
on its own thread at the real rate (or faster), through the same interface as
``DeviceStream``: start, get, drain, stop.
"""

from __future__ import annotations

import queue
import threading
import time

from bbfeedback import protocols
from bbfeedback.signals import Block, split_blocks
from bbfeedback.simulate import Behaviour, Patient, simulate_protocol

from .serial_transport import Status

BLOCK_S = 0.04


class SimulatedSource:
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
        self.queue: queue.Queue = queue.Queue()
        self.samples = 0
        self.lost_samples = 0
        self.overflow_blocks = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="simulated")

    @property
    def start_s(self) -> float:
        return self.sim.start_s

    def start(self) -> SimulatedSource:
        self._thread.start()
        return self

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

    def get(self, timeout: float | None = None):
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def drain(self) -> list:
        items = []
        while True:
            try:
                items.append(self.queue.get_nowait())
            except queue.Empty:
                return items

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()
