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


# --- a fast lane: ``pytest -m "not slow"`` ---------------------------------------------------
# The tests named in slow_tests.txt are marked ``slow``: each took over SLOW_S in a measured run,
# or shares a module-scoped fixture that took that long to set up (deselecting only the test
# that paid for it would move the cost to the next one: such a module is named whole, as
# ``tests/test_x.py``). Made by ``BBFEEDBACK_TIMINGS=t.json python3 -m pytest`` (the whole
# suite), then ``python3 tests/slow_tests.py t.json``; the rest run in about two minutes.
SLOW_LIST = Path(__file__).resolve().parent / "slow_tests.txt"
_TIMES: dict[str, dict[str, float]] = {}


def pytest_collection_modifyitems(config, items) -> None:
    # one node id a line (ids may hold spaces: "[nl-Voor de patiënt: ...]")
    slow = set(SLOW_LIST.read_text(encoding="utf-8").splitlines()) if SLOW_LIST.exists() else set()
    for item in items:
        if item.nodeid in slow or item.nodeid.split("::")[0] in slow:
            item.add_marker(pytest.mark.slow)


def pytest_runtest_logreport(report) -> None:
    phases = _TIMES.setdefault(report.nodeid, {})
    phases[report.when] = phases.get(report.when, 0.0) + report.duration


def pytest_sessionfinish(session) -> None:
    out = os.environ.get("BBFEEDBACK_TIMINGS")
    if out:
        import json

        Path(out).write_text(json.dumps(_TIMES, indent=0, sort_keys=True))
