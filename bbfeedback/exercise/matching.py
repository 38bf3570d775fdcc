"""Which of the patient's own contractions answers a repetition's cue.

The detector turns the signal into the patient's contractions (onset, offset, peak); this
module assigns them to the protocol's repetitions, in order, on the sample clock, so every
repetition is judged from what she did and not from a window of the protocol's clock.

Rules (documented in docs/scoring.md):
- **Reaction window.** A contraction answers a cue when its onset lies from ``EARLY_S``
  (2 s) before the cue - at most half the rest before it: a patient who knows the rhythm
  anticipates the cue, but a contraction in the first half of the rest is still the
  previous repetition's rest not kept - to the end of the work phase for a hold (a late
  start is her answer, said as timing: ``late_onset``), or ``LATE_S`` (1.5 s; never into
  the next cue's early window) after the cue for a quick squeeze, whose work phase (0.3-1
  s) is shorter than a normal reaction time (0.4-0.9 s plus the squeeze itself).
- **Between two quick cues, her own timing decides.** A squeeze after one cue's window and
  before the next one's (a3: 1.5-2 s after a cue, 1-1.5 s before the next) is that cue's
  late answer when she has been reacting after her cues (her expected lag >= 0), and the
  next cue's early answer when she has been anticipating them: the same moment is +1.9 s
  or -1.1 s, and only her rhythm tells which (``orphan_answer``).
- **In order, once.** A contraction answers one repetition at most, and a repetition's
  answer begins after the previous repetition's: the assignment is monotone on the sample
  clock, decided for each repetition when its rest has ended (the same rule live and
  offline, so the same answer).
- **A hold is a hold.** For a work phase held ``hold_s`` seconds, a twitch shorter than
  ``MIN_HOLD_FRACTION`` of it (at most ``MIN_HOLD_S``) is not the answer while a longer
  contraction is in the window (a hold that breaks up is judged by its longest part).
- **Nearest her own timing.** Among the candidates, the one whose onset is nearest the cue
  moved by her own reaction so far (the median lag of her last ``DRIFT_REPS`` answers, at
  most ``EARLY_S`` early and ``LATE_S`` late): a patient who keeps anticipating, or whose
  rhythm drifts, is followed. This is the forward step of a sequence alignment (dynamic
  programming over cues and contractions, cost = distance from her expected onset) with
  each repetition's decision committed when its rest ends: a globally re-aligned path
  would let a later contraction change a judgement the patient has already seen, and
  live would no longer equal the file.
- **Too early is said as timing.** With no answer in the window, a contraction that began
  in the rest before it (after the previous answer) and was a squeeze is her answer, begun
  too early (``early_onset``, "te vroeg begonnen"): she did the repetition (a hold that
  lasted at least the twitch limit; a flick that reached the band), and her hold is timed
  from her own onset, so the early start is said once and not again as a short hold or as
  the previous rest not kept (that rest ends at her onset). A squeeze: the envelope reaches
  the target band - a flick at its peak, a hold on the median up to the cue - which a rest
  too tense to fall below the detector's *off* level does not (``RepScorer._squeezing``).

A recording made at another rhythm (another device's cues, or the patient's own count) is
aligned before scoring (``app/alignment.py``: each repetition anchored at her own contraction
when the protocol's rhythm does not fit); within a session, the cue is the rhythm.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bbfeedback.detect.contractions import Contraction

EARLY_S = 2.0  # she may begin this long before the cue (at most half the rest before it)
LATE_S = 1.5  # a quick squeeze may begin this long after its cue (at most half the rest after)
MIN_HOLD_FRACTION = 0.3  # a hold's answer lasts at least this fraction of the hold ...
MIN_HOLD_S = 1.0  # ... or this long, whichever is less
DRIFT_REPS = 3  # her expected reaction: the median lag of this many answers before


def expected_lag_s(lags_s: list[float]) -> float:
    """Her own reaction so far (see the module's rules): 0 before any answer."""
    if not lags_s:
        return 0.0
    recent = sorted(lags_s[-DRIFT_REPS:])
    mid = len(recent) // 2
    lag = recent[mid] if len(recent) % 2 else (recent[mid - 1] + recent[mid]) / 2
    return min(max(lag, -EARLY_S), LATE_S)


@dataclass(frozen=True)
class Window:
    """Where a repetition's answer may begin, on the recording clock."""

    start_s: float
    end_s: float
    min_s: float  # the shortest contraction that counts as the answer (0: any)
    tail_end_s: float | None = None  # a quick squeeze: to the next cue's early window


def reaction_window(cue_s: float, work_s: float, hold_s: float, quick: bool,
                    rest_before_s: float | None, rest_after_s: float | None) -> Window:
    """The reaction window of one repetition (see the module's rules)."""
    early = EARLY_S if rest_before_s is None else min(EARLY_S, rest_before_s / 2)
    if quick:  # up to LATE_S after the cue, never into the next cue's early window; the
        # rest of the way to that window is the ``tail``: a squeeze there belongs to no
        # cue by the clock alone (``orphan_answer`` decides by her own timing)
        end = cue_s + max(LATE_S, work_s)
        tail = end
        if rest_after_s is not None:
            tail = cue_s + work_s + rest_after_s - min(EARLY_S, rest_after_s / 2)
            end = min(end, tail)
        return Window(cue_s - early, max(end, cue_s + work_s), 0.0, max(tail, end))
    shortest = min(MIN_HOLD_FRACTION * hold_s, MIN_HOLD_S) if hold_s > 0 else 0.0
    return Window(cue_s - early, cue_s + work_s, shortest)


def answer(events: list[tuple[Contraction, bool]], cue_s: float, window: Window,
           after_s: float, lag_s: float = 0.0) -> Contraction | None:
    """The patient's contraction for a cue: ``events`` are (contraction, still going on) in
    onset order; only onsets inside ``window`` and later than ``after_s`` (the previous
    repetition's answer) count. A contraction still going on is as long as it has lasted,
    which is at least its full length for a hold that is still held. ``lag_s``: her own
    reaction so far (``expected_lag_s``); the nearest to ``cue_s + lag_s`` wins."""
    inside = [(c, going) for c, going in events
              if window.start_s <= c.onset_s <= window.end_s and c.onset_s > after_s]
    if not inside:
        return None
    holds = [c for c, going in inside if going or c.offset_s - c.onset_s >= window.min_s]
    pool = holds or [c for c, _ in inside]
    return min(pool, key=lambda c: abs(c.onset_s - cue_s - lag_s))


def early_answer(events: list[tuple[Contraction, bool]], window: Window, after_s: float,
                 rest_start_s: float,
                 squeeze: Callable[[Contraction, bool], bool]) -> Contraction | None:
    """A repetition begun too early (see the module's rules): a contraction whose onset lies
    in the rest before the window (from ``rest_start_s``, after ``after_s``), a squeeze
    (``squeeze(contraction, still going on)``), and for a hold at least ``window.min_s``
    long (or still going on); the latest such one."""
    early = [c for c, going in events
             if rest_start_s <= c.onset_s < window.start_s and c.onset_s > after_s
             and (going or c.offset_s - c.onset_s >= window.min_s) and squeeze(c, going)]
    return early[-1] if early else None


def late_answer(events: list[tuple[Contraction, bool]], window: Window,
                after_s: float) -> Contraction | None:
    """A quick squeeze begun after the window, in its tail (see the module's rules): the
    first such one after ``after_s``."""
    tail = window.tail_end_s if window.tail_end_s is not None else window.end_s
    return next((c for c, _ in events if window.end_s < c.onset_s <= tail
                 and c.onset_s > after_s), None)


def next_onset(events: list[tuple[Contraction, bool]], after_s: float) -> float | None:
    """The onset of the first contraction that begins after ``after_s`` (the end of this
    repetition's answer): where her rest ends, whatever the cue said."""
    return next((c.onset_s for c, _ in events if c.onset_s > after_s), None)
