"""Issue 23, item 1: a port without a USB identity is reopened by its path after an unplug,
and a path is no identity (the kernel gives a freed pty's number to the next pty anyone opens;
a link such as /dev/serial/by-id may point at another adapter). What answers there must prove
from its own stream that it is the same device before any of its samples is handed on:
otherwise the stream ends ``lost`` (``record``: "device lost", exit status 3) with none of them.

The device here is known by a path that is a symbolic link (as the emulator's ``--link``):
after the unplug the test points it at whatever should answer next. Nothing sleeps and then
asserts: tests wait for a status, with generous bounds, and every emulator and process they
start is stopped and reaped in ``finally``.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import threading
import time
import tty
from pathlib import Path

import numpy as np
import pytest
from bbfeedback.drivers import openeeg_p2
from bbfeedback.drivers.devices import make_device
from bbfeedback.drivers.emulator import PtyEmulator, make_packets
from bbfeedback.drivers.serial_transport import DeviceStream, Status
from conftest import collect

from bbfeedback.signal.blocks import Block

BB = [sys.executable, "-m", "bbfeedback"]
FOREIGN_COUNT = 1000  # the foreign P2 sends this count on every channel: never in our signal


def _values(spec, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.column_stack([40 * rng.standard_normal(n) if c.kind == "emg"
                            else 20 + rng.random(n) for c in spec.channels])


def kinds(statuses: list[Status]) -> list[str]:
    return [s.kind for s in statuses]


class TimedP2:
    """A P2 board on a new pty behind ``link``, whose packet counter runs with the wall
    clock from (``k0``, ``t0``), a packet ``k0`` sent at monotonic time ``t0``, plus ``shift``.
    With ``shift`` 0 and our device's last packet as (k0, t0) it is our device back on the same
    name, having kept counting while away; with another shift it is another board of the same
    kind whose counter has its own phase. ``counts``: what it sends (by packet index, or a
    constant)."""

    def __init__(self, link: str, k0: int, t0: float, shift: int, counts,
                 fs_hz: float = 250.0):
        self.k0, self.t0, self.shift, self.counts, self.fs_hz = k0, t0, shift, counts, fs_hz
        self.master, slave = os.openpty()
        os.set_blocking(self.master, False)
        tty.setraw(slave)
        self.port = os.ttyname(slave)
        os.close(slave)  # the master now reads as hung up (EIO) until a reader opens the port
        tmp = f"{link}.new"
        os.symlink(self.port, tmp)
        os.replace(tmp, link)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="timed-p2")
        self._thread.start()

    def _packet(self, k: int) -> bytes:
        row = self.counts(k) if callable(self.counts) else self.counts
        return openeeg_p2.encode(np.asarray([row]), (k + self.shift) % 256)[0]

    def _reader_there(self) -> bool:
        """Whether a reader holds the port open (else the master reads as hung up). A board
        sends to no one while nobody listens: nothing is kept for later."""
        try:
            os.read(self.master, 256)  # commands, if any: read and forget
        except BlockingIOError:
            return True
        except OSError:
            return False
        return True

    def _run(self) -> None:
        k = self.k0 + int((time.monotonic() - self.t0) * self.fs_hz)
        while not self._stop.wait(0.004):
            due = self.k0 + int((time.monotonic() - self.t0) * self.fs_hz)
            data = b"".join(self._packet(i) for i in range(k + 1, due + 1))
            k = due
            if not self._reader_there():
                continue
            try:
                os.write(self.master, data)
            except OSError:
                pass

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        try:
            os.close(self.master)
        except OSError:
            pass


def _unplugged_p2(tmp_path: Path, seconds: float = 3.0):
    """Our P2 (a known signal) on a pty behind a link, read by a stream opened on the link;
    returns them once the stream has said the cable was pulled (after ``seconds``)."""
    spec = make_device("p2")
    values = _values(spec, int(spec.fs_hz * 60))
    packets = make_packets(spec, values)
    link = str(tmp_path / "ttyACM-link")
    ours = PtyEmulator(spec, packets, unplug_after_s=seconds, link=link).start()
    stream = DeviceStream(spec, link).start()
    return spec, packets, link, ours, stream


def _until_disconnected(stream: DeviceStream) -> tuple[list[Block], Status]:
    blocks, statuses = collect(stream, lambda b, s: "disconnected" in kinds(s), timeout=30)
    assert "disconnected" in kinds(statuses), statuses
    assert not {"lost", "error"} & set(kinds(statuses)), statuses
    return blocks, next(s for s in statuses if s.kind == "disconnected")


@pytest.mark.parametrize("shift", [0, 128], ids=["same-device", "other-p2-same-rate"])
def test_a_p2_on_the_old_name_is_taken_only_if_its_counter_continues(shift, tmp_path):
    """The same kind of board, the same rate, the same packet format on the freed name: only
    the counter's phase tells them apart. Ours (shift 0) resumes exactly on the sample clock;
    another (shift 128, half a turn away) ends the stream ``lost`` with none of its samples."""
    spec, packets, link, ours, stream = _unplugged_p2(tmp_path)
    back = None
    try:
        before, gone = _until_disconnected(stream)
        k_last, t_last = ours.sent_at[-1]
        if shift == 0:  # our device: its own signal, going on while it was away
            counts = lambda k: packets.counts[k]  # noqa: E731
        else:
            counts = [FOREIGN_COUNT] * 2
        back = TimedP2(link, k_last, t_last, shift, counts)
        if shift == 0:
            after, statuses = collect(stream, lambda b, s: sum(x.n_samples for x in b) > 500,
                                      timeout=30)
        else:
            after, statuses = collect(stream, lambda b, s: "lost" in kinds(s), timeout=30)
    finally:
        stream.stop()
        ours.stop()
        if back:
            back.stop()
    if shift == 0:
        again = next((s for s in statuses if s.kind == "reconnected"), None)
        assert again is not None, [s.message for s in statuses]
        assert "same p2 packet format" in again.message and "counter" in again.message
        assert "lost" not in kinds(statuses)
        blocks = before + after
        # every sample at its place on the device's clock: the gap is the counter's, exact
        expected = make_device("p2").make_parser().to_physical(packets.counts)
        first = int(np.flatnonzero(np.all(np.isclose(expected, blocks[0].data[0]),
                                          axis=1))[0]) - blocks[0].start_sample
        for b in blocks:
            assert np.allclose(b.data, expected[first + b.start_sample:first + b.end_sample])
        assert after[0].start_sample == gone.sample + again.lost_samples  # the gap, counted
        assert after[0].lost_before == again.lost_samples
    else:
        lost = next(s for s in statuses if s.kind == "lost")
        assert "another device" in lost.message and "counter" in lost.message, lost.message
        assert "reconnected" not in kinds(statuses)
        foreign = openeeg_p2.P2Parser(2).to_physical(np.array([FOREIGN_COUNT]))[0]
        for b in before + after:
            assert b.end_sample <= gone.sample  # nothing after the unplug
            assert not np.isclose(b.data, foreign).all(axis=1).any()


def test_another_kind_of_device_on_the_old_name_is_refused(tmp_path):
    """An ASCII board where the P2 was: not one P2 packet, so never reconnected."""
    spec, _, link, ours, stream = _unplugged_p2(tmp_path)
    other = None
    try:
        before, gone = _until_disconnected(stream)
        ascii_spec = make_device("ascii")
        other = PtyEmulator(ascii_spec, make_packets(ascii_spec, _values(ascii_spec, 30000)),
                            link=link).start()
        after, statuses = collect(stream, lambda b, s: "lost" in kinds(s), timeout=30)
    finally:
        stream.stop()
        ours.stop()
        if other:
            other.stop()
    lost = next(s for s in statuses if s.kind == "lost")
    assert "another device" in lost.message and "no p2 packet" in lost.message, lost.message
    assert "reconnected" not in kinds(statuses) and not after


def test_a_device_whose_counter_cannot_tell_is_refused_on_a_path(tmp_path):
    """BITalino's counter has 4 bits (a turn every 16 ms at 1000 Hz): it cannot show that the
    device on the old name is ours, so even our own board coming back is refused there (it
    needs a USB identity, or a new recording)."""
    spec = make_device("bitalino")
    link = str(tmp_path / "rfcomm-link")
    values = _values(spec, int(spec.fs_hz * 30))
    ours = PtyEmulator(spec, make_packets(spec, values), unplug_after_s=2.0,
                       replug_after_s=1.0, link=link).start()
    stream = DeviceStream(spec, link).start()
    try:
        _until_disconnected(stream)
        after, statuses = collect(stream, lambda b, s: "lost" in kinds(s), timeout=30)
    finally:
        stream.stop()
        ours.stop()
    lost = next(s for s in statuses if s.kind == "lost")
    assert "cannot show it is the same device" in lost.message, lost.message
    assert "reconnected" not in kinds(statuses) and not after


@pytest.mark.parametrize("device", ["p2", "cyton", "ascii"])
def test_the_same_emulated_device_replugged_on_its_link_resumes(device, tmp_path):
    """The emulator's own replug (a new pty behind the same link, its counter going on with
    the time away; the Cyton again answering its reset with the same banner): reconnected,
    saying what was checked, and the samples go on."""
    spec = make_device(device)
    link = str(tmp_path / f"{device}-link")
    values = _values(spec, int(spec.fs_hz * 30))
    emu = PtyEmulator(spec, make_packets(spec, values), unplug_after_s=2.5,
                      replug_after_s=1.0, link=link).start()
    stream = DeviceStream(spec, link).start()
    try:
        _, gone = _until_disconnected(stream)
        after, statuses = collect(stream, lambda b, s: sum(x.n_samples for x in b)
                                  > spec.fs_hz, timeout=30)
    finally:
        stream.stop()
        emu.stop()
    assert "lost" not in kinds(statuses), statuses
    again = next(s for s in statuses if s.kind == "reconnected")
    assert f"same {device} packet format" in again.message, again.message
    if device == "cyton":
        assert "banner" in again.message
    skipped = emu.skipped[0][1] - emu.skipped[0][0]  # sent to no one while unplugged
    assert abs(again.lost_samples - skipped) <= 0.5 * spec.fs_hz
    assert after and after[0].start_sample == gone.sample + again.lost_samples


def test_a_silent_port_on_the_old_name_is_refused_in_bounded_time(tmp_path):
    """A pty nobody sends on behind the old name: not proven within the bound, so lost."""
    spec, _, link, ours, stream = _unplugged_p2(tmp_path, seconds=2.0)
    master = slave = -1
    try:
        _until_disconnected(stream)
        master, slave = os.openpty()
        os.symlink(os.ttyname(slave), f"{link}.new")
        os.replace(f"{link}.new", link)
        after, statuses = collect(stream, lambda b, s: "lost" in kinds(s), timeout=30)
    finally:
        stream.stop()
        ours.stop()
        for fd in (master, slave):
            if fd >= 0:
                os.close(fd)
    lost = next(s for s in statuses if s.kind == "lost")
    assert "no p2 packet" in lost.message and not after


# --- through the user's command ------------------------------------------------------------

class Proc:
    """A ``bbfeedback`` process whose stderr is read line by line on a thread (so a test can
    wait for a line), killed and reaped on ``close``."""

    def __init__(self, *args: str):
        self.proc = subprocess.Popen([*BB, *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.err: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.err.append(line)

    def wait_for(self, text: str, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if any(text in line for line in self.err):
                return True
            if self.proc.poll() is not None and not self._reader.is_alive():
                return any(text in line for line in self.err)
            time.sleep(0.05)
        return False

    def first_line(self, timeout: float = 60) -> str:
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        return self.proc.stdout.readline().strip() if ready else ""

    def finish(self, timeout: float) -> tuple[int, str, str]:
        """Its exit status, stdout and stderr once it has ended (stderr is the thread's alone:
        ``communicate`` would take the last lines from it)."""
        rc = self.proc.wait(timeout=timeout)  # its stdout is a few lines: never fills the pipe
        out = self.proc.stdout.read()
        self._reader.join(10)
        return rc, out, "".join(self.err)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.communicate(timeout=10)
        except (subprocess.TimeoutExpired, ValueError):
            pass
        self._reader.join(5)
        for pipe in (self.proc.stdout, self.proc.stderr):  # no open file left to the collector
            pipe.close()


@pytest.mark.parametrize("stranger", [("ascii",), ("p2", "--speed", "3")],
                         ids=["ascii-board", "p2-emulator"])
def test_record_ends_device_lost_when_another_device_takes_the_name(stranger, tmp_path):
    """``bbfeedback record`` of an emulated P2 by a name (``--link``) that, after the cable
    is pulled, another emulator takes: exit status 3, "device lost", and the file holds our
    device's samples only (none after the unplug, no "reconnected")."""
    from bbfeedback.recording import read_recording

    link = str(tmp_path / "port")
    out = tmp_path / "rec.edf"
    ours = Proc("emulate", "--device", "p2", "--protocol", "a1-strength", "--link", link,
                "--unplug-after", "4")
    rec = other = None
    try:
        assert ours.first_line() == link
        rec = Proc("record", "--device", "p2", "--port", link, "--seconds", "60",
                   "--wait-s", "30", "--out", str(out))
        assert rec.wait_for("disconnected", timeout=60), "".join(rec.err)
        other = Proc("emulate", "--device", stranger[0], "--protocol", "b5-lift",
                     "--seed", "7", "--link", link, *stranger[1:])
        assert other.first_line() == link
        rc, stdout, err = rec.finish(timeout=90)
    finally:
        for p in (rec, other, ours):
            if p:
                p.close()
    assert rc == 3, err
    assert "Traceback" not in err
    assert "device lost" in err and "now answers as another device" in err, err
    assert "reconnected" not in err
    recording = read_recording(out)
    texts = [a.text for a in recording.annotations]
    assert not any(t.startswith("bbfeedback:reconnected") for t in texts)
    assert not any(t.startswith("bbfeedback:gap") for t in texts)  # nothing after the unplug
    assert recording.duration_s <= 5.0  # our 4 s (+ the last record), not 60 s of theirs
