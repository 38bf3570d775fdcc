"""Parser property benchmark: the noisy-stream checks of tests/test_parsers.py on 10^5 cases
per device (random seeds), plus the figures the checks are about.

    python benchmarks/bench_parsers.py [--cases 100000] [--devices p2,cyton,bitalino,ascii]
                                       [--jobs N] [--throughput]

Each case: a stream of 20-200 packets with random counts over the device's whole range, noise
after a fraction U(0, 0.3) of the packets, a fraction U(0, 0.2) dropped (the emulator's
--garbage/--drop), read in random pieces of 1 to 32-1024 bytes and again in 1 kB pieces (the
samples must be the same). About 20 CPU minutes for 4 x 10^5 cases: 10 min on 2 cores.
Printed per device: cases run, cases breaking a promise (tests/test_parsers.py:
violations), invented samples (per 10^4 good packets), the fraction of good packets dropped,
clock turns missed (BITalino's 4-bit counter), time. --throughput adds parse speed as a
multiple of real time (as in bench_drivers.py), clean and noisy.

The same checks run under hypothesis with BBFEEDBACK_HYPOTHESIS_PROFILE=benchmark
(10^5 examples per test): python3 -m pytest tests/test_parsers.py -k noisy
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import test_parsers as checks  # noqa: E402

FIELDS = ("good", "kept", "invented", "ahead", "behind", "missing", "bursts")


def cases(name: str, start: int, count: int) -> dict:
    """Run cases start..start+count-1 of a device; totals and the worst case."""
    tot = dict.fromkeys(FIELDS, 0) | {"cases": 0, "broken": 0, "max_invented": 0,
                                      "min_kept": 1.0}
    examples = []
    for i in range(start, start + count):
        rng = np.random.default_rng([i, sum(map(ord, name))])
        seed = int(rng.integers(2**32))
        garbage, drop = rng.uniform(0, checks.MAX_GARBAGE), rng.uniform(0, checks.MAX_DROP)
        n = int(rng.integers(20, 201))
        max_read = int(np.exp(rng.uniform(np.log(32), np.log(1024))))
        call = f"run_case({name!r}, {seed}, {garbage!r}, {drop!r}, {n}, {max_read})"
        tot["cases"] += 1
        try:
            sc = checks.run_case(name, seed, garbage, drop, n, max_read)
        except Exception as exc:  # a failed check (or a parser that raised): a broken case
            tot["broken"] += 1
            if len(examples) < 3:
                examples.append(f"{call}: {type(exc).__name__} {exc}")
            continue
        for f in FIELDS:
            tot[f] += getattr(sc, f)
        tot["max_invented"] = max(tot["max_invented"], sc.invented)
        if sc.good >= 50:
            tot["min_kept"] = min(tot["min_kept"], sc.kept / sc.good)
        bad = checks.violations(name, sc)
        if bad:
            tot["broken"] += 1
            if len(examples) < 3:
                examples.append(f"{call}: {'; '.join(bad)}")
    tot["examples"] = examples
    return tot


def _job(args: tuple) -> tuple[str, dict]:
    return args[0], cases(*args)


def throughput(name: str, garbage: float, drop: float, read: int) -> float:
    spec, packets = checks.noisy_packets(name, int(60 * checks.make_device(name).fs_hz),
                                         garbage, drop, 0)
    stream = packets.stream()
    parser = spec.make_parser()
    t0 = time.perf_counter()
    for i in range(0, len(stream), read):
        parser.feed(stream[i:i + read])
    return 60.0 / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--devices", default=",".join(checks.DEVICES))
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--throughput", action="store_true")
    a = ap.parse_args()
    names = a.devices.split(",")
    chunk = max(1, min(2000, a.cases // (4 * a.jobs) or 1))
    work = [(name, s, min(chunk, a.cases - s)) for name in names
            for s in range(0, a.cases, chunk)]
    totals = {name: None for name in names}
    t0 = time.perf_counter()
    spent = dict.fromkeys(names, 0.0)
    with multiprocessing.Pool(a.jobs) as pool:
        for name, tot in pool.imap_unordered(_timed, work):
            t, tot = tot
            spent[name] += t
            cur = totals[name]
            if cur is None:
                totals[name] = tot
                continue
            for f in (*FIELDS, "cases", "broken"):
                cur[f] += tot[f]
            cur["max_invented"] = max(cur["max_invented"], tot["max_invented"])
            cur["min_kept"] = min(cur["min_kept"], tot["min_kept"])
            cur["examples"] = (cur["examples"] + tot["examples"])[:3]
    wall = time.perf_counter() - t0
    print(f"{'device':9s} {'cases':>7s} {'broken':>6s} {'invented':>8s} {'/1e4 good':>9s} "
          f"{'max/case':>8s} {'good dropped':>12s} {'worst kept':>10s} {'clock turns missed':>18s}"
          f" {'CPU s':>7s}")
    for name in names:
        t = totals[name]
        print(f"{name:9s} {t['cases']:7d} {t['broken']:6d} {t['invented']:8d} "
              f"{1e4 * t['invented'] / max(t['good'], 1):9.3f} {t['max_invented']:8d} "
              f"{1 - t['kept'] / max(t['good'], 1):12.3%} {t['min_kept']:10.3f} "
              f"{t['behind']:18d} {spent[name]:7.0f}")
        for ex in t["examples"]:
            print("    broken:", ex)
    print(f"wall time {wall:.0f} s on {a.jobs} processes")
    if a.throughput:
        print(f"\n{'device':9s} {'clean 64 B':>10s} {'clean 1 kB':>10s} {'noisy 64 B':>10s} "
              f"{'noisy 1 kB':>10s}   (x real time; noisy: garbage 0.3, drop 0.2)")
        for name in names:
            r = [throughput(name, g, d, rb) for g, d in ((0, 0), (0.3, 0.2)) for rb in (64, 1024)]
            print(f"{name:9s} " + " ".join(f"{x:10.0f}" for x in r))


def _timed(args: tuple) -> tuple[str, tuple[float, dict]]:
    t0 = time.perf_counter()
    name, tot = _job(args)
    return name, (time.perf_counter() - t0, tot)


if __name__ == "__main__":
    main()
