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
and handed on as ``lost_before`` of the next block, never filled in. A port without a USB
identity (a pty, a built-in UART, a URL) is reopened by its path, and a path is no identity:
the kernel gives a freed pty's number to the next pty anyone opens, and a USB name to the next
adapter. So what answers there must prove from its own stream that it is the same device
(``ReconnectProof``: the same packet format, the same banner, a sample counter that
continues the old one by the time it was away, and the same rate, measured over seconds)
before any of its samples is handed on;
otherwise the stream ends with a ``lost`` status and none of them. A parser that raises
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
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import serial
from bbfeedback.drivers.devices import DeviceSpec
from bbfeedback.drivers.framing import Decoded, ParserStats
from bbfeedback.drivers.ports import PortInfo, list_serial_ports  # noqa: F401 - re-exported
from bbfeedback.drivers.source import ThreadedSource
from bbfeedback.drivers.status import Status, StatusKind
from serial.tools import list_ports

from bbfeedback.signal.blocks import Block

_GIVE_UP = "parser keeps failing"  # _read_loop's answer when reading further is pointless
_REFUSED = "another device"  # _read_loop's answer when the reopened port is not our device
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
            value = int(Path(path).read_text().strip())  # closed at once
        except (OSError, ValueError):
            return None
        if value >= 16:
            return (f"{port}: FTDI latency timer is {value} ms; set it to 1 ms for a smooth "
                    f"trace: echo 1 | sudo tee {path}")
    return None


@dataclass(frozen=True)
class Finder:
    """Where to reopen a device after a disconnect, and what makes the port found there the
    same device (``identity``, said in the "reconnected" event); None when the port is
    found by its path only, which proves nothing (the stream must: ``ReconnectProof``)."""

    find: Callable[[], str | None]
    identity: str | None

    def __call__(self) -> str | None:
        return self.find()


# --- proving a reopened port is the same device --------------------------------------------
# Bytes reach the reader late by a varying delay, never early. In each short interval of a
# link the read whose last sample is the most advanced against the reader's clock (the least
# late) is kept; two such points far apart give the device's real rate, and the last one says
# where its counter stood when. A device that kept running while away continues that counter
# by the time it was away; another device (another emulator, another board of the same kind)
# shows a counter with its own phase, or no such counter at all.
BIN_S = 0.25  # one kept point per interval of a link
EDGE_BINS = 4  # kept at each end of a link: its first and its last second
MIN_SPAN_S = 1.0  # a rate is measured only between points at least this far apart
NOMINAL_RATE_UNC = 0.05  # a rate not measured: the device's real rate may differ this much
#   (a P2 runs at 250 or 257.1 Hz by firmware)
LATE_S = 0.05  # how late the least late read of a new link may still be
EARLY_S = 0.02  # how late the last kept read of the old link may have been
DRIFT_S = 0.06  # a new link whose counter runs away from its rate by more is another device
MAX_WINDOW = 0.25  # a counter check that any counter passes more often than this is no check
PROOF_S = 0.5  # the new link is judged after its samples span this long
PROOF_FRAMES = 8  # ... and at least this many arrived
PROOF_TIMEOUT_S = 5.0  # nothing that proves it by then: not our device
# A counter that matches proves little over half a second (another board of the same kind
# at 257.1 Hz where ours ran at 250 Hz passes it about one time in nine), so before taking
# the new link its rate is measured too: the device's counter over the reader's clock
# between the least late reads of its first second and of its last, at least RATE_S
# apart (a reader late by some tens of ms at both ends is still well inside RATE_TOL).
RATE_S = 3.0
RATE_TOL = 0.02  # a rate off the device's by more (beyond what that was known to) refuses
HEAD_BYTES = 1024  # a link's first bytes, kept for the banner a device sends before data


@dataclass(frozen=True)
class Point:
    """A read that decoded samples: when it returned, the unwrapped counter of its last sample
    (counted by the parser: samples and counted losses) and that sample's counter."""

    t: float
    u: int
    seq: int


