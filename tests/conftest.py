import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_DB = Path(__import__("tempfile").mkdtemp(prefix="bbfeedback-test-")) / "history.sqlite3"
os.environ.setdefault("BBFEEDBACK_DB", str(_DB))  # tests never touch the user's history

ROOT = Path(__file__).resolve().parent.parent
BB = [sys.executable, "-m", "bbfeedback"]  # the command, from this Python (no venv on PATH needed)
DATA = Path(__file__).resolve().parent / "data"  # small real files, each with SOURCE.txt
SAMPLES = ROOT / "sample_data"


@pytest.fixture
def real_data() -> Path:
    """Real public recordings copied into the project (tests/data/*/SOURCE.txt)."""
    return DATA


def collect(stream, until, timeout: float = 20.0) -> tuple[list, list]:
    """A device stream's blocks and status events until ``until(blocks, statuses)`` holds
    or ``timeout`` (a bound, not a speed) has passed."""
    import time

    from bbfeedback.drivers.status import Status

    from bbfeedback.signal.blocks import Block

    blocks, statuses = [], []
    end = time.monotonic() + timeout
    while time.monotonic() < end and not until(blocks, statuses):
        item = stream.get(timeout=0.1)
        if isinstance(item, Block):
            blocks.append(item)
        elif isinstance(item, Status):
            statuses.append(item)
    return blocks, statuses
