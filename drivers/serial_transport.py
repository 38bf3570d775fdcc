"""Serial transport: a reader thread per device, a bounded queue, reconnection with back-off.

The reader only reads and feeds the parser (no parsing here, no I/O in parsers). Blocks go to
a bounded queue without ever waiting for the consumer. If the consumer falls behind by more
than the queue holds, the *new* block is dropped, never an older one: its samples (and any
loss it carried) become ``lost_before`` of the next block that finds room, on the same sample
clock, they are counted (``overflow_blocks``, ``overflow_samples``) and a warning status says
so once the queue has room again. Status events are never dropped (see ``ThreadedSource``).

A lost connection is reported with the sample index, everything received so far stays
delivered, the port is looked up again (by VID/PID/serial number when known: port names
change on replug) and reading resumes; the gap is estimated from the time the device was away
and handed on as ``lost_before`` of the next block, never filled in. A parser that raises
(a bug, not bad input: parsers resynchronise on any bytes) is replaced by a fresh one, with a
warning; the samples lost meanwhile are counted from the device's sequence numbers.

Counters: ``samples`` delivered, ``lost_samples`` = the ``lost_before`` of delivered blocks,
so ``samples + lost_samples`` is the end of the last delivered block on the sample clock.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import time
from collections.abc import Callable

import numpy as np
import serial
from bbfeedback.drivers.devices import DeviceSpec
from bbfeedback.drivers.framing import Decoded
from bbfeedback.drivers.ports import PortInfo, list_serial_ports  # noqa: F401 - re-exported
from bbfeedback.drivers.source import ThreadedSource
from bbfeedback.drivers.status import Status
from serial.tools import list_ports

from bbfeedback.signal.blocks import Block

_GIVE_UP = "parser keeps failing"  # _read_loop's answer when reading further is pointless
BACKOFF_S = (0.1, 0.2, 0.5, 1.0, 2.0)
READ_TIMEOUT_S = 0.02
MAX_PARSER_FAILURES = 5  # in a row, without a decoded sample between: give up the device


def find_port(vid: int | None, pid: int | None, serial_number: str | None,
              location: str | None = None) -> str | None:
    """The current device path of a USB adapter, whatever its name is now. It is known by
    VID, PID and serial number; an adapter without a serial number (CH340 clones) by VID, PID
    and the USB socket it is in (``location``), or, where that is unknown, only while it is
    the one adapter of its kind plugged in: never a twin in its place."""
    if vid is None:
        return None
    same = [p for p in list_ports.comports() if (p.vid, p.pid) == (vid, pid)]
    if serial_number is not None:
        return next((p.device for p in same if p.serial_number == serial_number), None)
    if location is not None:
        return next((p.device for p in same if getattr(p, "location", None) == location),
                    None)
    return same[0].device if len(same) == 1 else None


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
        self.overflow_blocks = 0  # blocks dropped because the queue was full
        self.overflow_samples = 0  # their samples
        self.parser_failures = 0
        self.empty_reads = 0  # reads that timed out with nothing: the reader had caught up
        self.samples = 0  # delivered
        self.lost_samples = 0  # lost_before of delivered blocks
        self._unreported = 0  # lost samples the next delivered block must carry
        self._overflow_run = 0  # samples dropped since the last overflow warning
        self._last_seq: int | None = None  # device counter of the last decoded sample
        self._resync_seq: int | None = None  # last counter before a parser was replaced
        self._serial: serial.SerialBase | None = None
        self._heard_at = time.monotonic()  # the last byte from the device (the gap's start)

    @staticmethod
    def _usb_finder(port: str) -> Callable[[], str | None]:
        """Where to reopen the device after a disconnect. A USB adapter is found by its
        VID, PID and serial number wherever it is now, and is None while it is away: its
        old path may by then belong to another adapter. Other ports (a built-in UART, a
        pty, a URL) carry no identity and are reopened by path."""
        info = next((p for p in list_ports.comports() if p.device == port), None)
        if info is None or info.vid is None:
            return lambda: port
        where = None if info.serial_number else getattr(info, "location", None)
        return lambda: find_port(info.vid, info.pid, info.serial_number, where)

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
    def _put(self, item: Status) -> None:
        self._put_status(item)

    def _deliver(self, block: Block) -> None:
        """Hand a block on, or drop it if the consumer is behind: never silently. A dropped
        block's samples, and the loss it carried, go to the next block that gets through."""
        if self._unreported:
            block = dataclasses.replace(block, lost_before=block.lost_before + self._unreported)
        if not self._offer_block(block):
            self.overflow_blocks += 1
            self.overflow_samples += block.n_samples
            self._overflow_run += block.n_samples
            self._unreported = block.lost_before + block.n_samples
            return
        self._unreported = 0
        self.samples += block.n_samples
        self.lost_samples += block.lost_before
        if self._overflow_run:
            self._overflow_warning(block.start_sample)

    def _overflow_warning(self, sample: int) -> None:
        n, self._overflow_run = self._overflow_run, 0
        self._put(Status("warning", f"{self.spec.name}: consumer too slow: {n} samples dropped",
                         sample=sample, lost_samples=n))

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
        port: str | None = self.port
        while not self._stop.is_set():
            try:
                if port is None:  # the adapter is not plugged in: never open a stranger
                    raise serial.SerialException("device not present")
                self._serial = self._open(port)
            except (serial.SerialException, OSError, ValueError) as exc:
                if lost_at is None:  # never connected: report and stop
                    self._put(Status("error", f"{port}: cannot open ({_reason(exc)})"))
                    return
                self._stop.wait(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)])
                attempt += 1
                port = self.finder()
                continue
            self._connected(port, lost_at)
            lost_at, attempt = None, 0
            error = self._read_loop()
            self._close()
            if error is None or error is _GIVE_UP or not self.reconnect:
                break
            lost_at = self._heard_at  # what the device sent after its last byte is lost too
            self._put(Status("disconnected", f"{port}: {error}",
                             sample=self.assembler.next_sample))
            port = self.finder()
        if self._overflow_run:  # dropped at the very end: no later block will carry them
            self._overflow_warning(self.assembler.next_sample)
        self._put(Status("stopped", f"{port or self.port}: stopped",
                         sample=self.assembler.next_sample))

    def _connected(self, port: str, lost_at: float | None) -> None:
        warn = ftdi_latency_warning(port)
        if warn:
            self._put(Status("warning", warn))
        if lost_at is None:
            self._put(Status("connected", f"{port}: connected"))
            return
        gap = int(round((time.monotonic() - lost_at) * self.spec.fs_hz))
        self.assembler.pending_lost += gap  # counted in lost_samples when a block carries it
        self._lost_before_parser += self.parser.stats.lost_frames
        self.parser = self.spec.make_parser()  # the old one's state belongs to the old link
        self._last_seq = self._resync_seq = None  # the device restarts its counter or not
        self._put(Status("reconnected", f"{port}: reconnected, about {gap} samples lost",
                         sample=self.assembler.next_sample, lost_samples=gap))

    def _read_loop(self) -> str | None:
        """Read until stopped (None), the link fails (its error text) or the parser keeps
        failing (``_GIVE_UP``)."""
        ser = self._serial
        failures = 0
        while not self._stop.is_set():
            try:
                data = ser.read(ser.in_waiting or 1)
            except (serial.SerialException, OSError) as exc:
                return str(exc) or "disconnected"
            if not data:
                self.empty_reads += 1
                continue
            self._heard_at = time.monotonic()
            try:
                dec = self.parser.feed(data)
            except Exception as exc:  # noqa: BLE001 - a parser bug must not end the stream
                failures += 1
                if self._parser_failed(exc, failures):
                    return _GIVE_UP
                continue
            if dec.n:
                failures = 0
                dec = self._after_resync(dec)
                self._last_seq = int(dec.seq[-1])
            for block in self.assembler.blocks(dec):
                self._deliver(block)
        return None

    def _parser_failed(self, exc: Exception, failures: int) -> bool:
        """Replace a parser that raised (its state is suspect) and say so; True to give up."""
        self.parser_failures += 1
        self._lost_before_parser += self.parser.stats.lost_frames
        self.parser = self.spec.make_parser()
        if self._last_seq is not None and self.parser.has_counter:
            self._resync_seq = self._last_seq
        at = self.assembler.next_sample
        if failures >= MAX_PARSER_FAILURES:
            self._put(Status("error", f"{self.spec.name}: parser failed {failures} times in a "
                             f"row ({exc!r}); stopped reading", sample=at))
            return True
        self._put(Status("warning", f"{self.spec.name}: parser failed ({exc!r}); "
                         "resynchronising", sample=at))
        return False

    def _after_resync(self, dec: Decoded) -> Decoded:
        """The first samples of a replacement parser: add the packets its predecessor lost
        (from the device's counter) to ``lost_before`` of the first one."""
        if self._resync_seq is None:
            return dec
        missed = (int(dec.seq[0]) - self._resync_seq - 1) % self.spec.seq_modulo
        self._resync_seq = None
        if not missed:
            return dec
        self._lost_before_parser += missed
        lost = dec.lost_before.copy()
        lost[0] += missed
        return dataclasses.replace(dec, lost_before=lost)

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


def _reason(exc: Exception) -> str:
    """Why a port did not open, in a few words (pyserial nests the OS error in its text)."""
    code = getattr(exc, "errno", None)
    if isinstance(code, int) and code > 0:
        return os.strerror(code).lower()
    return str(exc).split(": [Errno")[0].strip() or type(exc).__name__
