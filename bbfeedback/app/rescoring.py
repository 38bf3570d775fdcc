"""A re-scored session's result as the recording is told about it: how its repetitions met
the recording (``protocol.alignment``, ``protocol.start_s``), and, when they were placed at
the patient's own contractions, without what only a cue can give (latencies). Built as new
values: the session's own result stays as it scored."""

from __future__ import annotations

from bbfeedback import texts
from bbfeedback.exercise import sentences

LATENCY_FLAGS = ("late_onset", "slow_release")  # said against a cue: none without one


def by_contractions(how: str) -> bool:
    """Were the repetitions placed at the patient's own contractions (``Alignment.how``)?"""
    return how.startswith("contractions") or "rhythm did not fit" in how


def rescored(result: dict, how: str, start_s: float) -> dict:
    """``result`` (``Session.result``) with its alignment and start said, and without cue
    latencies when its repetitions follow the contractions (the summary said again)."""
    protocol = {**result["protocol"], "alignment": how}
    out = {**result, "protocol": protocol}
    if by_contractions(how):
        reps = without_cues(result["reps"])
        out["reps"] = reps
        out["summary"] = said_aligned_by_contractions(resummarised(result["summary"], reps),
                                                      how)
    out["protocol"] = {**protocol, "start_s": round(start_s, 4)}
    return out


def without_cues(reps: list[dict]) -> list[dict]:
    """Repetitions placed at the patient's own contractions have no cue to react to: no rise
    or release time and no latency flag (a 0,00 s release read as relaxing at once)."""
    return [{**r, "rise_s": None, "release_s": None,
             "flags": [f for f in r["flags"] if f not in LATENCY_FLAGS]} for r in reps]


def resummarised(summary: dict, reps: list[dict]) -> dict:
    """The summary's text in every language said again from ``reps``."""
    for lang in texts.LANGS:
        summary = {**summary, f"text_{lang}": sentences.summary_text(summary, reps, lang)}
    return summary


def said_aligned_by_contractions(summary: dict, how: str) -> dict:
    """The summary saying that its repetitions follow the contractions, not cues (and why)."""
    out = dict(summary)
    for lang in texts.LANGS:
        why = texts.text("rhythm_did_not_fit", lang) if "rhythm" in how else ""
        line = texts.text("by_contractions", lang, why=why)
        key = f"text_{lang}"
        out[key] = f"{out[key]} {line}".strip() if out.get(key) else line
    return out
