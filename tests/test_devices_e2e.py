"""The real path: emulator -> pty -> pyserial -> parser -> blocks, unplug and reconnect,
back-pressure and parser failures (every lost sample is a ``lost_before``), and recording from
a device on the command line. Nothing sleeps and then asserts: tests wait for a condition,
with a timeout."""

import dataclasses
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from bbfeedback.drivers.devices import make_device
from bbfeedback.drivers.emulator import PtyEmulator, make_packets
from bbfeedback.drivers.serial_transport import DeviceStream, Status, ftdi_latency_warning
from conftest import BB, collect

from bbfeedback.signal.blocks import Block

SPEED = 8.0  # faster than real time; the pty still carries every byte


def wait_until(condition, timeout: float = 10.0, poll_s: float = 0.005) -> bool:
    """True as soon as ``condition()`` holds, False after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(poll_s)
    return True


def caught_up(stream: DeviceStream, emu: PtyEmulator):
    """A condition: the emulator has sent everything and the reader has read and handed on
    all of it (two reads that found nothing, both begun after the last byte was written)."""
    mark = []

    def check() -> bool:
        if not emu.done.is_set():
            return False
        if not mark:
            mark.append(stream.empty_reads)
        return stream.empty_reads >= mark[0] + 2

    return check


def split(items) -> tuple[list, list]:
    return ([x for x in items if isinstance(x, Block)],
            [x for x in items if isinstance(x, Status)])


def check_clock(blocks: list[Block]) -> None:
    """Every gap of the sample clock is a lost_before, and nothing else moves the clock."""
    assert blocks and blocks[0].start_sample == blocks[0].lost_before
    for prev, b in zip(blocks, blocks[1:], strict=False):
        assert b.start_sample == prev.end_sample + b.lost_before
    assert (sum(b.n_samples for b in blocks) + sum(b.lost_before for b in blocks)
            == blocks[-1].end_sample)


def first_offset(expected: np.ndarray, block: Block) -> int:
    """Index of the packet a stream's first sample came from (pyserial drops what arrived
    before the port was opened, as with a real device)."""
    return int(np.flatnonzero(np.all(np.isclose(expected, block.data[0]), axis=1))[0])


def check_values_on_clock(blocks: list[Block], expected: np.ndarray) -> int:
    """Each block holds the device's samples at its place on the clock (so every lost_before
    counted exactly the samples that did not arrive); returns the first packet's index."""
    offset = first_offset(expected, blocks[0]) - blocks[0].start_sample
    for b in blocks:
        assert np.allclose(b.data, expected[offset + b.start_sample:offset + b.end_sample])
    return offset


def _values(spec, n, seed=0):
    rng = np.random.default_rng(seed)
    return np.column_stack([40 * rng.standard_normal(n) if c.kind == "emg"
                            else 20 + rng.random(n) for c in spec.channels])


@pytest.mark.parametrize("name", ["p2", "cyton", "bitalino", "ascii"])
def test_emulated_device_through_a_pty_gives_back_the_signal(name):
    spec = make_device(name)
    n = int(2.0 * spec.fs_hz)
    packets = make_packets(spec, _values(spec, n), garbage=0.01, drop=0.01, seed=2)
    emu = PtyEmulator(spec, packets, speed=SPEED).start()
    stream = DeviceStream(spec, emu.port, reconnect=False).start()
    parser_lost = 0
    try:
        done = caught_up(stream, emu)
        blocks, statuses = collect(stream, lambda b, s: done())
        more, more_statuses = split(stream.drain())
        blocks, statuses = blocks + more, statuses + more_statuses
        parser_lost = stream.parser.stats.lost_frames
    finally:
        stream.stop()
        emu.stop()
    assert done(), "the reader did not catch up with the emulator"
    assert statuses and statuses[0].kind == "connected"
    assert stream.overflow_blocks == 0 and not [x for x in statuses if x.kind == "warning"]
    got = np.concatenate([b.data for b in blocks])
    kept = ~packets.dropped
    expected = make_device(name).make_parser().to_physical(packets.counts[kept])
    # every sample that arrived equals what was sent, after scaling. Packets sent before the
    # port was opened are gone (pyserial flushes the input on open, as with real devices).
    offset = int(np.flatnonzero(np.all(np.isclose(expected, got[0]), axis=1))[0])
    assert offset < 0.5 * spec.fs_hz
    clock = np.concatenate([np.arange(b.start_sample, b.end_sample) for b in blocks])
    assert np.all(np.diff(clock) >= 1)  # the sample clock never runs back
    dropped = int(packets.dropped[offset:].sum())
    if name in ("p2", "cyton"):
        assert np.allclose(got, expected[offset:offset + got.shape[0]])
        assert parser_lost == dropped
    else:
        assert got.shape[0] >= expected.shape[0] - offset - 2 * len(packets.junk)
        assert parser_lost >= dropped
    assert sum(b.lost_before for b in blocks) == parser_lost == stream.lost_samples
    assert stream.samples == got.shape[0]
    check_clock(blocks)


