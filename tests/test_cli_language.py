"""Command-line messages in the chosen language (issue 24): an error is raised in English
and shown through the one catalogue (``texts.MESSAGES``), so ``--lang nl`` gives a Dutch
line, a decimal comma and "fout", and English stays as it was. Through the user's command."""

from __future__ import annotations

import re
import string
import subprocess
import sys

import pytest
from test_language import dutch_problems

from bbfeedback import texts

BB = [sys.executable, "-m", "bbfeedback"]

# (command line, a Dutch phrase the message must hold) - the mistakes a physiotherapist makes
MISTAKES = [
    (["record", "--device", "nosuch"], "bestaat niet (kies uit"),
    (["record", "--device", "sim", "--seconds", "-1"], "moet een getal van 0,01 tot"),
    (["record", "--device", "sim", "--seconds", "1", "--patient", "123456782", "--out",
      "{d}/x.edf"], "burgerservicenummer"),
    (["record", "--device", "sim", "--seconds", "1", "--patient", "Jan Jansen", "--out",
      "{d}/x.edf"], "geen naam"),
    (["record", "--device", "p2", "--seconds", "1", "--out", "{d}/x.edf"], "heeft --port nodig"),
    (["record", "--device", "sim", "--seconds", "1"], "deze opties ontbreken: --out"),
    (["report", "{d}/missing.edf", "--out", "{d}/r.html"], "dit bestand bestaat niet"),
    (["report", "--out", "{d}/r.html"], "sessiebestand"),
    (["protocols", "show", "a1-strenght"], "geen oefening met deze naam"),
    (["history", "nobody", "--db", "{d}/missing.db"], "geen geschiedenis in"),
    (["analyze", "{d}/notes.txt"], "onbekend soort bestand"),
]


def _run(args: list[str], tmp_path, lang: str) -> subprocess.CompletedProcess:
    (tmp_path / "notes.txt").write_text("no recording")
    cmd = [a.replace("{d}", str(tmp_path)) for a in args] + ["--lang", lang]
    return subprocess.run(BB + cmd, capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)


@pytest.mark.parametrize(("args", "phrase"), MISTAKES, ids=lambda v: "-".join(v)[:40]
                         if isinstance(v, list) else None)
def test_a_mistake_is_one_line_in_the_chosen_language(args, phrase, tmp_path):
    nl, en = _run(args, tmp_path, "nl"), _run(args, tmp_path, "en")
    assert nl.returncode == en.returncode == 2
    line_nl, line_en = nl.stderr.strip(), en.stderr.strip()
    assert "\n" not in line_nl and "\n" not in line_en
    assert line_nl.startswith("bbfeedback: fout: ") and phrase in line_nl, line_nl
    assert line_en.startswith("bbfeedback: error: ") and line_en != line_nl
    said = re.sub(r"'[^']*'|`[^`]*`|\S*/\S*|--[\w-]+|\((kies uit|ingebouwd:|zie:) [^)]*\)",
                  " ", line_nl.removeprefix("bbfeedback: fout: "))  # values, paths, options
    assert not dutch_problems(said), (said, dutch_problems(said))


def test_every_row_of_the_catalogue_is_sound():
    """Each pattern compiles, each ``{name}`` of the Dutch is a group of its pattern, and
    the Dutch itself (names filled with a digit) is plain Dutch."""
    for pattern, dutch in texts.MESSAGES:
        groups = set(re.compile(pattern).groupindex)
        used = {name for _, name, _, _ in string.Formatter().parse(dutch) if name}
        assert used <= groups, (pattern, used - groups)
        filled = re.sub(r"\{\w+\}", "7", dutch)
        plain = re.sub(r"--[\w-]+|`[^`]*`|\S+\.\S+|QT_QPA_PLATFORM\S*", " ", filled)
        assert not dutch_problems(plain), (dutch, dutch_problems(plain))


def test_a_message_without_a_row_stays_english_and_values_are_not_translated():
    assert texts.message("something new went wrong", "nl") == "something new went wrong"
    assert texts.message("no such file", "en") == "no such file"
    # a patient's code that reads like a message is shown as given
    line = texts.message("patient id 'no such file' looks like a citizen service number "
                         "(BSN): use a pseudonymous code (e.g. P017)", "nl")
    assert "'no such file'" in line and "burgerservicenummer" in line


def test_the_window_takes_the_system_language_for_its_messages(monkeypatch):
    from bbfeedback.app.cli import message_language

    monkeypatch.setenv("LC_ALL", "nl_NL.UTF-8")
    assert message_language(["gui", "--protocol", "x"]) == "nl"
    assert message_language(["report", "x.edf"]) == "en"
    assert message_language(["gui", "--lang", "en"]) == "en"
    assert message_language(["report", "--lang=nl"]) == "nl"


def test_a_warning_is_in_the_chosen_language(tmp_path):
    """Before: warnings (logged while a command runs) stayed English under ``--lang nl``."""
    rec = tmp_path / "a1.edf"
    made = subprocess.run(BB + ["record", "--device", "sim", "--protocol", "a1-strength",
                                "--seconds", "60", "--speed", "50", "--out", str(rec)],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert made.returncode == 0, made.stderr[-2000:]
    said = {}
    for lang in ("nl", "en"):
        got = subprocess.run(BB + ["analyze", str(rec), "--protocol", "a2-endurance",
                                   "--lang", lang], capture_output=True, text=True,
                             timeout=600, cwd=tmp_path)
        assert got.returncode == 0, got.stderr[-2000:]
        said[lang] = [ln for ln in got.stderr.splitlines() if "a2-endurance" in ln]
    assert said["nl"] == [f"bbfeedback: waarschuwing: {rec}: opgenomen met a1-strength, nu "
                          "gescoord als a2-endurance"]
    assert said["en"] == [f"bbfeedback: warning: {rec}: recorded with a1-strength, scored "
                          "now as a2-endurance"]


def test_record_says_what_it_did_in_the_chosen_language(tmp_path):
    """Walkthrough: ``record --lang nl`` said "simulated sensor: connected" and "recorded ...
    samples" in English around its Dutch summary."""
    out = {}
    for lang in ("nl", "en"):
        got = subprocess.run(BB + ["record", "--device", "sim", "--seconds", "2", "--speed",
                                   "20", "--out", str(tmp_path / f"{lang}.edf"), "--lang",
                                   lang], capture_output=True, text=True, timeout=600,
                             cwd=tmp_path)
        assert got.returncode == 0, got.stderr[-2000:]
        out[lang] = got
    nl, en = out["nl"], out["en"]
    assert nl.stderr.strip() == "bbfeedback: gesimuleerde sensor: verbonden"
    assert en.stderr.strip() == "bbfeedback: simulated sensor: connected"
    assert nl.stdout.startswith("2000 meetwaarden (2,0 s) opgenomen in ") and \
        "verloren meetwaarden: 0" in nl.stdout, nl.stdout
    assert en.stdout.startswith("recorded 2000 samples (2.0 s) to "), en.stdout
    assert not dutch_problems(nl.stdout.split(" opgenomen in ")[0])