class LinkClock:
    """The device's counter against the reader's monotonic clock on one link."""

    def __init__(self, nominal_hz: float, modulo: int):
        self.nominal_hz = nominal_hz
        self.modulo = modulo
        self.frames = 0
        self.lost = 0
        self.first: Point | None = None
        self.last: Point | None = None
        self.early: dict[int, Point] = {}
        self.late: deque[tuple[int, Point]] = deque(maxlen=EDGE_BINS)

    def _lead(self, p: Point, rate_hz: float | None = None) -> float:
        return p.u - (rate_hz or self.nominal_hz) * p.t

    def add(self, t: float, dec: Decoded) -> None:
        if not dec.n:
            return
        if self.last is None:
            u = int(dec.seq[0]) - 1 - int(dec.lost_before[0])
            self.first = Point(t, int(dec.seq[0]), int(dec.seq[0]))
        else:
            u = self.last.u
        lost = int(dec.lost_before.sum())
        p = Point(t, u + dec.n + lost, int(dec.seq[-1]))
        self.frames += dec.n
        self.lost += lost
        self.last = p
        b = int((t - self.first.t) / BIN_S)
        if b < EDGE_BINS and (b not in self.early or self._lead(p) > self._lead(self.early[b])):
            self.early[b] = p
        if self.late and self.late[-1][0] == b:
            if self._lead(p) > self._lead(self.late[-1][1]):
                self.late[-1] = (b, p)
        else:
            self.late.append((b, p))

    def best(self, points: list[Point], rate_hz: float | None = None) -> Point:
        return max(points, key=lambda p: self._lead(p, rate_hz))

    def rate(self, rate_hz: float) -> tuple[float, float] | None:
        """(samples per second, over how many seconds) between the least late read of the
        link's first second and that of its last (least late: for a device running at
        about ``rate_hz``), or None before it has samples. A reader busy for a while at
        either end only moves the point to a read that was on time."""
        if self.last is None:
            return None
        a = self.best(list(self.early.values()), rate_hz)
        b = self.best([p for _, p in self.late], rate_hz)
        span = b.t - a.t
        return ((b.u - a.u) / span if span > 0 else 0.0), span

    def reference(self, before: Reference | None) -> Reference | None:
        """What a reconnect is judged against (None: this link brought no samples). A link
        too short to measure the rate keeps the last measured one."""
        if self.last is None:
            return None
        a = self.best([p for b, p in self.early.items() if b < 2])  # the first 0.5 s
        b = self.best([p for _, p in list(self.late)[-2:]])  # the last 0.5 s
        span = b.t - a.t
        if span >= MIN_SPAN_S and b.u > a.u:
            rate, unc = (b.u - a.u) / span, max(0.002, 0.01 / span)
        elif before is not None and before.rate_unc < NOMINAL_RATE_UNC:
            rate, unc = before.rate_hz, before.rate_unc
        else:
            rate, unc = self.nominal_hz, NOMINAL_RATE_UNC
        return Reference(rate, unc, b, self.last, self.modulo)


@dataclass(frozen=True)
class Reference:
    """The last link that brought samples: its rate, its least late point, its last sample."""

    rate_hz: float
    rate_unc: float  # relative
    anchor: Point
    last: Point
    modulo: int

    def due_u(self, t: float) -> float:
        """The unwrapped counter the device would send at ``t`` if it kept running."""
        return self.anchor.u + (t - self.anchor.t) * self.rate_hz


def banner_of(head: bytes) -> bytes | None:
    """The text a device sends before its data, ending in ``$$$`` (an OpenBCI board's reply
    to a reset: board, chip ID and firmware), or None."""
    end = head.find(b"$$$")
    if end < 0:
        return None
    start = end
    while start > 0 and (32 <= head[start - 1] < 127 or head[start - 1] in b"\r\n"):
        start -= 1
    return bytes(head[start:end + 3]).strip()


class _Parser(Protocol):
    """What a proof reads of a parser: its counts of bytes, and whether it has a counter."""

    stats: ParserStats


@dataclass
class Verdict:
    same: bool
    evidence: str  # what was checked (same) or what differs (not)
    gap: int = 0  # samples the device sent while away (same)