def test_cyton_handshake_reset_and_start():
    spec = make_device("cyton")
    packets = make_packets(spec, _values(spec, 250), seed=1)
    emu = PtyEmulator(spec, packets, speed=SPEED).start()
    stream = DeviceStream(spec, emu.port, reconnect=False).start()
    try:
        blocks, _ = collect(stream, lambda b, s: sum(x.n_samples for x in b) >= 200)
    finally:
        stream.stop()
        emu.stop()
    assert sum(x.n_samples for x in blocks) >= 200  # streaming began only after "b"


def test_unplug_is_reported_and_replug_resumes_with_the_gap():
    spec = make_device("p2")
    values = _values(spec, int(spec.fs_hz * 6))
    first = PtyEmulator(spec, make_packets(spec, values), speed=4.0, unplug_after_s=2.0).start()
    ports = {"now": first.port}
    looked_up = []
    second = None

    def finder():  # the replugged adapter shows up under a new name
        looked_up.append(ports["now"])
        return ports["now"]

    stream = DeviceStream(spec, first.port, finder=finder).start()
    try:
        blocks, statuses = collect(stream, lambda b, s: any(x.kind == "disconnected"
                                                            for x in s), timeout=10)
        lost = next(s for s in statuses if s.kind == "disconnected")
        received = sum(b.n_samples for b in blocks)
        assert lost.sample == received > 100  # everything before the unplug was delivered
        # the device stays away while the reader tries again (it looks the port up each time)
        assert wait_until(lambda: len(looked_up) >= 3, timeout=10)
        second = PtyEmulator(spec, make_packets(spec, values), speed=4.0).start()
        ports["now"] = second.port
        more, statuses2 = collect(stream, lambda b, s: sum(x.n_samples for x in b) > 200,
                                  timeout=10)
        back = next(s for s in statuses2 if s.kind == "reconnected")
        assert back.lost_samples > 0
        assert more[0].lost_before == back.lost_samples
        assert more[0].start_sample == received + back.lost_samples
        check_clock(blocks + more)
        assert stream.lost_samples == back.lost_samples  # counted once, not twice
    finally:
        t0 = time.monotonic()
        stream.stop()
        assert time.monotonic() - t0 < 2.5  # closing never hangs
        first.stop()
        if second:
            second.stop()


