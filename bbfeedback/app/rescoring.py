"""A re-scored session's result as the recording is told about it: how its repetitions met
the recording (``protocol.alignment``, ``protocol.start_s``), and, when they were placed at
the patient's own contractions, without what only a cue can give (latencies). Built as new
values: the session's own result stays as it scored."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from bbfeedback import texts
from bbfeedback.exercise import sentences
from bbfeedback.exercise.result import SessionResult
from bbfeedback.exercise.scores import Flag, RepScore

LATENCY_FLAGS = (Flag.LATE_ONSET, Flag.SLOW_RELEASE)  # said against a cue: none without one


def by_contractions(how: str) -> bool:
    """Were the repetitions placed at the patient's own contractions (``Alignment.how``)?"""
    return how.startswith("contractions") or "rhythm did not fit" in how


def rescored(result: SessionResult, how: str, start_s: float) -> SessionResult:
    """``result`` with its alignment and start said, and without cue latencies when its
    repetitions follow the contractions (the summary said again)."""
    out = replace(result, protocol=replace(result.protocol, alignment=how, start_s=start_s))
    if by_contractions(how):
        reps = without_cues(result.reps)
        out = replace(out, reps=reps, summary=said_aligned_by_contractions(
            resummarised(result.summary, reps), how))
    return out


def without_cues(reps: Sequence[RepScore]) -> tuple[RepScore, ...]:
    """Repetitions placed at the patient's own contractions have no cue to react to: no rise
    or release time and no latency flag (a 0,00 s release read as relaxing at once)."""
    return tuple(replace(r, rise_s=None, release_s=None,
                         flags=tuple(f for f in r.flags if f not in LATENCY_FLAGS))
                 for r in reps)


def resummarised(summary: Mapping[str, Any], reps: Sequence[RepScore]) -> dict:
    """The summary's text in every language said again from ``reps``."""
    out = dict(summary)
    for lang in texts.LANGS:
        out[f"text_{lang}"] = sentences.summary_text(out, reps, lang)
    return out


def said_aligned_by_contractions(summary: Mapping[str, Any], how: str) -> dict:
    """The summary saying that its repetitions follow the contractions, not cues (and why)."""
    out = dict(summary)
    for lang in texts.LANGS:
        why = texts.text("rhythm_did_not_fit", lang) if "rhythm" in how else ""
        line = texts.text("by_contractions", lang, why=why)
        key = f"text_{lang}"
        out[key] = f"{out[key]} {line}".strip() if out.get(key) else line
    return out
