"""Archive benchmark: files per second of ``analyze DIR --out`` serially, on 1..N cores in
processes, and on a local Dask cluster of N workers (the --scheduler path), one run.

    python benchmarks/bench_archive.py [--files 16] [--minutes 30]

The archive: --files recordings of --minutes each (2 channels x 2 kHz; simulated sessions of
random holds, written as EDF+). Every run analyses the same files and must give the same
table as the serial run (checked).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np

from bbfeedback.app import archive
from bbfeedback.exercise.simulate import random_squeezes, simulate
from bbfeedback.recording.edf import spec_for
from bbfeedback.recording.edf_writer import EdfPlusWriter

FS = 2000.0


def make(folder: Path, files: int, minutes: float) -> list[str]:
    seconds = 60.0 * minutes
    paths = []
    for k in range(files):
        rng = np.random.default_rng(k)
        sim = simulate(random_squeezes(seconds, rng), seconds, FS, seed=k,
                       accessory=random_squeezes(seconds, rng))
        path = folder / f"rec-{k:03d}.edf"
        specs = [spec_for(s.channel.name, "uV", FS, lo=-3000.0, hi=3000.0)
                 for s in sim.recording.signals[:2]]
        with EdfPlusWriter(path, specs, datetime(2026, 1, 1)) as w:
            w.write([s.data for s in sim.recording.signals[:2]])
        paths.append(str(path))
    return paths


def timed(paths: list[str], **how) -> tuple[float, list[dict]]:
    t0 = time.perf_counter()
    rows = archive.run_archive(paths, archive.Settings(), progress=False, **how)
    return time.perf_counter() - t0, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=16)
    parser.add_argument("--minutes", type=float, default=30.0)
    args = parser.parse_args()
    cores = archive.default_jobs()
    with tempfile.TemporaryDirectory() as tmp:
        paths = make(Path(tmp), args.files, args.minutes)
        t1, serial = timed(paths, jobs=1)
        print(f"{args.files} recordings of {args.minutes:g} min (2 ch x {FS:g} Hz), "
              f"{cores} cores")
        print(f"  serial              {t1:6.1f} s  {args.files / t1:5.2f} files/s  1.00x")
        for jobs in range(2, cores + 1):
            t, rows = timed(paths, jobs=jobs)
            assert rows == serial
            print(f"  --jobs {jobs:<12} {t:6.1f} s  {args.files / t:5.2f} files/s  {t1 / t:.2f}x")
        from dask.distributed import LocalCluster

        with LocalCluster(n_workers=cores, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster:
            t, rows = timed(paths, scheduler=cluster.scheduler_address)
        assert rows == serial
        print(f"  Dask, {cores} workers     {t:6.1f} s  {args.files / t:5.2f} files/s  "
              f"{t1 / t:.2f}x")
        print(f"  (contractions found: {sum(r['kind'] == 'contraction' for r in serial)}; "
              f"os.cpu_count() {os.cpu_count()})")


if __name__ == "__main__":
    main()
