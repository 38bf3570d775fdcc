"""Write tests/slow_tests.txt from a timings file of a whole run (see conftest.py).

Slow: a test whose setup, call and teardown together took longer than ``SLOW_S``; a whole
module when one of its tests took longer than ``SETUP_S`` to set up (a module-scoped fixture:
the test after it would pay instead); and every check of a known-truth case
(``test_truth[case::check]``) when one of them is slow (the case is run once, cached, by
whichever check comes first). The fast lane is what is left; its measured time is
printed, and the threshold is lowered until it fits ``BUDGET_S`` (measured on the machine
that ran the timings: a loaded run measures slower, which only makes the lane smaller)."""

import json
import re
import sys
from pathlib import Path

SLOW_S = 1.0
SETUP_S = 0.5
BUDGET_S = 90.0  # the lane's tests; collection and start-up come on top (about 20 s)


def _total(phases: dict | float) -> float:
    return sum(phases.values()) if isinstance(phases, dict) else float(phases)


def _setup(phases: dict | float) -> float:
    return phases.get("setup", 0.0) if isinstance(phases, dict) else 0.0


def _case(nodeid: str) -> str | None:
    """``tests/x.py::test_truth[case::check]`` -> its case; None for other tests."""
    m = re.match(r"^(.*\[[^\]]*?)::", nodeid)
    return m[1] if m else None


def slow_set(times: dict, slow_s: float) -> set[str]:
    modules = {k.split("::")[0] for k, v in times.items() if _setup(v) > SETUP_S}
    tests = {k for k, v in times.items()
             if _total(v) > slow_s and k.split("::")[0] not in modules}
    cases = {_case(k) for k in tests} - {None}
    tests |= {k for k in times if _case(k) in cases and k.split("::")[0] not in modules}
    return modules | tests


def fast_time(times: dict, slow: set[str]) -> float:
    return sum(_total(v) for k, v in times.items()
               if k not in slow and k.split("::")[0] not in slow)


if __name__ == "__main__":
    times = json.loads(Path(sys.argv[1]).read_text())
    slow_s = SLOW_S
    slow = slow_set(times, slow_s)
    while fast_time(times, slow) > BUDGET_S and slow_s > 0.02:
        slow_s *= 0.8
        slow = slow_set(times, slow_s)
    Path(__file__).with_name("slow_tests.txt").write_text("\n".join(sorted(slow)) + "\n",
                                                          encoding="utf-8")
    kept = sum(1 for k in times if k not in slow and k.split("::")[0] not in slow)
    print(f"{len(slow)} slow entries (tests over {slow_s:.2f} s, modules with a fixture over "
          f"{SETUP_S} s); {kept} fast tests took {fast_time(times, slow):.0f} s in that run")
