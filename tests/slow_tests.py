"""Write tests/slow_tests.txt from a timings file of a whole run (see conftest.py): the tests
whose setup, call and teardown together took longer than ``SLOW_S``, and every test of a
module-scoped fixture's first user is covered by its own time."""

import json
import sys
from pathlib import Path

SLOW_S = 1.0

if __name__ == "__main__":
    times = json.loads(Path(sys.argv[1]).read_text())
    slow = sorted(k for k, v in times.items() if v > SLOW_S)
    Path(__file__).with_name("slow_tests.txt").write_text("\n".join(slow) + "\n")
    fast = sum(v for k, v in times.items() if v <= SLOW_S)
    print(f"{len(slow)} slow of {len(times)}; the rest took {fast:.0f} s in that run")