def test_a_usb_adapter_is_reopened_only_where_it_is_now(tmp_path, monkeypatch):
    """After an unplug the stable name (here a link, as /dev/serial/by-id) may point at
    another adapter (serial number B): the reader waits for its own (A), never reads B."""
    from types import SimpleNamespace

    from bbfeedback.drivers import serial_transport

    spec = make_device("p2")
    link = str(tmp_path / "ttyUSB0")
    first = PtyEmulator(spec, make_packets(spec, _values(spec, 2000)), speed=4.0,
                        unplug_after_s=1.0, link=link).start()
    ours = {"path": link, "serial": "A"}
    monkeypatch.setattr(serial_transport.list_ports, "comports", lambda: [SimpleNamespace(
        device=ours["path"], vid=0x0403, pid=0x6001, serial_number=ours["serial"])]
        if os.path.exists(ours["path"]) else [])  # listed while its device is there
    stream = DeviceStream(spec, link).start()
    stranger = second = None
    try:
        _, statuses = collect(stream, lambda b, s: any(x.kind == "disconnected" for x in s),
                              timeout=10)
        gone = next(x for x in statuses if x.kind == "disconnected").sample
        stranger = PtyEmulator(spec, make_packets(spec, _values(spec, 2000)), link=link)
        ours["serial"] = "B"  # the stranger now holds the old name
        stranger.start()
        blocks, statuses = collect(stream, lambda b, s: False, timeout=2.5)
        assert all(b.start_sample + b.n_samples <= gone for b in blocks)  # queued before
        assert not any(x.kind == "reconnected" for x in statuses)
        second = PtyEmulator(spec, make_packets(spec, _values(spec, 2000)), speed=4.0).start()
        ours.update(path=second.port, serial="A")
        blocks, statuses = collect(stream, lambda b, s: sum(x.n_samples for x in b) > 100,
                                   timeout=10)
        assert any(x.kind == "reconnected" and second.port in x.message for x in statuses)
    finally:
        stream.stop()
        for emu in (first, stranger, second):
            if emu:
                emu.stop()


def test_missing_port_is_an_error_status_not_a_crash():
    stream = DeviceStream(make_device("p2"), "/dev/does-not-exist", reconnect=False).start()
    item = stream.get(timeout=5)
    assert isinstance(item, Status) and item.kind == "error" and "cannot open" in item.message
    stream.stop()


def test_ftdi_latency_warning(tmp_path):
    d = tmp_path / "bus" / "usb-serial" / "devices" / "ttyUSB0"
    d.mkdir(parents=True)
    (d / "latency_timer").write_text("16\n")
    assert "16 ms" in ftdi_latency_warning("/dev/ttyUSB0", sysfs=str(tmp_path))
    (d / "latency_timer").write_text("1\n")
    assert ftdi_latency_warning("/dev/ttyUSB0", sysfs=str(tmp_path)) is None


def test_record_from_emulated_device_then_analyze(tmp_path):
    # the emulator plays far longer than the 80 s recorded (it is ended below): record may
    # start seconds after it on a busy machine (it had 2.5 s of slack and failed once)
    emu = subprocess.Popen([sys.executable, "-m", "bbfeedback.app.cli", "emulate", "--device", "p2",
                            "--protocol", "b3-long-hold", "--speed", "4", "--seconds", "600",
                            "--drop", "0.01"], stdout=subprocess.PIPE, text=True)
    try:
        port = emu.stdout.readline().strip()
        assert port.startswith("/dev/")
        out = tmp_path / "p2.edf"
        rec = subprocess.run([*BB, "record", "--device", "p2", "--port", port,
                              "--seconds", "80", "--out", str(out)],
                             capture_output=True, text=True, timeout=600)  # a bound
    finally:
        emu.terminate()
        emu.wait(30)
        emu.stdout.close()
    assert rec.returncode == 0, rec.stderr
    assert "samples received" in rec.stdout and "packets lost" in rec.stdout
    lost = int(rec.stdout.split("packets lost ")[1].split(";")[0])
    assert 0 < lost < 0.03 * 80 * 250
    doc = json.loads(subprocess.run([*BB, "analyze", str(out), "--json"],
                                    capture_output=True, text=True).stdout)
    pfm = [c for c in doc["contractions"] if c["channel"] == "pfm"]
    assert len(pfm) >= 6  # 3 calibration squeezes and the 5 s holds that fit in 80 s


