import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_DB = Path(__import__("tempfile").mkdtemp(prefix="bbfeedback-test-")) / "history.sqlite3"
os.environ.setdefault("BBFEEDBACK_DB", str(_DB))  # tests never touch the user's history

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data" / "real"
SAMPLES = ROOT / "sample_data"


@pytest.fixture
def shared_real() -> Path:
    if not SHARED.exists():
        pytest.fail(f"shared data folder missing: {SHARED}")
    return SHARED
