"""The layers import downwards only (issue 24): a new engineer can read a layer knowing only
the ones below it. Read from the source with ``ast`` (imports inside functions count too)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = {"bbfeedback": ROOT / "bbfeedback", "drivers": ROOT / "drivers", "gui": ROOT / "gui"}
# each layer and what it may import of bbfeedback (besides itself)
BASE = {"errors", "texts", "__version__"}
ALLOWED = {
    "errors": set(), "texts": set(),
    "signal": BASE,
    "detect": BASE | {"signal"},
    "drivers": BASE | {"signal"},
    "recording": BASE | {"signal"},
    "exercise": BASE | {"signal", "detect", "recording"},
    "app": BASE | {"signal", "detect", "drivers", "recording", "exercise",
                   "gui"},  # the CLI's ``gui`` command opens the window
    "gui": BASE | {"signal", "detect", "drivers", "recording", "exercise", "app"},
    "__main__": {"app"}, "__init__": set(),
}


def _layer(target: str) -> str | None:
    parts = target.split(".")
    if parts[0] != "bbfeedback":
        return None
    return parts[1] if len(parts) > 1 else "bbfeedback"


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "bbfeedback":
                found |= {f"bbfeedback.{a.name}" for a in node.names}
            else:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return found


def _modules() -> list[tuple[str, Path]]:
    out = []
    for name, folder in FOLDERS.items():
        for path in sorted(folder.rglob("*.py")):
            rel = path.relative_to(folder).with_suffix("").parts
            layer = name if name != "bbfeedback" else rel[0]
            out.append((layer, path))
    return out


def test_every_module_imports_only_the_layers_below_it():
    wrong = []
    for layer, path in _modules():
        allowed = ALLOWED[layer] | {layer}
        for target in _imports(path):
            below = _layer(target)
            if below is not None and below not in allowed:
                wrong.append(f"{path.relative_to(ROOT)} ({layer}) imports {target}")
    assert not wrong, "\n".join(wrong)


def test_the_check_sees_a_crossing():
    """The test above can fail: a layer reading one above it is found."""
    # anonymisation knows the bundled protocols: in ``recording`` it would be a crossing
    targets = _imports(ROOT / "bbfeedback" / "app" / "anonymise.py")
    assert "exercise" in {_layer(t) for t in targets} and "exercise" not in ALLOWED["recording"]
    assert "app" not in ALLOWED["exercise"] and "exercise" not in ALLOWED["drivers"]