def test_record_sim_needs_no_port_and_device_needs_one(tmp_path):
    ok = subprocess.run([*BB, "record", "--device", "sim", "--seconds", "3", "--speed",
                         "20", "--out", str(tmp_path / "s.edf")], capture_output=True, text=True)
    assert ok.returncode == 0 and "recorded 3000 samples" in ok.stdout
    bad = subprocess.run([*BB, "record", "--device", "p2", "--seconds", "3", "--out",
                          str(tmp_path / "x.edf")], capture_output=True, text=True)
    assert bad.returncode == 2 and "needs --port" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_ports_command_lists_ports_or_says_there_are_none():
    out = subprocess.run([*BB, "ports"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines, "ports printed nothing"
    if lines == ["no serial ports found (a pyserial URL such as loop:// works too)"]:
        return
    for line in lines:  # device path, VID:PID or "-", the device guess or "?", description
        assert re.match(r"^(/dev/\S+|COM\d+)\s+([0-9a-f]{4}:[0-9a-f]{4}|-)\s+\S", line), line


def test_ports_command_shows_ids_and_guess_of_a_known_adapter(monkeypatch, capsys):
    from serial.tools import list_ports
    from serial.tools.list_ports_common import ListPortInfo

    from bbfeedback.app import cli

    def fake_port(device, vid, pid, description, manufacturer=None):
        info = ListPortInfo(device, skip_link_detection=True)
        info.vid, info.pid, info.description, info.manufacturer = (vid, pid, description,
                                                                    manufacturer)
        return info

    ports = [fake_port("/dev/ttyUSB7", 0x0403, 0x6015, "FT231X USB UART", "FTDI"),
             fake_port("/dev/ttyACM3", 0x2341, 0x0043, "Arduino Uno", "Arduino (www.arduino.cc)"),
             fake_port("/dev/ttyS0", None, None, "n/a")]
    monkeypatch.setattr(list_ports, "comports", lambda *a, **k: ports)
    assert cli.main(["ports"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["/dev/ttyACM3", "2341:0043", "p2"]  # sorted by device
    assert "p2 or ascii" in lines[0] and lines[0].endswith("Arduino Uno")
    assert lines[1].split()[:3] == ["/dev/ttyS0", "-", "?"]
    assert lines[2].split()[:3] == ["/dev/ttyUSB7", "0403:6015", "cyton"]
    assert lines[2].endswith("FT231X USB UART")

    monkeypatch.setattr(list_ports, "comports", lambda *a, **k: [])
    assert cli.main(["ports"]) == 0
    assert capsys.readouterr().out.startswith("no serial ports found")


# --- back-pressure: a slow consumer loses samples, visibly, never an event -------------------

def test_slow_consumer_overflow_is_lost_before_on_the_clock_with_a_warning():
    spec = make_device("p2")
    n = int(6.0 * spec.fs_hz)
    packets = make_packets(spec, _values(spec, n), seed=5)  # a clean link: every gap is ours
    expected = spec.make_parser().to_physical(packets.counts)
    emu = PtyEmulator(spec, packets, speed=SPEED).start()
    stream = DeviceStream(spec, emu.port, reconnect=False, max_blocks=3).start()
    items = []
    try:
        # the consumer pauses (reads nothing) until the reader has dropped blocks, reads a few
        # items, pauses again, then keeps up until the device has sent everything
        for pause in range(3):
            dropped = stream.overflow_blocks
            assert wait_until(lambda d=dropped: stream.overflow_blocks > d + 2), pause
            items += [stream.get(timeout=1.0) for _ in range(4)]
        done = caught_up(stream, emu)
        while not done():
            item = stream.get(timeout=0.1)
            if item is not None:
                items.append(item)
        items += stream.drain()
    finally:
        stream.stop()
        emu.stop()
    items += stream.drain()  # the stopped status
    blocks, statuses = split([x for x in items if x is not None])
    assert statuses[0].kind == "connected" and statuses[-1].kind == "stopped"
    warnings = [x for x in statuses if x.kind == "warning"]
    assert warnings and all("consumer too slow" in w.message for w in warnings)
    assert stream.overflow_blocks >= 9 and stream.overflow_samples > 0
    # every dropped sample is a lost_before of a later block, or (dropped at the very end,
    # with no later block to carry it) reported by the last warning
    assert sum(w.lost_samples for w in warnings) == stream.overflow_samples
    tail = statuses[-1].sample - blocks[-1].end_sample
    assert sum(b.lost_before for b in blocks) + tail == stream.overflow_samples
    assert stream.parser.stats.lost_frames == 0  # the device lost nothing
    check_clock(blocks)
    assert stream.samples == sum(b.n_samples for b in blocks)
    assert stream.lost_samples == sum(b.lost_before for b in blocks)
    offset = check_values_on_clock(blocks, expected)
    assert offset + statuses[-1].sample == n  # the clock reached the last packet sent
    # each pause left a run of dropped blocks, each run a gap and a warning
    assert len(warnings) >= 3 and sum(1 for b in blocks if b.lost_before) >= len(warnings) - 1


def test_status_events_are_never_dropped_when_the_queue_is_full():
    from bbfeedback.drivers.source import ThreadedSource

    class Idle(ThreadedSource):
        def _run(self) -> None:
            pass

    src = Idle("idle", max_items=2)
    assert src._offer_block("b1") and src._offer_block("b2")
    assert not src._offer_block("b3")  # full: a block is refused, the caller counts it
    src._put_status(Status("warning", "w1"))
    src._put_status(Status("disconnected", "d1"))
    assert not src._offer_block("b4")  # a held status goes first: no block overtakes it
    assert src.get(0) == "b1"
    assert src._offer_block("b5") is False  # the freed room went to the first held status
    got = [src.get(0), src.get(0), src.get(0)]
    assert got == ["b2", Status("warning", "w1"), Status("disconnected", "d1")]
    assert src.get(0) is None
    src._put_status(Status("warning", "w2"))
    assert src.drain() == [Status("warning", "w2")]


# --- a parser that raises is replaced; the packets lost meanwhile are counted ---------------

class _RaisesOnce:
    """A device parser that fails once, after it has decoded ``after`` samples."""

    def __init__(self, inner, after: int):
        self.inner, self.after, self.raised = inner, after, False
        self.has_counter = inner.has_counter

    @property
    def stats(self):
        return self.inner.stats

    def feed(self, data: bytes):
        if not self.raised and self.inner.stats.frames_ok >= self.after:
            self.raised = True
            raise ValueError("simulated parser bug")
        return self.inner.feed(data)


@pytest.mark.parametrize("name", ["p2", "cyton"])
def test_parser_failure_is_reported_and_reading_goes_on(name):
    base = make_device(name)
    made = []

    def make_parser():
        parser = base.make_parser()
        made.append(_RaisesOnce(parser, 100) if not made else parser)
        return made[-1]

    spec = dataclasses.replace(base, make_parser=make_parser)
    n = int(3.0 * spec.fs_hz)
    packets = make_packets(spec, _values(spec, n), seed=6)
    expected = base.make_parser().to_physical(packets.counts)
    emu = PtyEmulator(spec, packets, speed=SPEED).start()
    stream = DeviceStream(spec, emu.port, reconnect=False).start()
    try:
        done = caught_up(stream, emu)
        blocks, statuses = collect(stream, lambda b, s: done())
        more, more_statuses = split(stream.drain())
        blocks, statuses = blocks + more, statuses + more_statuses
    finally:
        stream.stop()
        emu.stop()
    assert done(), "the reader stopped reading after the parser failed"
    failed = [x for x in statuses if x.kind == "warning"]
    assert len(failed) == 1 and len(made) == 2 and stream.parser is made[1]
    assert failed[0].message == (f"{name}: parser failed (ValueError('simulated parser bug'));"
                                 " resynchronising")
    assert stream.parser_failures == 1
    check_clock(blocks)
    offset = check_values_on_clock(blocks, expected)
    assert offset + blocks[-1].end_sample == n  # everything after the failure came through
    gaps = [b for b in blocks if b.lost_before]
    assert len(gaps) == 1 and gaps[0].start_sample == failed[0].sample + gaps[0].lost_before
    assert gaps[0].lost_before >= 1  # the bytes of the failed feed held at least a packet
    assert stream.lost_packets == gaps[0].lost_before == stream.lost_samples


def test_a_parser_that_keeps_failing_ends_the_stream_with_an_error():
    base = make_device("p2")

    class Broken:
        has_counter = True
        stats = base.make_parser().stats

        def feed(self, data):
            raise RuntimeError("always")

    spec = dataclasses.replace(base, make_parser=Broken)
    emu = PtyEmulator(spec, make_packets(spec, _values(spec, 2000), seed=7), speed=SPEED).start()
    stream = DeviceStream(spec, emu.port).start()
    try:
        _, statuses = collect(stream, lambda b, s: any(x.kind == "stopped" for x in s),
                              timeout=10)
        assert wait_until(lambda: not stream.alive, timeout=5)
    finally:
        stream.stop()
        emu.stop()
    kinds = [x.kind for x in statuses]
    assert kinds == ["connected"] + ["warning"] * 4 + ["error", "stopped"]
    assert "parser failed 5 times in a row" in statuses[-2].message


# --- the other sources: simulated (unbounded queue) and replay (waits, never drops) ----------

def test_simulated_source_with_a_pausing_consumer_loses_nothing():
    from bbfeedback.app.simulated import SimulatedSource

    src = SimulatedSource("a1-strength", 500.0, speed=200.0).start()
    items = []
    try:
        assert wait_until(lambda: src.queue.qsize() > 200)  # the consumer pauses
        assert wait_until(lambda: not src.alive, timeout=20)
        items = src.drain()
    finally:
        src.stop()
    blocks, statuses = split(items)
    assert statuses[0].kind == "connected" and statuses[-1].kind == "stopped"
    check_clock(blocks)
    assert sum(b.lost_before for b in blocks) == 0
    assert blocks[-1].end_sample == src.blocks[-1].end_sample == statuses[-1].sample


def test_replay_source_with_a_pausing_consumer_waits_instead_of_dropping():
    from bbfeedback.app.replay import ReplaySource

    sample = Path(__file__).resolve().parent.parent / "sample_data" / "lift.edf"
    src = ReplaySource(sample, speed=2000.0).start()
    got = []
    try:
        assert wait_until(lambda: src.queue.full())  # the consumer pauses; the replay waits
        assert src.alive
        while True:
            item = src.get(timeout=5)
            assert item is not None, "replay stalled"
            got.append(item)
            if not isinstance(item, Block):  # the end of the recording
                break
    finally:
        src.stop()
    blocks = [x for x in got if isinstance(x, Block)]
    assert [b.start_sample for b in blocks] == [b.start_sample for b in src.blocks]
    for prev, b in zip(blocks, blocks[1:], strict=False):
        assert b.start_sample >= prev.end_sample  # gaps (if any) are jumps forward


def test_an_adapter_without_serial_number_is_never_taken_for_its_twin(monkeypatch):
    """Attack finding: two CH340 clones without serial numbers; ours (ttyUSB1, in socket
    1-1.2) is unplugged: the finder must not return the twin (ttyUSB0, socket 1-1.3)."""
    from types import SimpleNamespace

    from bbfeedback.drivers import serial_transport

    def port(dev, loc):
        return SimpleNamespace(device=dev, vid=0x1A86, pid=0x7523, serial_number=None,
                               location=loc)

    plugged = [port("/dev/ttyUSB0", "1-1.3:1.0"), port("/dev/ttyUSB1", "1-1.2:1.0")]
    monkeypatch.setattr(serial_transport.list_ports, "comports", lambda: list(plugged))
    finder = DeviceStream._usb_finder("/dev/ttyUSB1")
    assert finder() == "/dev/ttyUSB1"
    plugged.pop()  # ours unplugged
    assert finder() is None
    plugged.append(port("/dev/ttyUSB2", "1-1.2:1.0"))  # back in its socket, a new name
    assert finder() == "/dev/ttyUSB2"
    for p in plugged:  # no locations known: only while it is the one of its kind
        p.location = None
    assert serial_transport.find_port(0x1A86, 0x7523, None) is None
    plugged.pop(0)
    assert serial_transport.find_port(0x1A86, 0x7523, None) == "/dev/ttyUSB2"
