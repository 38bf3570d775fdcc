"""The C allocator's setting for long live sessions (one call at program start)."""

from __future__ import annotations

import ctypes
import sys

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter (malloc.h)
MMAP_THRESHOLD_BYTES = 256 * 1024


def steady_allocator() -> bool:
    """Blocks of 256 KiB or more get pages of their own, given back when freed.

    glibc raises its mmap threshold after each large free (up to 32 MiB); from then on the
    per-frame window copies (~1 MB each) and the simulated sensor's minute pieces come from
    the heap and fragment it: an hour's window grew by ~30 MB that way. A fixed threshold
    keeps it flat (benchmarks/bench_gui.py). True if set; False where the C library has no
    ``mallopt`` (not glibc), which changes nothing else."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1
