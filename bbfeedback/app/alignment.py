"""Where a recording's repetitions are placed when it is scored again: at its cue annotations,
else on the protocol's timeline started at the first contraction when the patient kept its
rhythm, else each repetition at her own contraction (issues 12 and 22: a therapist counting
aloud, home practice by the leaflet, another device)."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from bbfeedback.detect.contractions import Contraction
from bbfeedback.errors import InputError
from bbfeedback.exercise.matching import EARLY_S
from bbfeedback.exercise.protocols import Protocol
from bbfeedback.exercise.rep_scorer import rep_groups
from bbfeedback.exercise.scoring import FOLLOW_S
from bbfeedback.recording import Recording

FIT_FRACTION = 0.8  # of the repetitions with a contraction near their cue: the rhythm fits
# with --start-s the therapist says where the exercise began: her own rhythm replaces the
# protocol's only when it is clearly another one (fewer than half of the cues find her), not
# when she skipped a few repetitions
START_FIT_FRACTION = 0.5


class Alignment(NamedTuple):
    """How a re-scored session meets the recording: its first work cue, how that was found
    (said in the result as ``protocol.alignment``), and each repetition's start when they are
    placed at the patient's own contractions (None: on the protocol's timeline)."""

    start_s: float
    how: str
    anchors: list[float] | None


def find_alignment(recording: Recording, contractions: Callable[[], list[Contraction]],
                   start_s: float | None, protocol: Protocol, align: str = "auto"
                   ) -> Alignment:
    """Cue annotations come first, unless ``align`` is "contractions"; without them the
    protocol's timeline starts at the first contraction when its rhythm fits the
    contractions (``FIT_FRACTION`` of the repetitions have one within ``FOLLOW_S`` of their
    cue), else each repetition starts at its own contraction. ``start_s`` (``--start-s``)
    anchors the match there; it does not force the protocol's rhythm on a patient who kept
    her own (issue 22: a recording at another rhythm). ``contractions``: the scored
    channel's, asked for only when needed (detecting them is a pass over the file)."""
    if start_s is not None:
        return _from_start(recording, contractions, start_s, protocol, align)
    first = recording.meta.first_work_cue_s()
    if first is not None and align != "contractions":
        return Alignment(first, "cue annotations", None)
    if align == "cues":
        raise InputError("--align cues: the recording has no cue annotations",
                         recording.path)
    # a session's calibration squeezes are not repetitions: from its first work cue on
    after = -float("inf") if first is None else first - FOLLOW_S
    mine = [e for e in contractions() if e.onset_s >= after]
    if not mine:
        raise InputError("no cue annotations and no contraction to align the protocol to "
                         "(give --start-s)", recording.path)
    anchors = contraction_anchors(protocol, mine)
    if align == "contractions":
        if not anchors:
            raise InputError("--align contractions: no contraction long enough to be a "
                             "repetition of this protocol", recording.path)
        return Alignment(anchors[0], "contractions", anchors)
    if _fits(protocol, mine) or len(anchors) < 2:
        return Alignment(mine[0].onset_s, "first contraction", None)
    return Alignment(anchors[0], "contractions, rhythm did not fit", anchors)


def _from_start(recording: Recording, contractions: Callable[[], list[Contraction]],
                start_s: float, protocol: Protocol, align: str) -> Alignment:
    """``--start-s``: the therapist's start, on the protocol's timeline unless the patient
    clearly kept another rhythm (``START_FIT_FRACTION``) in a file without cues."""
    if align != "auto":
        raise InputError(f"--start-s and --align {align} exclude each other")
    if start_s >= recording.duration_s:
        raise InputError(f"--start-s {start_s:g} is after the end of the recording "
                         f"({recording.duration_s:.1f} s)", recording.path)
    if recording.meta.first_work_cue_s() is not None:  # cues say what she followed
        return Alignment(start_s, "--start-s", None)
    mine = [e for e in contractions()
            if e.onset_s >= start_s - EARLY_S]  # she may anticipate the first cue
    anchors = contraction_anchors(protocol, mine)
    if len(anchors) < 2 or _fits(protocol, mine, start_s, START_FIT_FRACTION):
        return Alignment(start_s, "--start-s", None)
    return Alignment(anchors[0], "--start-s, rhythm did not fit", anchors)


def _rep_plan(protocol: Protocol) -> list[tuple[float, float | None]]:
    """(planned start from the first repetition's, work length; None: as long as the
    patient can) of every repetition."""
    steps = protocol.timeline()
    plan = [(steps[w[0]].start_s, None if any(steps[i].phase.until_fail for i in w)
             else sum(steps[i].phase.duration_s for i in w)) for w, _ in rep_groups(steps)]
    return [(t - plan[0][0], work) for t, work in plan]


def _fits(protocol: Protocol, contractions: list[Contraction],
          start_s: float | None = None, fraction: float = FIT_FRACTION) -> bool:
    """Does the protocol's timeline, started at ``start_s`` (default: the first
    contraction), find a contraction near the cue of most of its repetitions: from
    ``EARLY_S`` before it (she anticipates, as ``matching``'s reaction window allows) to
    ``FOLLOW_S`` after?"""
    onsets = np.array([c.onset_s for c in contractions])
    first = onsets[0] if start_s is None else start_s
    cues = [first + t for t, _ in _rep_plan(protocol)
            if onsets[0] + t <= contractions[-1].offset_s]  # not after the recording's end
    near = sum(bool(((onsets >= cue - EARLY_S) & (onsets <= cue + FOLLOW_S)).any())
               for cue in cues)
    return near >= fraction * len(cues)


def contraction_anchors(protocol: Protocol, contractions: list[Contraction]) -> list[float]:
    """Each repetition's start taken from the patient's own contractions, in order: the next
    one that begins after 60 % of the last repetition's work (a hold that breaks up is not
    two; a hold as long as the patient can: after its end) and lasts at least 30 % of its
    own work (at most 1 s: a twitch is not a hold)."""
    anchors: list[float] = []
    after = float("-inf")
    for _, work in _rep_plan(protocol):
        shortest = 1.0 if work is None else min(0.3 * work, 1.0)
        c = next((c for c in contractions if c.onset_s >= after
                  and c.offset_s - c.onset_s >= shortest), None)
        if c is None:
            break
        anchors.append(c.onset_s)
        after = c.offset_s if work is None else c.onset_s + 0.6 * work
    return anchors


def anchored_until(protocol: Protocol, anchors: list[float] | None) -> float | None:
    """Where scoring by contractions ends: after the rest of the last repetition that has
    its own contraction, when some have none (the rest were not done: the session is
    scored as stopped there, incomplete). None: every repetition has one."""
    plan = _rep_plan(protocol)
    if not anchors or len(anchors) >= len(plan):
        return None
    k = len(anchors) - 1
    return anchors[k] + plan[k + 1][0] - plan[k][0] - 0.25  # before the next one's cue
