"""Byte-exact device emulators on a pseudo-terminal, for tests and people without hardware.

The emulator turns a simulated session (any protocol, any patient behaviour) into the exact
bytes the device would send, on a pty (``os.openpty``), in real time or faster. ``garbage``
is the fraction of packets followed by a burst of line noise, ``drop`` the fraction of packets
never sent; ``unplug_after_s`` closes the pty like a pulled cable, and ``replug_after_s``
later plugs it back in (a new pty, as a replugged adapter gets a new name: ``link`` is a
symbolic link kept pointing at the current one, like /dev/serial/by-id); ``stall_after_s`` makes
the device fall silent with the port still there (switched off behind its USB adapter). Cyton
and BITalino wait for their start command, as the real boards do. ``report()`` says what was
sent, and when.
"""

from __future__ import annotations

import os
import select
import threading
import time
import tty
from dataclasses import dataclass, field

import numpy as np
from bbfeedback.drivers.devices import DeviceSpec


@dataclass
class Packets:
    """What the emulator sends: the packets, which were dropped, where junk was inserted."""

    data: list[bytes]
    counts: np.ndarray  # device counts per packet (samples, channels)
    dropped: np.ndarray  # bool per packet
    junk: dict[int, bytes] = field(default_factory=dict)  # packet index -> junk after it

    def stream(self) -> bytes:
        return b"".join(self.chunk(0, len(self.data)))

    def chunk(self, a: int, b: int) -> list[bytes]:
        out = []
        for i in range(a, b):
            if not self.dropped[i]:
                out.append(self.data[i])
            if i in self.junk:
                out.append(self.junk[i])
        return out


def make_packets(spec: DeviceSpec, values: np.ndarray, garbage: float = 0.0,
                 drop: float = 0.0, seed: int = 0) -> Packets:
    """Device packets for a physical signal (samples, channels)."""
    rng = np.random.default_rng(seed)
    counts = spec.to_counts(values)
    data = spec.encode(counts, 0)
    n = len(data)
    dropped = rng.random(n) < drop
    junk = {}
    for i in np.flatnonzero(rng.random(n) < garbage):
        junk[int(i)] = rng.integers(0, 256, int(rng.integers(1, 24)), dtype=np.uint8).tobytes()
    return Packets(data, counts, dropped, junk)


