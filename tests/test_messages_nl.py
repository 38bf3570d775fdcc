"""Every command-line message has its Dutch: each error and warning raised in English in
bbfeedback/ and gui/ (found in the source, its formatted parts filled with a realistic
value) comes out of ``texts.message(..., "nl")`` translated, so a new English message
without a row in ``texts.MESSAGES`` fails here; and the sentences a physiotherapist meets
most read as they should."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from bbfeedback import texts
from bbfeedback.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("bbfeedback", "gui")
# the calls whose first argument is a message a user reads (an error, a log warning)
CALLS = {"InputError", "UsageError", "WriteFailed", "DeviceError", "SystemExit", "warn",
         "warning", "error"}

# a realistic value for a formatted part, by its expression as written; any other part is
# tried as a number (12, or 12.5 with a number format) and as a name ('emg')
EXAMPLES: dict[str, object] = {
    "where": "line 12",  # csvfile: "line 12: 3 values, expected 2"
    "want": "a voltage (uV, mV, V)",  # signal/blocks.py: "unit 'x' is not a voltage ..."
    "exc": "P017.edf: no such file",  # an error inside another
    "_unmade(made)": "; the new history database is removed again",
}
LOG_VALUES = {"s": "P017.edf", "d": "12", "g": "50", "r": "(50.0, 100.0)"}  # "%s", "%d", ...

# not messages of their own: only a format that puts a file's name before a message which
# is itself checked here (recording/__init__.py logs ``Recording.warn``'s words so)
NOT_MESSAGES = {"%s: %s"}


def _part(node: ast.FormattedValue, default: object) -> str:
    source = ast.unparse(node.value)
    if source in EXAMPLES:
        value = EXAMPLES[source]
    elif isinstance(node.value, ast.IfExp) and isinstance(node.value.body, ast.Constant):
        value = node.value.body.value  # the words said when it applies
    else:
        value = default
    spec = "".join(v.value for v in node.format_spec.values
                   if isinstance(v, ast.Constant)) if node.format_spec else ""
    if spec and spec[-1] in "fgde%":
        value = 12.5 if spec[-1] in "fge%" else 12
    elif spec:
        value = str(value)
    if node.conversion == ord("r"):
        value = repr(value)
    return format(value, spec)


def filled(arg: ast.expr) -> list[str] | None:
    """The message a call's first argument makes, once for each kind of default value
    (None: not a literal message)."""
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        texts_ = [arg.value]
    elif isinstance(arg, ast.JoinedStr):
        texts_ = ["".join(v.value if isinstance(v, ast.Constant) else _part(v, default)
                          for v in arg.values) for default in (12, "emg")]
    else:
        return None
    return [re.sub(r"%(?:\.\d+)?([sdgr])", lambda m: LOG_VALUES[m[1]], t)
            if "%" in t and t not in NOT_MESSAGES else t for t in texts_]


def messages(tree: ast.AST, where: str) -> dict[str, list[str]]:
    """Every message of a parsed module: {"file:line": its filled-in versions}."""
    found = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        if name in CALLS and (versions := filled(node.args[0])) is not None:
            found[f"{where}:{node.lineno}"] = versions
    return found


def untranslated(found: dict[str, list[str]]) -> dict[str, str]:
    """The messages no version of which ``texts.message`` turns into Dutch."""
    return {where: versions[0] for where, versions in found.items()
            if versions[0] not in NOT_MESSAGES
            and all(texts.message(v, "nl") == v for v in versions)}


def all_messages() -> dict[str, list[str]]:
    found = {}
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            found |= messages(ast.parse(path.read_text(encoding="utf-8")),
                              str(path.relative_to(ROOT)))
    return found


def test_every_message_in_the_source_has_its_dutch():
    found = all_messages()
    assert len(found) > 100  # the scan sees the messages (not an empty walk)
    missing = untranslated(found)
    assert not missing, "no Dutch row in texts.MESSAGES for:\n" + "\n".join(
        f"{where} | {english}" for where, english in sorted(missing.items()))


def test_a_new_english_message_without_a_row_is_reported():
    code = ('raise InputError(f"the probe slipped out after {seconds:.1f} s", path)\n'
            'log.warning("%s: the cable is loose", path)\n'
            'raise InputError("no such file", path)\n')
    missing = untranslated(messages(ast.parse(code), "new.py"))
    assert missing == {"new.py:1": "the probe slipped out after 12.5 s",
                       "new.py:2": "P017.edf: the cable is loose"}


def nl(english: str, path: str | None = None) -> str:
    return texts.said(InputError(english, path), "nl")


def test_the_messages_a_physiotherapist_meets_most_read_in_full():
    # a file that was cut off: recover it
    assert nl("is cut off or still being recorded (its header promises more than the file "
              "holds): bbfeedback recover P017.edf", "P017.edf") == (
        "P017.edf: is afgebroken of wordt nog opgenomen (de header belooft meer dan het "
        "bestand bevat): herstel het met `bbfeedback recover P017.edf`")
    assert nl("is still being recorded (or its recording was cut off: bbfeedback recover "
              "P017.edf)", "P017.edf") == (
        "P017.edf: wordt nog opgenomen (of de opname is afgebroken: herstel het met "
        "`bbfeedback recover P017.edf`)")
    # an output that is there already: --force
    assert nl("exists already; give another name or --force", "rapport.html") == (
        "rapport.html: bestaat al; geef een andere naam of --force")
    # no protocol recorded: choose one
    assert nl("no bbfeedback session in this file (no protocol was recorded): choose one",
              "oud.edf") == ("oud.edf: geen bbfeedback-sessie in dit bestand (er is geen "
                             "protocol opgenomen): kies er een")
    # a CSV column not named like emg_uV
    assert nl("column 'EMG' is not named <name>_<unit> (e.g. emg_uV)", "meting.csv") == (
        "meting.csv: kolom 'EMG' heeft geen naam als `<naam>_<eenheid>` (bijvoorbeeld "
        "`emg_uV`)")
    # a number written by the program: a decimal comma
    assert nl("--start-s 12.5 is after the end of the recording (10.0 s)", "P017.edf") == (
        "P017.edf: --start-s 12,5 ligt na het einde van de opname (10,0 s)")
    # a warning with its file's name first
    assert texts.message("P017.edf: gap annotation {'at_s': 3} does not fit the signal; "
                         "ignored", "nl") == ("P017.edf: annotatie van een onderbreking "
                                              "{'at_s': 3} past niet bij het signaal; genegeerd")


def test_english_stays_english():
    for english in ("exists already; give another name or --force",
                    "P017.edf: gap annotation 3 does not fit the signal; ignored"):
        assert texts.message(english, "en") == english
