"""Emulated devices: a simulated patient doing a protocol, as a device's bytes on a pty."""

from __future__ import annotations

import sys

import numpy as np

from bbfeedback.drivers.devices import DeviceSpec
from bbfeedback.drivers.emulator import PtyEmulator, make_packets
from bbfeedback.exercise import protocols
from bbfeedback.exercise.simulate import Behaviour, simulate_protocol


def emulated_values(spec: DeviceSpec, protocol: protocols.Protocol, seed: int = 0,
                    seconds: float | None = None) -> np.ndarray:
    """The physical values (samples, device channels) of a simulated patient doing
    ``protocol`` (calibration first), at the device's rate."""
    ps = simulate_protocol(protocol, Behaviour.realistic(seed), spec.fs_hz, seed=seed,
                           calibrate=True, accessory=True, pressure=True)
    by_name = {s.channel.name: s.data for s in ps.sim.recording.signals}
    n = min(x.size for x in by_name.values())
    if seconds:
        n = min(n, int(seconds * spec.fs_hz))
    return np.column_stack([by_name[c.name][:n] for c in spec.channels])


def emulate(spec: DeviceSpec, protocol: protocols.Protocol, garbage: float = 0.0,
            drop: float = 0.0, seconds: float | None = None, unplug_after: float | None = None,
            speed: float = 1.0, seed: int = 0) -> int:
    """``bbfeedback emulate``: print the pty's path, send until done (or Ctrl-C)."""
    packets = make_packets(spec, emulated_values(spec, protocol, seed, seconds), garbage, drop,
                           seed)
    emu = PtyEmulator(spec, packets, speed, unplug_after, wait_for_reader=True).start()
    print(emu.port, flush=True)
    try:
        emu.done.wait()
    except KeyboardInterrupt:
        pass
    emu.stop()
    if emu.reader_gone:
        print(f"{emu.port}: the reader closed the port; stopped", file=sys.stderr)
    print(f"sent {emu.sent} packets ({int(packets.dropped[:emu.sent].sum())} dropped, "
          f"{sum(1 for k in packets.junk if k < emu.sent)} with noise after)", file=sys.stderr)
    return 0