class PtyEmulator:
    """Streams packets to a pty; ``port`` is the path a serial reader opens."""

    def __init__(self, spec: DeviceSpec, packets: Packets, speed: float = 1.0,
                 unplug_after_s: float | None = None, wait_for_start: bool | None = None,
                 wait_for_reader: bool = False, replug_after_s: float | None = None,
                 stall_after_s: float | None = None, link: str | None = None):
        self.spec = spec
        self.packets = packets
        self.speed = speed
        self.unplug_after_s = unplug_after_s
        self.replug_after_s = replug_after_s
        self.stall_after_s = stall_after_s
        self.link = link
        self.events: dict[str, float] = {}  # unplugged, replugged, stalled: monotonic time
        self.skipped: list[tuple[int, int]] = []  # packets due while unplugged: never sent
        self.wait_for_start = bool(spec.start) if wait_for_start is None else wait_for_start
        # a device without a start command starts when a reader opens the port (as a board
        # powered by the USB cable does), so the patient is not ahead of the session
        self.wait_for_reader = wait_for_reader and not self.wait_for_start
        self.master, slave = os.openpty()
        os.set_blocking(self.master, False)  # writes never block for good (``_write``)
        tty.setraw(slave)
        self.port = os.ttyname(slave)
        self._slave = slave
        self._point_link()
        self.sent = 0  # packets handed to the pty (dropped ones included)
        self.sent_at: list[tuple[int, float]] = []  # (packet index, monotonic time)
        self.done = threading.Event()
        self.reader_gone = False  # the reader closed the port: nothing more to send
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="emulator")

    def start(self) -> PtyEmulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2.0)
        self._close()

    def _close(self) -> None:
        if self._link_ours and os.path.realpath(self.link) == self.port:
            try:  # the device is gone: so is its stable name. Before the pty closes: once
                os.unlink(self.link)  # closed, its number (this path) may be another's pty
            except FileNotFoundError:
                pass
        self._link_ours = False  # never again: the name may be another device's by then
        for fd in (self.master, self._slave):
            if fd < 0:
                continue
            try:
                os.close(fd)
            except OSError:
                pass
        self.master = self._slave = -1  # never closed twice (the number may be another's by then)

    def _point_link(self) -> None:
        self._link_ours = bool(self.link)  # the link is this device's until it is unplugged
        if self.link:
            tmp = f"{self.link}.{os.getpid()}.new"
            os.symlink(self.port, tmp)
            os.replace(tmp, self.link)  # at once: a reader never finds it half made

    def _replug(self) -> bool:
        """The cable back in after ``replug_after_s``: a new pty (a new name, the link follows)
        and, as after power-up, the device starts when a reader is there. False if stopped."""
        if self._stop.wait(self.replug_after_s / self.speed):
            return False
        self.master, slave = os.openpty()
        os.set_blocking(self.master, False)
        tty.setraw(slave)
        self.port, self._slave = os.ttyname(slave), slave
        self._point_link()
        if self.wait_for_start:
            self._await_start()
        else:
            self._await_reader()
        self.events["replugged"] = time.monotonic()
        return not self._stop.is_set()

    def _stall(self) -> None:
        """Silent with the port still open, until stopped or the reader has gone."""
        self.events["stalled"] = time.monotonic()
        while not self._stop.is_set() and not self.reader_gone:
            self._commands(0.05)

    def report(self) -> dict:
        """What was sent: packets on the device's clock (dropped ones and those due while
        unplugged included), how many of them went out (``delivered``), noise bursts, the
        events, and ``timeline``: [packets so far, monotonic time], a point every 10 ms."""
        sent = self.sent
        unsent = np.zeros(len(self.packets.data), dtype=bool)
        for a, b in self.skipped:
            unsent[a:b] = True
        unsent |= self.packets.dropped
        timeline: list[list] = []  # exact points, thinned: at time t, so many packets sent
        prev = None
        for k, stamp in self.sent_at:
            if prev is not None and k != prev[0] + 1 and timeline[-1] != [prev[0] + 1, prev[1]]:
                timeline.append([prev[0] + 1, prev[1]])  # the last point before a jump
            if not timeline or stamp - timeline[-1][1] >= 0.01:
                timeline.append([k + 1, stamp])
            prev = (k, stamp)
        if prev is not None and timeline[-1] != [prev[0] + 1, prev[1]]:
            timeline.append([prev[0] + 1, prev[1]])
        return {"device": self.spec.name, "fs_hz": self.spec.fs_hz, "speed": self.speed,
                "packets": sent, "delivered": int((~unsent[:sent]).sum()),
                "noise": sum(1 for k in self.packets.junk if k < sent and not unsent[k]),
                "skipped": [list(x) for x in self.skipped], "events": self.events,
                "reader_gone": self.reader_gone, "timeline": timeline}

    def _drop_slave(self) -> None:
        """Close our own copy of the port, so the master reads as hung up (EIO) whenever no
        reader holds it open: that is how a reader's arrival and departure show."""
        if self._slave >= 0:
            os.close(self._slave)
            self._slave = -1

    def _await_reader(self) -> None:
        """Until someone opens the port: with no one at the other end, the master side
        reads as hung up (EIO); once a reader holds it open, it has nothing to read."""
        self._drop_slave()
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if not ready:
                return
            try:
                os.read(self.master, 256)  # a reader's commands: it is there
                return
            except OSError:
                self._stop.wait(0.02)

    def _write(self, data: bytes) -> int:
        """``data`` to the port as there is room: the bytes written, all of them unless
        stopped, or the reader gone, first. A port whose other end is held open but not
        read fills up: a blocking write would hang the device for good, deaf to Ctrl-C."""
        done = 0
        while done < len(data):
            if self._stop.is_set() or self.reader_gone:
                break
            try:
                done += os.write(self.master, data[done:])
            except BlockingIOError:
                self._commands(0.02)  # waits a little; a reader gone shows here (EIO)
        return done

    def _commands(self, timeout: float) -> bytes:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return b""
        try:
            return os.read(self.master, 256)
        except BlockingIOError:
            return b""
        except OSError:  # hung up: with our copy closed, the reader has closed the port
            self.reader_gone = self._slave < 0
            return b""

    def _await_start(self) -> None:
        from bbfeedback.drivers import openbci_cyton

        while not self._stop.is_set():
            got = self._commands(0.05)
            if self.spec.name == "cyton" and openbci_cyton.RESET in got:
                self._write(openbci_cyton.BANNER)
            if self.spec.start and self.spec.start in got:
                self._drop_slave()  # a reader is there: from now on its leaving shows
                return

    def _run(self) -> None:
        if self.wait_for_start:
            self._await_start()
        elif self.wait_for_reader:
            self._await_reader()
        t0 = time.monotonic()
        period = 1.0 / (self.spec.fs_hz * self.speed)
        n = len(self.packets.data)
        i = 0
        try:
            while i < n and not self._stop.is_set():
                now = time.monotonic() - t0
                if (self.unplug_after_s is not None and "unplugged" not in self.events
                        and now >= self.unplug_after_s / self.speed):
                    self.events["unplugged"] = time.monotonic()
                    self._close()  # the cable is pulled: the reader sees the port vanish
                    if self.replug_after_s is None or not self._replug():
                        break
                    due = min(n, int((time.monotonic() - t0) / period))
                    self.skipped.append((i, due))  # sent by the device to no one
                    i = self.sent = due
                    continue
                if self.stall_after_s is not None and now >= self.stall_after_s / self.speed:
                    self._stall()
                    break
                due = min(n, int(now / period) + 1)
                if due > i:
                    parts = list(self.packets.chunk(i, due))
                    written = self._write(b"".join(parts))
                    if written < sum(len(p) for p in parts):  # stopped, or the reader left
                        begun = np.cumsum([0, *map(len, parts[:-1])]) < written
                        self.sent = i + int(begun.sum())  # a packet begun counts as sent
                        break
                    stamp = time.monotonic()
                    self.sent_at.extend((k, stamp) for k in range(i, due))
                    i = due
                    self.sent = i
                    continue
                self._commands(min(period, 0.002))  # keep the command channel drained
                if self.reader_gone:
                    break
        except (OSError, ValueError):  # the port closed under us (stop)
            pass
        finally:
            self.done.set()
            if self.unplug_after_s is not None and "replugged" not in self.events:
                self._close()  # pulled for good: the reader sees the port vanish
