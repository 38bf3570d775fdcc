"""Clinical correctness on the known-truth corpus (issue 21, ``tests/truth``): per case the
judgements a physiotherapist would check that the program gets right, and the total.

    python benchmarks/bench_clinical.py [-v] [--seed N]

Prints "K/N correct" per case with the names of the failed checks (``-v``: why), then the
total "K/N". Always exits 0: it is a measure, the failing checks are in the tests.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from truth import cases  # noqa: E402  (after the path is set)
from truth.cases import CASES, evaluate  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-v", "--verbose", action="store_true", help="say why each check failed")
    ap.add_argument("--seed", type=int, default=0,
                    help="added to every case's seed: the same truths on other noise")
    args = ap.parse_args(argv)
    cases.SEED_OFFSET = args.seed
    total = good = 0
    t0 = time.perf_counter()
    for case in CASES:
        outcomes = [(check.name, *evaluate(case, check)) for check in case.checks]
        k = sum(ok for _, ok, _ in outcomes)
        total, good = total + len(outcomes), good + k
        failed = [name for name, ok, _ in outcomes if not ok]
        print(f"{case.name:34s} {k:3d}/{len(outcomes):<3d} correct"
              + (f"  failed: {', '.join(failed)}" if failed else ""))
        if args.verbose:
            for name, ok, why in outcomes:
                if not ok:
                    print(f"    {name}: " + why.replace("\n", "\n      "))
    print(f"total {good}/{total} correct ({len(CASES)} cases, "
          f"{time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
