"""Serial transport: a reader thread per device, a bounded queue, reconnection with back-off.

The reader only reads and feeds the parser (no parsing here, no I/O in parsers). Blocks go to
a bounded queue without ever waiting for the consumer; if the consumer falls behind by more
than the queue holds, the oldest blocks are dropped and counted (``overflow_blocks``). A lost
connection is reported with the sample index, everything received so far stays delivered,
the port is looked up again (by VID/PID/serial number when known: port names change on
replug) and reading resumes; the gap is estimated from the time the device was away and
handed on as ``lost_before`` of the next block, never filled in.
"""

from __future__ import annotations

import glob
import os
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import serial
from bbfeedback.drivers.devices import DeviceSpec, guess_device
from bbfeedback.drivers.framing import Decoded
from bbfeedback.drivers.source import ThreadedSource
from serial.tools import list_ports

from bbfeedback.signal.blocks import Block

BACKOFF_S = (0.1, 0.2, 0.5, 1.0, 2.0)
READ_TIMEOUT_S = 0.02


@dataclass
class Status:
    """A connection event: connected, disconnected, reconnected, warning, stopped."""

    kind: str
    message: str
    sample: int = 0
    lost_samples: int = 0


@dataclass
class PortInfo:
    device: str
    description: str
    vid: int | None
    pid: int | None
    serial_number: str | None
    guess: str | None


def list_serial_ports() -> list[PortInfo]:
    out = []
    for p in sorted(list_ports.comports(), key=lambda p: p.device):
        text = f"{p.description} {p.manufacturer or ''} {p.product or ''}"
        out.append(PortInfo(p.device, p.description, p.vid, p.pid, p.serial_number,
                            guess_device(p.vid, p.pid, text)))
    return out


def find_port(vid: int | None, pid: int | None, serial_number: str | None) -> str | None:
    """The current device path of a USB adapter, whatever its name is now."""
    for p in list_ports.comports():
        if vid is not None and (p.vid, p.pid) == (vid, pid) and (
                serial_number is None or p.serial_number == serial_number):
            return p.device
    return None


def ftdi_latency_warning(port: str, sysfs: str = "/sys") -> str | None:
    """On Linux an FTDI adapter's latency timer of 16 ms makes the trace choppy."""
    name = os.path.basename(os.path.realpath(port))
    for path in glob.glob(f"{sysfs}/bus/usb-serial/devices/{name}/latency_timer"):
        try:
            value = int(open(path).read().strip())
        except (OSError, ValueError):
            return None
        if value >= 16:
            return (f"{port}: FTDI latency timer is {value} ms; set it to 1 ms for a smooth "
                    f"trace: echo 1 | sudo tee {path}")
    return None


class BlockAssembler:
    """Decoded samples -> Blocks on the sample clock, split where samples were lost."""

    def __init__(self, spec: DeviceSpec):
        self.spec = spec
        self.next_sample = 0
        self.pending_lost = 0

    def blocks(self, dec: Decoded) -> list[Block]:
        out = []
        if dec.n == 0:
            return out
        cuts = [0, *np.flatnonzero(dec.lost_before[1:] > 0) + 1, dec.n]
        for a, b in zip(cuts, cuts[1:], strict=False):
            lost = int(dec.lost_before[a]) + (self.pending_lost if a == 0 else 0)
            self.next_sample += lost
            out.append(Block(dec.values[a:b], self.spec.fs_hz, self.spec.channels,
                             self.next_sample, lost, {"seq": int(dec.seq[b - 1])}))
            self.next_sample += b - a
        self.pending_lost = 0
        return out


