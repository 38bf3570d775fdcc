import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_DB = Path(__import__("tempfile").mkdtemp(prefix="bbfeedback-test-")) / "history.sqlite3"
os.environ.setdefault("BBFEEDBACK_DB", str(_DB))  # tests never touch the user's history

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"  # small real files, each with SOURCE.txt
SAMPLES = ROOT / "sample_data"


@pytest.fixture
def real_data() -> Path:
    """Real public recordings copied into the project (tests/data/*/SOURCE.txt)."""
    return DATA
