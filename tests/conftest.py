import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data" / "real"
SAMPLES = ROOT / "sample_data"


@pytest.fixture
def shared_real() -> Path:
    if not SHARED.exists():
        pytest.fail(f"shared data folder missing: {SHARED}")
    return SHARED
