"""Start-up benchmark: wall time of commands that process no signal, against the bare
interpreter and against importing scipy.signal (what every command paid before imports were
made lazy), each the median of several runs in fresh processes.

    python benchmarks/bench_startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = (["--version"], ["--help"], ["protocols"], ["ports"])


def wall_s(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    bare = wall_s([sys.executable, "-c", "pass"], args.runs)
    scipy = wall_s([sys.executable, "-c", "import scipy.signal"], args.runs)
    print(f"bare interpreter {bare:.3f} s; 'import scipy.signal' {scipy:.3f} s")
    for cmd in COMMANDS:
        t = wall_s([sys.executable, "-m", "bbfeedback", *cmd], args.runs)
        print(f"bbfeedback {' '.join(cmd):<10} {t:.3f} s  = {t / bare:4.1f}x bare interpreter, "
              f"{t / scipy:4.2f}x importing scipy.signal  (goal <= 0.3 s)")


if __name__ == "__main__":
    main()
