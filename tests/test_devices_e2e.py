"""The real path: emulator -> pty -> pyserial -> parser -> blocks, unplug and reconnect,
and recording from a device on the command line."""

import json
import subprocess
import sys
import time

import numpy as np
import pytest
from bbfeedback.drivers.devices import make_device
from bbfeedback.drivers.emulator import PtyEmulator, make_packets
from bbfeedback.drivers.serial_transport import DeviceStream, Status, ftdi_latency_warning

from bbfeedback.signal.blocks import Block

SPEED = 8.0  # faster than real time; the pty still carries every byte


def collect(stream: DeviceStream, until, timeout: float = 20.0) -> tuple[list, list]:
    blocks, statuses = [], []
    end = time.monotonic() + timeout
    while time.monotonic() < end and not until(blocks, statuses):
        item = stream.get(timeout=0.1)
        if isinstance(item, Block):
            blocks.append(item)
        elif isinstance(item, Status):
            statuses.append(item)
    return blocks, statuses


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
        blocks, statuses = collect(stream, lambda b, s: emu.done.is_set() and sum(
            x.n_samples + x.lost_before for x in b) >= n - 40)
        time.sleep(0.2)
        blocks += [x for x in stream.drain() if isinstance(x, Block)]
        parser_lost = stream.parser.stats.lost_frames
    finally:
        stream.stop()
        emu.stop()
    assert statuses and statuses[0].kind == "connected"
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
    assert sum(b.lost_before for b in blocks) == parser_lost


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
    second = None

    def finder():  # the replugged adapter shows up under a new name
        return ports["now"]

    stream = DeviceStream(spec, first.port, finder=finder).start()
    try:
        blocks, statuses = collect(stream, lambda b, s: any(x.kind == "disconnected"
                                                            for x in s), timeout=10)
        lost = next(s for s in statuses if s.kind == "disconnected")
        received = sum(b.n_samples for b in blocks)
        assert lost.sample == received > 100  # everything before the unplug was delivered
        time.sleep(0.5)
        second = PtyEmulator(spec, make_packets(spec, values), speed=4.0).start()
        ports["now"] = second.port
        more, statuses2 = collect(stream, lambda b, s: sum(x.n_samples for x in b) > 200,
                                  timeout=10)
        back = next(s for s in statuses2 if s.kind == "reconnected")
        assert back.lost_samples > 0
        assert more[0].lost_before == back.lost_samples
        assert more[0].start_sample == received + back.lost_samples
    finally:
        t0 = time.monotonic()
        stream.stop()
        assert time.monotonic() - t0 < 2.5  # closing never hangs
        first.stop()
        if second:
            second.stop()


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
    emu = subprocess.Popen([sys.executable, "-m", "bbfeedback.app.cli", "emulate", "--device", "p2",
                            "--protocol", "b3-long-hold", "--speed", "4", "--seconds", "90",
                            "--drop", "0.01"], stdout=subprocess.PIPE, text=True)
    try:
        port = emu.stdout.readline().strip()
        assert port.startswith("/dev/")
        out = tmp_path / "p2.edf"
        rec = subprocess.run(["bbfeedback", "record", "--device", "p2", "--port", port,
                              "--seconds", "80", "--out", str(out)],
                             capture_output=True, text=True, timeout=60)
    finally:
        emu.terminate()
        emu.wait(5)
    assert rec.returncode == 0, rec.stderr
    assert "samples received" in rec.stdout and "packets lost" in rec.stdout
    lost = int(rec.stdout.split("packets lost ")[1].split(";")[0])
    assert 0 < lost < 0.03 * 80 * 250
    doc = json.loads(subprocess.run(["bbfeedback", "analyze", str(out), "--json"],
                                    capture_output=True, text=True).stdout)
    pfm = [c for c in doc["contractions"] if c["channel"] == "pfm"]
    assert len(pfm) >= 6  # 3 calibration squeezes and the 5 s holds that fit in 80 s


def test_record_sim_needs_no_port_and_device_needs_one(tmp_path):
    ok = subprocess.run(["bbfeedback", "record", "--device", "sim", "--seconds", "3", "--speed",
                         "20", "--out", str(tmp_path / "s.edf")], capture_output=True, text=True)
    assert ok.returncode == 0 and "recorded 3000 samples" in ok.stdout
    bad = subprocess.run(["bbfeedback", "record", "--device", "p2", "--seconds", "3", "--out",
                          str(tmp_path / "x.edf")], capture_output=True, text=True)
    assert bad.returncode == 2 and "needs --port" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_ports_command_runs():
    out = subprocess.run(["bbfeedback", "ports"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip()
