"""Driver benchmark: latency emulator -> consumer, parser throughput, CPU per second.

    python benchmarks/bench_drivers.py [--seconds 5]

(a) Latency: an in-process emulator writes each packet to a pty at the device's real rate;
    latency = time the block holding that packet's sample is handed to the consumer minus
    the time the packet was written. A pty has no baud rate, so the serial transfer time of
    one packet (bytes x 10 bits / baud) is printed beside it: on a real port it comes on top.
(b) Parser throughput: 60 s of each device's byte stream fed in 64-byte and in 1 kB reads,
    as a multiple of real time.
(c) CPU: process CPU seconds per second of streaming while `bbfeedback emulate` runs in
    another process (reader thread + parser + queue; the consumer just drains).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import numpy as np
from bbfeedback.drivers.devices import make_device
from bbfeedback.drivers.emulator import PtyEmulator, make_packets
from bbfeedback.drivers.serial_transport import DeviceStream

from bbfeedback.signal.blocks import Block

DEVICES = ("p2", "cyton", "bitalino", "ascii")


def _values(spec, n):
    rng = np.random.default_rng(0)
    return np.column_stack([30 * rng.standard_normal(n) if c.kind == "emg"
                            else 20 + rng.random(n) for c in spec.channels])


def latency(name: str, seconds: float) -> tuple[float, float, float]:
    spec = make_device(name)
    packets = make_packets(spec, _values(spec, int(seconds * spec.fs_hz)))
    emu = PtyEmulator(spec, packets, speed=1.0).start()
    stream = DeviceStream(spec, emu.port, reconnect=False).start()
    arrivals = []
    end = time.monotonic() + seconds + 2
    while time.monotonic() < end and not (emu.done.is_set() and stream.queue.empty()):
        item = stream.get(timeout=0.05)
        if isinstance(item, Block):
            arrivals.append((item.meta["seq"], time.monotonic()))
    stream.stop()
    emu.stop()
    sent = dict(emu.sent_at)
    mod = spec.seq_modulo
    lat, k = [], 0
    times = [sent[i] for i in range(len(sent))]
    for seq, t in arrivals:  # the newest packet with this counter sent before arrival
        while k + 1 < len(times) and times[k + 1] <= t:
            k += 1
        i = k
        while i >= 0 and i % mod != seq:
            i -= 1
        if i >= 0:
            lat.append(t - times[i])
    size = len(packets.data[0])
    transfer_ms = size * 10 / spec.baud * 1000
    return float(np.median(lat) * 1000), float(np.percentile(lat, 99) * 1000), transfer_ms


def throughput(name: str, read_bytes: int) -> float:
    spec = make_device(name)
    stream = make_packets(spec, _values(spec, int(60 * spec.fs_hz))).stream()
    parser = spec.make_parser()
    t0 = time.perf_counter()
    for i in range(0, len(stream), read_bytes):
        parser.feed(stream[i:i + read_bytes])
    return 60.0 / (time.perf_counter() - t0)


def cpu_per_second(name: str, seconds: float) -> float:
    emu = subprocess.Popen([sys.executable, "-m", "bbfeedback.app.cli", "emulate", "--device", name,
                            "--seconds", str(seconds + 5)], stdout=subprocess.PIPE, text=True,
                           stderr=subprocess.DEVNULL)
    port = emu.stdout.readline().strip()
    stream = DeviceStream(make_device(name), port, reconnect=False).start()
    time.sleep(0.5)
    c0, t0 = time.process_time(), time.monotonic()
    while time.monotonic() - t0 < seconds:
        stream.drain()
        time.sleep(0.03)
    cpu = (time.process_time() - c0) / (time.monotonic() - t0)
    stream.stop()
    emu.terminate()
    emu.wait(5)
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    print(f"{'device':<9} {'rate Hz':>8} {'median ms':>10} {'p99 ms':>8} {'+1 packet ms':>13} "
          f"{'parse x rt (64 B)':>18} {'(1 kB reads)':>13} {'CPU s/s':>8}")
    for name in DEVICES:
        spec = make_device(name)
        med, p99, transfer = latency(name, args.seconds)
        print(f"{name:<9} {spec.fs_hz:>8g} {med:>10.2f} {p99:>8.2f} {transfer:>13.2f} "
              f"{throughput(name, 64):>18.0f} {throughput(name, 1024):>13.0f} "
              f"{cpu_per_second(name, args.seconds):>8.3f}")


if __name__ == "__main__":
    main()
