"""Installation layout: drivers/ and gui/ import as bbfeedback.drivers / bbfeedback.gui."""

import subprocess
import sys
from pathlib import Path

from conftest import ROOT

CORE_MODULES = [
    p.stem for p in (ROOT / "bbfeedback").glob("*.py") if p.stem not in ("__init__", "__main__")
]


def _run(code: str, tmp_path: Path) -> str:
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, check=True)
    return out.stdout


def test_subpackages_map_to_project_folders(tmp_path):
    out = _run(
        "import bbfeedback.drivers as d, bbfeedback.gui as g, importlib.util as u;"
        "print(d.__file__); print(g.__file__); print(u.find_spec('drivers'), u.find_spec('gui'))",
        tmp_path,
    )
    drivers_file, gui_file, top = out.splitlines()
    assert Path(drivers_file).resolve().parent == (ROOT / "drivers").resolve()
    assert Path(gui_file).resolve().parent == (ROOT / "gui").resolve()
    assert top == "None None"  # no generic top-level packages installed


def test_core_never_imports_qt(tmp_path):
    mods = ",".join(f"bbfeedback.{m}" for m in CORE_MODULES)
    out = _run(
        f"import importlib, sys\nfor m in '{mods}'.split(','): importlib.import_module(m)\n"
        "print(sorted(k for k in sys.modules if k.split('.')[0] in ('PySide6','pyqtgraph')))",
        tmp_path,
    )
    assert out.strip() == "[]"


def test_console_script_runs(tmp_path):
    """The installed command, found beside this Python (a venv need not be activated)."""
    import sysconfig

    script = Path(sysconfig.get_path("scripts")) / "bbfeedback"
    out = subprocess.run([str(script), "--version"], capture_output=True, text=True,
                         cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.startswith("bbfeedback ")
