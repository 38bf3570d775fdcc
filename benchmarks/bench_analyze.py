"""Constant-memory analysis: peak memory and CPU time of ``bbfeedback analyze`` on 1 h and
10 h recordings (2 channels x 2 kHz EDF+), against a bare scipy chain run in the same way.

    python benchmarks/bench_analyze.py [--hours 1 10] [--folder DIR]

Each file is made once (10-minute simulated sessions of random holds, 6 different ones
repeated) and kept in --folder. Every measurement is a fresh process (``os.wait4`` gives its
peak resident memory and CPU time):
- ``bbfeedback analyze FILE --json``: read, mains check, notch, band-pass, RMS envelope,
  self-calibration from the whole recording, contraction detection, JSON out;
- the bare scipy chain: the same file read in the same 10 s blocks with pyedflib, the same
  notch and band-pass (``sosfilt`` with ``zi``) and a moving RMS (cumulative sums), nothing
  else: the least any streaming analysis must do.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

FS = 2000.0
PIECE_S = 600.0

BARE = r"""
import sys
import numpy as np
import pyedflib
from scipy import signal
path, notch = sys.argv[1], [float(f) for f in sys.argv[2].split(",") if f]
fs = 2000.0
r = pyedflib.EdfReader(path)
n = r.getNSamples()[0]
sos = signal.butter(4, [20, 450], btype="bandpass", fs=fs, output="sos")
if notch:
    sos = np.vstack([signal.tf2sos(*signal.iirnotch(f, 30, fs=fs)) for f in notch] + [sos])
zi = [signal.sosfilt_zi(sos) * 0.0 for _ in range(2)]
w = int(0.15 * fs)
tails = [np.zeros(w) for _ in range(2)]
peak = 0.0
for a in range(0, n, int(10 * fs)):
    m = min(int(10 * fs), n - a)
    for k in range(2):
        x = r.readSignal(k, a, m)
        y, zi[k] = signal.sosfilt(sos, x, zi=zi[k])
        sq = np.concatenate([tails[k], y * y])
        c = np.cumsum(sq)
        env = np.sqrt(np.maximum(c[w:] - c[:-w], 0) / w)
        tails[k] = sq[-w:]
        peak = max(peak, float(env.max()))
print(peak)
"""


def make(path: Path, hours: float) -> None:
    from datetime import datetime

    from bbfeedback.exercise.simulate import random_squeezes, simulate
    from bbfeedback.recording.edf import spec_for
    from bbfeedback.recording.edf_writer import EdfPlusWriter

    pieces = []
    for seed in range(6):
        rng = np.random.default_rng(seed)
        sim = simulate(random_squeezes(PIECE_S, rng), PIECE_S, FS, seed=seed,
                       accessory=random_squeezes(PIECE_S, rng))
        pieces.append([s.data for s in sim.recording.signals[:2]])
    specs = [spec_for(name, "uV", FS, lo=-3000.0, hi=3000.0) for name in ("pfm", "abdominal")]
    with EdfPlusWriter(path, specs, datetime(2026, 1, 1)) as w:
        for k in range(int(round(hours * 3600 / PIECE_S))):
            w.write(pieces[k % len(pieces)])


def measure(argv: list[str]) -> tuple[float, float, str]:
    """(peak resident MB, CPU s, stdout) of a fresh process."""
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        if status != 0:
            raise SystemExit(f"{argv[:4]} failed ({status})")
        out.seek(0)
        text = out.read().decode()
    return usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--folder", default=os.path.join(tempfile.gettempdir(), "bbf-bench"))
    parser.add_argument("--make", nargs=2, metavar=("PATH", "HOURS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make:
        make(Path(args.make[0]), float(args.make[1]))
        return
    folder = Path(args.folder)
    folder.mkdir(exist_ok=True)
    for hours in args.hours:
        path = folder / f"long-{hours:g}h.edf"
        if not path.exists():  # in a process of its own: a child's peak memory counts its
            # parent's at the fork, so this one stays small
            subprocess.run([sys.executable, __file__, "--make", str(path), str(hours)],
                           check=True)
        mb, cpu, text = measure([sys.executable, "-m", "bbfeedback", "analyze", str(path),
                                 "--json"])
        doc = json.loads(text)
        notch = doc["channels"][0]["notch_hz"]
        bare_mb, bare_cpu, _ = measure([sys.executable, "-c", BARE, str(path),
                                        ",".join(f"{f:g}" for f in notch)])
        print(f"{hours:g} h x 2 ch x {FS:g} Hz ({path.stat().st_size / 2**20:.0f} MB file, "
              f"{len(doc['contractions'])} contractions): analyze peak {mb:.0f} MB, "
              f"{cpu:.1f} CPU s; bare scipy chain peak {bare_mb:.0f} MB, {bare_cpu:.1f} CPU s; "
              f"time ratio {cpu / bare_cpu:.2f}x (goal <= 1.5x, peak <= 150 MB)")


if __name__ == "__main__":
    main()
