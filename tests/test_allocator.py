"""The allocator setting for long live sessions: freed large blocks go back to the system
(a fresh process each, as the setting is process-wide and the heap's history matters)."""

import platform
import subprocess
import sys

import pytest

PROBE = """
import sys
import numpy as np
from bbfeedback.app.allocator import steady_allocator
if sys.argv[1] == "1":
    assert steady_allocator()
def rss_mb():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096 / 2**20
big = np.ones(8 * 2**20 // 8)
del big  # glibc raises its mmap threshold to 8 MiB here (unless it is fixed)
arrays, pins = [], []
for _ in range(100):  # 30 MB in 300 KiB arrays, small blocks between them
    arrays.append(np.ones(300 * 1024 // 8))
    pins.append(bytearray(2000))
before = rss_mb()
del arrays
print(f"{before - rss_mb():.1f}")
"""


def freed_mb(steady: bool) -> float:
    out = subprocess.run([sys.executable, "-c", PROBE, "1" if steady else "0"],
                         capture_output=True, text=True, check=True)
    return float(out.stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_freed_window_sized_arrays_are_given_back():
    assert freed_mb(steady=True) > 25.0  # 30 MB allocated, all returned
    assert freed_mb(steady=False) < 5.0  # glibc's default keeps them in a fragmented heap
