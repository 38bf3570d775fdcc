"""Emulated devices: a simulated patient doing a protocol, as a device's bytes on a pty."""

from __future__ import annotations

import json
import signal
import sys
import threading

import numpy as np

from bbfeedback.app.terminal import shown
from bbfeedback.drivers.devices import DeviceSpec
from bbfeedback.drivers.emulator import PtyEmulator, make_packets
from bbfeedback.exercise import protocols
from bbfeedback.exercise.simulate import Behaviour, simulate_protocol
from bbfeedback.recording.outputs import check_output, write_private


def emulated_values(spec: DeviceSpec, protocol: protocols.Protocol, seed: int = 0,
                    seconds: float | None = None) -> np.ndarray:
    """The physical values (samples, device channels) of a simulated patient doing
    ``protocol`` (calibration first), at the device's rate. The patient starts with the
    first sample (origin 0), as a session started when the port opens does: a reader's
    cues and the patient are in step."""
    ps = simulate_protocol(protocol, Behaviour.realistic(seed), spec.fs_hz, seed=seed,
                           calibrate=True, accessory=True, pressure=True, origin_s=0.0)
    by_name = {s.channel.name: s.data for s in ps.sim.recording.signals}
    n = min(x.size for x in by_name.values())
    if seconds:
        n = min(n, int(seconds * spec.fs_hz))
    return np.column_stack([by_name[c.name][:n] for c in spec.channels])


def emulate(spec: DeviceSpec, protocol: protocols.Protocol, garbage: float = 0.0,
            drop: float = 0.0, seconds: float | None = None, unplug_after: float | None = None,
            speed: float = 1.0, seed: int = 0, replug_after: float | None = None,
            stall_after: float | None = None, link: str | None = None,
            report_sent: str | None = None) -> int:
    """``bbfeedback emulate``: print the pty's path (or ``link``), send until done, the
    reader has gone, or Ctrl-C / SIGTERM; ``report_sent``: what was sent, as JSON."""
    if link:
        check_output(link)
    if report_sent:
        check_output(report_sent)
    packets = make_packets(spec, emulated_values(spec, protocol, seed, seconds), garbage, drop,
                           seed)
    emu = PtyEmulator(spec, packets, speed, unplug_after, wait_for_reader=True,
                      replug_after_s=replug_after, stall_after_s=stall_after, link=link).start()
    stop = threading.Event()
    old = _signals_as(stop)  # before the path is shown: a signal from then on is a stop
    print(shown(link or emu.port), flush=True)
    while not stop.is_set() and not emu.done.wait(0.1):
        pass
    if stop.is_set():  # stopped by a signal: on its way out as asked, the report written
        for sig in old:  # once; another signal must not cut that short (nor, ignored, the
            signal.signal(sig, signal.SIG_IGN)  # interpreter's exit: it keeps SIG_IGN)
    emu.stop()
    if emu.reader_gone:
        print(f"{shown(emu.port)}: the reader closed the port; stopped", file=sys.stderr)
    sent = emu.report()
    print(f"sent {sent['packets']} packets ({sent['packets'] - sent['delivered']} dropped or "
          f"unplugged, {sent['noise']} with noise after)", file=sys.stderr)
    if report_sent:
        write_private(report_sent, json.dumps(sent))
    if not stop.is_set():  # ended by itself: the caller's handlers again
        for sig, handler in old.items():
            signal.signal(sig, handler)
    return 0


def _signals_as(stop: threading.Event) -> dict:
    """Ctrl-C and SIGTERM set ``stop``, the first and any later one alike: a signal that
    arrives while the emulator is stopping and reporting changes nothing (the report is
    written once, the exit is the first signal's). The handlers replaced (none when not in
    the main thread: signals are left alone there)."""
    def handler(signum, frame) -> None:
        stop.set()

    old = {}
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            old[sig] = signal.signal(sig, handler)
    except ValueError:  # not the main thread
        pass
    return old
