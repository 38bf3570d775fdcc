"""Latency from a sample on the wire to the plotted curve, in the therapist window.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_latency.py [--seconds 20]

An emulated ASCII board (500 Hz) sends a square wave on a pty: 0 µV, then a step to 400 µV
every second, at known sample indices; the emulator notes when it wrote each sample. The
window (raw signal shown) reads the port through the parser, the session pipeline and the
frame publisher, and redraws at the display's rate. For every step: the time from the
emulator writing that sample to the end of the first redraw whose raw curve holds it
(median, p95, max). Printed separately: the envelope's own signal delay (half the RMS window
plus the band-pass filter's group delay), which is in the signal, not in the system.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from bbfeedback.drivers.devices import make_device  # noqa: E402
from bbfeedback.drivers.emulator import PtyEmulator, make_packets  # noqa: E402
from bbfeedback.gui.therapist import FRAME_MS, TherapistWindow  # noqa: E402
from PySide6 import QtWidgets  # noqa: E402

STEP_UV = 400.0


def square_wave(spec, seconds: float) -> tuple[np.ndarray, list[int]]:
    """Samples (physical) with a step up at the start of every second; their indices."""
    fs = spec.fs_hz
    n = int(seconds * fs)
    values = np.zeros((n, len(spec.channels)))
    high = (np.arange(n) % int(fs)) >= int(fs) // 2
    values[high, 0] = STEP_UV
    steps = [int(k * fs + fs // 2) for k in range(int(seconds)) if k * fs + fs // 2 < n]
    return values, steps


def measure(app, seconds: float) -> tuple[list[float], float]:
    spec = make_device("ascii")
    values, steps = square_wave(spec, seconds)
    emu = PtyEmulator(spec, make_packets(spec, values), wait_for_reader=True)
    with tempfile.TemporaryDirectory() as folder:
        win = TherapistWindow("ascii", emu.port, "a1-strength", "en", folder)
        win.record.setChecked(False)
        win.raw_toggle.setChecked(True)  # the raw signal: the step is plain in it
        win.show()
        seen: dict[int, float] = {}
        redraw = win.redraw

        def timed() -> None:
            snap = win.controller.frame()  # what this redraw puts on the curve (or newer)
            redraw()
            done = time.monotonic()
            raw = snap.raw[-int(spec.fs_hz):, 0] if snap.raw.shape[0] > 1 else None
            if raw is None:
                return
            first = int(round(snap.t_s * spec.fs_hz)) - raw.size  # session sample index
            rising = first + np.flatnonzero((raw[:-1] < STEP_UV / 2) & (raw[1:] >= STEP_UV / 2))
            for j in rising + 1:  # the session drops the board's first line or two: its
                # sample j is the board's j + 0..5
                p = next((p for p in steps if 0 <= p - j <= 5 and p not in seen), None)
                if p is not None:
                    seen[p] = done

        win.timer.timeout.disconnect()
        win.timer.timeout.connect(timed)
        emu.start()
        win.start()
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds + 3 and len(seen) < len(steps):
            app.processEvents()
            time.sleep(0.001)
        win.close()
    emu.stop()
    sent = dict(emu.sent_at)
    return [1000 * (seen[s] - sent[s]) for s in steps if s in seen and s in sent], \
        _envelope_delay()


def _envelope_delay() -> float:
    """The envelope's signal delay of the scored channel (ms): half its RMS window and the
    band-pass filter's group delay."""
    from bbfeedback.signal.pipeline import Pipeline, PipelineConfig, resolve_notch

    spec = make_device("ascii")
    pipe = Pipeline(spec.channels, spec.fs_hz,
                    PipelineConfig(notch_hz=resolve_notch("50", None, spec.fs_hz)))
    chain = pipe.chain_of(0)
    return 1000 * (chain.window_n / 2 / spec.fs_hz + chain.filter_delay_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["bench"])
    lat, env_ms = measure(app, args.seconds)
    if not lat:
        raise SystemExit("no step reached the screen")
    lat_a = np.array(lat)
    print(f"sample on the wire -> plotted raw curve ({len(lat)} steps, redraw every "
          f"{FRAME_MS} ms): median {np.median(lat_a):.1f} ms, p95 "
          f"{np.percentile(lat_a, 95):.1f} ms, max {lat_a.max():.1f} ms")
    print(f"envelope's own signal delay (half the RMS window + band-pass group delay): "
          f"{env_ms:.1f} ms")


if __name__ == "__main__":
    main()
