"""Which of the patient's own contractions answers a repetition's cue.

The detector turns the signal into the patient's contractions (onset, offset, peak); this
module assigns them to the protocol's repetitions, in order, on the sample clock, so every
repetition is judged from what she did and not from a window of the protocol's clock.

Rules (documented in the README, issue 22):
- **Reaction window.** A contraction answers a cue when its onset lies from ``EARLY_S``
  (2 s) before the cue - at most half the rest before it: a patient who knows the rhythm
  anticipates the cue, but a contraction in the first half of the rest is still the
  previous repetition's rest not kept - to the end of the work phase for a hold (a late
  start is her answer, said as timing: ``late_onset``), or ``LATE_S`` (1.5 s; at most half
  the rest after it) after the cue for a quick squeeze, whose work phase (0.3-1 s) is
  shorter than a normal reaction time (0.4-0.9 s plus the squeeze itself).
- **In order, once.** A contraction answers one repetition at most, and a repetition's
  answer begins after the previous repetition's: the assignment is monotone on the sample
  clock, decided for each repetition when its rest has ended (the same rule live and
  offline, so the same answer).
- **A hold is a hold.** For a work phase held ``hold_s`` seconds, a twitch shorter than
  ``MIN_HOLD_FRACTION`` of it (at most ``MIN_HOLD_S``) is not the answer while a longer
  contraction is in the window (a hold that breaks up is judged by its longest part).
- **Nearest the cue.** Among the candidates, the one whose onset is nearest the cue.

A recording made at another rhythm (another device's cues, or the patient's own count) is
aligned before scoring (``app/analyze.py``: each repetition anchored at her own contraction
when the protocol's rhythm does not fit); within a session, the cue is the rhythm.
"""

from __future__ import annotations

from dataclasses import dataclass

from bbfeedback.detect.contractions import Contraction

EARLY_S = 2.0  # she may begin this long before the cue (at most half the rest before it)
LATE_S = 1.5  # a quick squeeze may begin this long after its cue (at most half the rest after)
MIN_HOLD_FRACTION = 0.3  # a hold's answer lasts at least this fraction of the hold ...
MIN_HOLD_S = 1.0  # ... or this long, whichever is less


@dataclass(frozen=True)
class Window:
    """Where a repetition's answer may begin, on the recording clock."""

    start_s: float
    end_s: float
    min_s: float  # the shortest contraction that counts as the answer (0: any)


def reaction_window(cue_s: float, work_s: float, hold_s: float, quick: bool,
                    rest_before_s: float | None, rest_after_s: float | None) -> Window:
    """The reaction window of one repetition (see the module's rules)."""
    early = EARLY_S if rest_before_s is None else min(EARLY_S, rest_before_s / 2)
    if quick:
        late = LATE_S if rest_after_s is None else min(LATE_S, max(work_s, rest_after_s / 2))
        return Window(cue_s - early, cue_s + max(late, work_s), 0.0)
    shortest = min(MIN_HOLD_FRACTION * hold_s, MIN_HOLD_S) if hold_s > 0 else 0.0
    return Window(cue_s - early, cue_s + work_s, shortest)


def answer(events: list[tuple[Contraction, bool]], cue_s: float, window: Window,
           after_s: float) -> Contraction | None:
    """The patient's contraction for a cue: ``events`` are (contraction, still going on) in
    onset order; only onsets inside ``window`` and later than ``after_s`` (the previous
    repetition's answer) count. A contraction still going on is as long as it has lasted,
    which is at least its full length for a hold that is still held."""
    inside = [(c, going) for c, going in events
              if window.start_s <= c.onset_s <= window.end_s and c.onset_s > after_s]
    if not inside:
        return None
    holds = [c for c, going in inside if going or c.offset_s - c.onset_s >= window.min_s]
    pool = holds or [c for c, _ in inside]
    return min(pool, key=lambda c: abs(c.onset_s - cue_s))


def next_onset(events: list[tuple[Contraction, bool]], after_s: float) -> float | None:
    """The onset of the first contraction that begins after ``after_s`` (the end of this
    repetition's answer): where her rest ends, whatever the cue said."""
    return next((c.onset_s for c, _ in events if c.onset_s > after_s), None)