class ReconnectProof:
    """A reopened port without USB identity, on probation: its samples are held back until
    its stream shows it is the device of the last link (``judge``), or refused."""

    def __init__(self, spec: DeviceSpec, ref: Reference, banner: bytes | None, opened: float):
        self.spec = spec
        self.ref = ref
        self.banner = banner
        self.opened = opened
        self.held: list[Decoded] = []

    def _tolerance(self, away_s: float) -> tuple[float, float]:
        """How far (samples) the counter may be ahead of and behind the due one."""
        r = self.ref.rate_hz
        drift = r * self.ref.rate_unc * abs(away_s)
        return r * EARLY_S + drift + 1, r * LATE_S + drift + 1

    def judge(self, now: float, clock: LinkClock, parser: _Parser,
              head: bytes) -> Verdict | None:
        """None while the evidence is not in yet; then whether it is the same device."""
        name, m = self.spec.name, self.ref.modulo
        if not getattr(parser, "has_counter", True):
            return Verdict(False, f"the {name} stream has no sample counter to show it is the "
                           "same device; this port has no USB identity")
        if sum(self._tolerance(0.0)) > MAX_WINDOW * m:
            return Verdict(False, f"the {name} counter turns every "
                           f"{m / self.ref.rate_hz * 1000:.0f} ms: it cannot show it is the "
                           "same device; this port has no USB identity")
        if clock.first is None or clock.last is None:
            if now - self.opened >= PROOF_TIMEOUT_S:
                return Verdict(False, f"no {name} packet in {PROOF_TIMEOUT_S:g} s")
            return None
        if clock.last.t - clock.first.t < PROOF_S or clock.frames < PROOF_FRAMES:
            if now - self.opened >= PROOF_TIMEOUT_S:
                return Verdict(False, f"{clock.frames} {name} packets in {PROOF_TIMEOUT_S:g} s")
            return None
        stats = parser.stats
        if stats.discarded > stats.consumed + len(head) or clock.lost > clock.frames:
            return Verdict(False, f"mostly not {name} packets ({stats.discarded} bytes "
                           f"unreadable, {clock.frames} packets, {clock.lost} missing)")
        banner = banner_of(head)
        if self.banner is not None and banner != self.banner:
            shown = banner.decode("ascii", "replace")[-60:] if banner else "none"
            return Verdict(False, f"another banner: {shown!r}")
        verdict = self._counter(clock, banner)
        return self._rate(now, clock, verdict) if verdict.same else verdict

    def _rate(self, now: float, clock: LinkClock, verdict: Verdict) -> Verdict | None:
        """A counter that continues ours is taken once the link's rate, measured over at
        least ``RATE_S``, is the device's; None while it is not measured yet."""
        ref, name = self.ref, self.spec.name
        known = ref.rate_unc < NOMINAL_RATE_UNC  # measured on the last link
        expected = ref.rate_hz if known else self.spec.fs_hz
        rate, span = clock.rate(expected) or (0.0, 0.0)
        if span < RATE_S:
            if now - self.opened >= PROOF_TIMEOUT_S + RATE_S:
                return Verdict(False, f"its rate not measured: {clock.frames} {name} packets "
                               f"in {now - self.opened:.1f} s")
            return None
        off = rate / expected - 1
        if abs(off) > RATE_TOL + (ref.rate_unc if known else 0.0):
            return Verdict(False, f"it sends {rate:.1f} samples/s where the device sent "
                           f"{expected:.1f} ({off:+.1%} over {span:.1f} s)")
        return dataclasses.replace(verdict, evidence=f"{verdict.evidence}, "
                                   f"{rate:.1f} samples/s as before")

    def _counter(self, clock: LinkClock, banner: bytes | None) -> Verdict:
        ref, m, r = self.ref, self.ref.modulo, self.ref.rate_hz
        points = list(clock.early.values())
        p = clock.best(points)
        away = p.t - ref.anchor.t
        ahead, behind = self._tolerance(away)
        if ahead + behind > MAX_WINDOW * m:
            return Verdict(False, f"after {away:.1f} s away its counter, one turn in "
                           f"{m / r * 1000:.0f} ms, cannot show it is the same device (the "
                           f"rate is known to {ref.rate_unc:.1%}); this port has no USB "
                           "identity (it may be the same device: start a new recording)")
        due = ref.due_u(p.t)
        off = int(round((p.seq - due + m / 2) % m - m / 2))  # counter - due, nearest turn
        if not -behind <= off <= ahead:
            return Verdict(False, f"counter {p.seq} where {int(round(due)) % m} was due after "
                           f"{away:.1f} s away, {off:+d} off")
        first, later = clock.best(points[:1]), clock.best(points[1:]) if points[1:] else p
        drift = (later.u - first.u) - (later.t - first.t) * r
        if abs(drift) > r * (DRIFT_S + ref.rate_unc * (later.t - first.t)) + 2:
            return Verdict(False, f"its counter runs at another rate ({drift:+.0f} samples "
                           f"in {later.t - first.t:.2f} s)")
        # the samples sent while away: from the old link's last counter to the new link's
        # first, a whole number of turns near what the clock says
        est = due + off - (p.u - clock.first.u) - ref.last.u
        d = (clock.first.seq - ref.last.seq) % m
        steps = d + m * int(round((est - d) / m))
        said = f"same {self.spec.name} packet format"
        if banner is not None:
            said += " and banner"
        said += (f", counter {p.seq} continues the last one after {away:.1f} s away "
                 f"({off:+d} of -{behind:.0f}..+{ahead:.0f} allowed)")
        return Verdict(True, said, max(steps - 1, 0))


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
        """``finder``: looks the device up again after a disconnect by an identity of its own
        (as USB ids do), so what it finds is believed; without one, a USB adapter is found
        by its ids and any other port by its path, which must then prove itself."""
        self.spec = spec
        self.port = port
        self.finder = (Finder(finder, "found again by its finder") if finder
                       else self._usb_finder(port))
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
        self._port_now = port
        self._clock = LinkClock(spec.fs_hz, spec.seq_modulo)  # this link's counter and time
        self._reference: Reference | None = None  # the last link that brought samples
        self._banner: bytes | None = None  # what the device said before its data, first link
        self._head = bytearray()  # this link's first bytes (up to its first packet)
        self._proof: ReconnectProof | None = None  # a reopened port on probation

    @staticmethod
    def _usb_finder(port: str) -> Finder:
        """Where to reopen the device after a disconnect. A USB adapter is found by its
        VID, PID and serial number wherever it is now, and is None while it is away: its
        old path may by then belong to another adapter. Other ports (a built-in UART, a
        pty, a URL) carry no identity and are reopened by path: no identity at all (the
        stream then proves it, ``ReconnectProof``)."""
        info = next((p for p in list_ports.comports() if p.device == port), None)
        if info is None or info.vid is None:
            return Finder(lambda: port, None)
        ids = f"{info.vid:04x}:{info.pid or 0:04x}"
        where = None if info.serial_number else getattr(info, "location", None)
        if info.serial_number:
            identity = f"same USB serial {info.serial_number} ({ids})"
        elif where is not None:
            identity = f"same USB {ids} in socket {where}"
        else:
            identity = f"the only USB {ids} plugged in"
        return Finder(lambda: find_port(info.vid, info.pid, info.serial_number, where),
                      identity)

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
        self._put(Status(StatusKind.WARNING, f"{self.spec.name}: consumer too slow: {n} samples "
                         "dropped", sample=sample, lost_samples=n))

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
                    self._put(Status(StatusKind.ERROR, f"{port}: cannot open ({_reason(exc)})"))
                    return
                self._stop.wait(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)])
                attempt += 1
                port = self.finder()
                continue
            self._connected(port, lost_at)
            attempt = 0
            error = self._read_loop()
            self._close()
            if error is _REFUSED:
                break
            if self._proof is not None:  # gone again before it proved itself: still away
                self._proof = None
                self.parser = self.spec.make_parser()  # nothing of that link counts
                if error is None or error is _GIVE_UP or not self.reconnect:
                    break
                port = self.finder()
                continue
            lost_at = None
            if error is None or error is _GIVE_UP or not self.reconnect:
                break
            lost_at = self._heard_at  # what the device sent after its last byte is lost too
            self._reference = self._clock.reference(self._reference) or self._reference
            self._put(Status(StatusKind.DISCONNECTED, f"{port}: {error}",
                             sample=self.assembler.next_sample))
            port = self.finder()
        if self._overflow_run:  # dropped at the very end: no later block will carry them
            self._overflow_warning(self.assembler.next_sample)
        self._put(Status(StatusKind.STOPPED, f"{port or self.port}: stopped",
                         sample=self.assembler.next_sample))

    def _connected(self, port: str, lost_at: float | None) -> None:
        warn = ftdi_latency_warning(port)
        if warn:
            self._put(Status(StatusKind.WARNING, warn))
        self._port_now = port
        self._clock = LinkClock(self.spec.fs_hz, self.spec.seq_modulo)
        self._head = bytearray()
        if lost_at is None:
            self._put(Status(StatusKind.CONNECTED, f"{port}: connected"))
            return
        self._lost_before_parser += self.parser.stats.lost_frames
        self.parser = self.spec.make_parser()  # the old one's state belongs to the old link
        self._last_seq = self._resync_seq = None  # the device restarts its counter or not
        if self.finder.identity is None and self._reference is not None:
            # found by its path only: its samples wait until it proves it is our device
            self._proof = ReconnectProof(self.spec, self._reference, self._banner,
                                         time.monotonic())
            return
        gap = int(round((time.monotonic() - lost_at) * self.spec.fs_hz))
        self.assembler.pending_lost += gap  # counted in lost_samples when a block carries it
        how = self.finder.identity or "nothing received before to compare it with"
        self._put(Status(StatusKind.RECONNECTED, f"{port}: reconnected: {how}; about {gap} samples "
                         "lost", sample=self.assembler.next_sample, lost_samples=gap))

    def _read_loop(self) -> str | None:
        """Read until stopped (None), the link fails (its error text), the parser keeps
        failing (``_GIVE_UP``) or the port proves to be another device (``_REFUSED``)."""
        ser = self._serial
        failures = 0
        while not self._stop.is_set():
            try:
                data = ser.read(ser.in_waiting or 1)
            except (serial.SerialException, OSError) as exc:
                return str(exc) or "disconnected"
            now = time.monotonic()
            if not data:
                self.empty_reads += 1
                if self._proof is not None and self._judge(now):
                    return _REFUSED
                continue
            self._heard_at = now
            if self._clock.frames == 0 and len(self._head) < HEAD_BYTES:
                self._head += data[:HEAD_BYTES - len(self._head)]
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
                if self._clock.frames == 0 and self._reference is None:
                    self._banner = banner_of(bytes(self._head))  # the first link's
                self._clock.add(now, dec)
            if self._proof is not None:
                if dec.n:
                    self._proof.held.append(dec)
                if self._judge(now):
                    return _REFUSED
                continue
            for block in self.assembler.blocks(dec):
                self._deliver(block)
        return None

    def _judge(self, now: float) -> bool:
        """Weigh the evidence of a port on probation: True when it is another device (said
        with a ``lost`` status: its samples are dropped, never handed on). When it proves
        to be ours, "reconnected" says what was checked and the held samples follow, after
        the gap its counter shows."""
        proof = self._proof
        verdict = proof.judge(now, self._clock, self.parser, bytes(self._head))
        if verdict is None:
            return False
        self._proof = None
        port = self._port_now
        if not verdict.same:
            self.parser = self.spec.make_parser()  # its losses are not ours
            self._put(Status(StatusKind.LOST, f"{port}: now answers as another device "
                             f"({verdict.evidence}); device lost",
                             sample=self.assembler.next_sample))
            return True
        self.assembler.pending_lost += verdict.gap
        self._put(Status(StatusKind.RECONNECTED, f"{port}: reconnected: {verdict.evidence}; "
                         f"{verdict.gap} samples lost", sample=self.assembler.next_sample,
                         lost_samples=verdict.gap))
        for dec in proof.held:
            for block in self.assembler.blocks(dec):
                self._deliver(block)
        return False

    def _parser_failed(self, exc: Exception, failures: int) -> bool:
        """Replace a parser that raised (its state is suspect) and say so; True to give up."""
        self.parser_failures += 1
        self._lost_before_parser += self.parser.stats.lost_frames
        self.parser = self.spec.make_parser()
        if self._last_seq is not None and self.parser.has_counter:
            self._resync_seq = self._last_seq
        at = self.assembler.next_sample
        if failures >= MAX_PARSER_FAILURES:
            self._put(Status(StatusKind.ERROR, f"{self.spec.name}: parser failed {failures} "
                             f"times in a row ({exc!r}); stopped reading", sample=at))
            return True
        self._put(Status(StatusKind.WARNING, f"{self.spec.name}: parser failed ({exc!r}); "
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