class DeviceStream(ThreadedSource):
    """Reads one device on its own thread; ``get()`` hands out Blocks and Status events."""

    def __init__(self, spec: DeviceSpec, port: str, *,
                 finder: Callable[[], str | None] | None = None, max_blocks: int = 2000,
                 reconnect: bool = True):
        self.spec = spec
        self.port = port
        self.finder = finder or self._usb_finder(port)
        super().__init__(f"reader-{spec.name}", max_items=max_blocks)
        self.reconnect = reconnect
        self.assembler = BlockAssembler(spec)
        self.parser = spec.make_parser()
        self._lost_before_parser = 0  # lost packets counted by parsers of earlier links
        self.overflow_blocks = 0
        self.samples = 0
        self.lost_samples = 0
        self._serial: serial.SerialBase | None = None

    @staticmethod
    def _usb_finder(port: str) -> Callable[[], str | None]:
        info = next((p for p in list_ports.comports() if p.device == port), None)
        if info is None or info.vid is None:
            return lambda: port
        return lambda: find_port(info.vid, info.pid, info.serial_number)

    @property
    def lost_packets(self) -> int:
        """Packets the sequence counters say were lost, over every link so far."""
        return self._lost_before_parser + self.parser.stats.lost_frames

    def _interrupt(self) -> None:
        """Stop reading; never hangs (the read times out in READ_TIMEOUT_S anyway)."""
        ser = self._serial
        if ser is not None:
            try:
                ser.cancel_read()
            except Exception:  # noqa: BLE001 - closing must not fail
                pass

    # --- reader thread ---------------------------------------------------------------------
    def _put(self, item) -> None:
        while True:
            try:
                self.queue.put_nowait(item)
                return
            except queue.Full:
                try:
                    self.queue.get_nowait()
                    self.overflow_blocks += 1
                except queue.Empty:
                    pass

    def _open(self, port: str) -> serial.SerialBase:
        ser = serial.serial_for_url(port, baudrate=self.spec.baud, timeout=READ_TIMEOUT_S)
        for cmd in self.spec.init:
            ser.write(cmd)
        if self.spec.start:
            ser.write(self.spec.start)
        return ser

    def _run(self) -> None:
        lost_at: float | None = None
        attempt = 0
        port = self.port
        while not self._stop.is_set():
            try:
                self._serial = self._open(port)
            except (serial.SerialException, OSError, ValueError) as exc:
                if lost_at is None:  # never connected: report and stop
                    self._put(Status("error", f"{port}: cannot open ({exc})"))
                    return
                self._stop.wait(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)])
                attempt += 1
                port = self.finder() or port
                continue
            self._connected(port, lost_at)
            lost_at, attempt = None, 0
            error = self._read_loop()
            self._close()
            if error is None or not self.reconnect:
                break
            lost_at = time.monotonic()
            self._put(Status("disconnected", f"{port}: {error}",
                             sample=self.assembler.next_sample))
            port = self.finder() or port
        self._put(Status("stopped", f"{port}: stopped", sample=self.assembler.next_sample))

    def _connected(self, port: str, lost_at: float | None) -> None:
        warn = ftdi_latency_warning(port)
        if warn:
            self._put(Status("warning", warn))
        if lost_at is None:
            self._put(Status("connected", f"{port}: connected"))
            return
        gap = int(round((time.monotonic() - lost_at) * self.spec.fs_hz))
        self.assembler.pending_lost += gap
        self.lost_samples += gap
        self._lost_before_parser += self.parser.stats.lost_frames
        self.parser = self.spec.make_parser()  # the old one's state belongs to the old link
        self._put(Status("reconnected", f"{port}: reconnected, about {gap} samples lost",
                         sample=self.assembler.next_sample, lost_samples=gap))

    def _read_loop(self) -> str | None:
        """Read until stopped (None) or the link fails (its error text)."""
        ser = self._serial
        while not self._stop.is_set():
            try:
                data = ser.read(ser.in_waiting or 1)
            except (serial.SerialException, OSError) as exc:
                return str(exc) or "disconnected"
            if not data:
                continue
            dec = self.parser.feed(data)
            for block in self.assembler.blocks(dec):
                self.samples += block.n_samples
                self.lost_samples += block.lost_before
                self._put(block)
        return None

    def _close(self) -> None:
        ser, self._serial = self._serial, None
        if ser is None:
            return
        try:
            if self.spec.stop:
                ser.write(self.spec.stop)
        except (serial.SerialException, OSError):
            pass
        try:
            ser.close()
        except (serial.SerialException, OSError):
            pass
