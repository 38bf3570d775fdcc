"""The README is a front page and the documentation pages build without a broken link
(issue 24): `mkdocs build --strict` fails on a link to a missing page, image or anchor. The
researcher's quick start in the README works verbatim."""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import BB

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def test_readme_is_a_front_page():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 200
    text = "\n".join(lines)
    for heading in ("## Quick start for the physiotherapist", "## Quick start for the researcher"):
        assert heading in text
    assert "../shared" not in text and not re.search(r"\bissue \d+", text)


def test_readme_links_resolve():
    text = README.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    assert targets, "the README links to the documentation"
    missing = [t for t in targets if not t.startswith("http") and not (ROOT / t).exists()]
    assert missing == []


def test_mkdocs_build_strict(tmp_path):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site"),
         "--config-file", str(ROOT / "mkdocs.yml")],
        capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    for page in ("index", "physiotherapist", "researcher", "scoring", "commands"):
        assert (tmp_path / "site" / page).exists() or (tmp_path / "site" / f"{page}.html").exists()


def _block_after(heading: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split(heading, 1)[1]
    block = section.split("```bash", 1)[1].split("```", 1)[0]
    return [ln.split("#", 1)[0].strip() for ln in block.splitlines() if ln.strip()]


def test_researcher_quick_start_works_verbatim(tmp_path):
    """Every command of the README's researcher block, in a folder holding sample_data (the
    install line is the test's own install)."""
    shutil.copytree(ROOT / "sample_data", tmp_path / "sample_data",
                    ignore=shutil.ignore_patterns("*.py", "README*"))
    commands = [c for c in _block_after("## Quick start for the researcher")
                if c.startswith("bbfeedback ")]
    assert len(commands) >= 4
    for command in commands:
        argv = [*BB, *shlex.split(command)[1:]]
        done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, (command, done.stderr[-2000:])
    assert (tmp_path / "results.csv").stat().st_size > 0
    assert (tmp_path / "bids" / "participants.tsv").exists()
