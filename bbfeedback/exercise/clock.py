"""The protocol clock: when each step of the protocol starts and ends on the sample clock.

Steps follow each other: a step starts when the one before it ends. A fixed step ends its
planned duration after its start; an as-long-as-possible (until-fail) hold ends
``FAIL_BELOW_S`` after the envelope drops below its band, which the clock reads from the trace
as the envelope arrives. An optional step (the calibration's one more squeeze and its rest)
is decided by the ``skip`` hook when it would start: skipped, it takes no time and is never
cued, and the steps keep their indices. The session has ended when its last step has
(``ended``). Nothing here looks at the wall clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from bbfeedback.exercise.protocols import Step
from bbfeedback.exercise.targets import Targets
from bbfeedback.exercise.trace_store import TraceStore

FAIL_BELOW_S = 1.0  # an until-fail hold ends after this long below its band
GIVE_UP_S = 3.0  # an until-fail hold never reached ends this long after its reach time


@dataclass
class CueChange:
    t_s: float
    step: int
    kind: str
    cue: str
    cue_nl: str
    cue_en: str
    rep: int | None
    planned_s: float
    section: str
    posture: str | None
    calibration: bool = False  # a cue of the built-in calibration, not of the protocol


class ProtocolClock:
    """Start and end times of the steps, and the step whose cue was given last.

    ``starts`` (step index -> recording time) grows as steps begin; ``ends`` keeps the ends of
    until-fail holds (and of skipped steps) once they are known. The main channel's trace
    (from ``store``) and its bands (``targets``) tell when an until-fail hold is over."""

    def __init__(self, steps: list[Step], origin_s: float, store: TraceStore, main: int,
                 targets: Targets, anchors: dict[int, float] | None = None,
                 optional: Iterable[int] = (),
                 skip: Callable[[ProtocolClock, int], bool | None] | None = None):
        """``anchors``: step index -> start time, for a recording without cues scored by its
        contractions (``--align contractions``): the step before an anchored one ends there.
        ``optional``: the steps that may be skipped; ``skip(clock, i)`` is asked when one of
        them would start (its start reached): True skips it (no time, no cue), False runs it,
        None is "not known yet" (asked again with the next block: its cue waits, its start
        time does not move). Planned ahead, an optional step not begun takes no time."""
        self.anchors = anchors or {}
        self.optional = frozenset(optional)
        self.skip = skip
        self.skipped: set[int] = set()
        self.steps = steps
        self.origin_s = origin_s
        self.store = store
        self.main = main
        self.targets = targets
        self.starts: dict[int, float] = {0: origin_s}
        self.ends: dict[int, float] = {}
        self.cues: list[CueChange] = []
        self.cue_step = -1  # the last step begun: its cue given, or skipped
        self.finished = False  # end of stream: every step ends with what is there

    def step_end(self, i: int) -> float | None:
        """End of step ``i``; None while it has not started or its end is not known yet."""
        if i in self.ends:
            return self.ends[i]
        if i not in self.starts or (i in self.optional and i > self.cue_step):
            return None  # (an optional step: not known until it is cued or skipped)
        anchor = self.anchors.get(i + 1)
        if anchor is not None and anchor > self.starts[i]:
            return anchor
        ph = self.steps[i].phase
        if not ph.until_fail:
            return self.starts[i] + ph.duration_s
        end = self._until_fail_end(i)
        if end is not None:
            self.ends[i] = end
        return end

    def _until_fail_end(self, i: int) -> float | None:
        """An as-long-as-possible hold ends 1 s after the level drops below its band."""
        start = self.starts[i]
        ph = self.steps[i].phase
        limit = start + ph.duration_s
        available = self.store.available_s
        if available >= limit:
            horizon = limit
        elif self.finished:
            return max(available, start)
        else:
            horizon = available
        lo, _ = self.targets.band(ph)
        tr = self.store.trace(self.main)
        seg, t0 = tr.window(start, horizon)
        inside = seg >= lo
        reached = np.flatnonzero(inside)
        if reached.size == 0:
            give_up = start + ph.reach_s + GIVE_UP_S
            return give_up if horizon >= give_up else (limit if horizon >= limit else None)
        need = int(round(FAIL_BELOW_S * tr.rate_hz))
        below = ~inside[reached[0]:]
        run = np.convolve(below.astype(int), np.ones(need, dtype=int), "valid")
        full = np.flatnonzero(run == need)
        if full.size:
            return t0 + (reached[0] + full[0] + need) / tr.rate_hz
        return limit if horizon >= limit else None

    def next_cue(self, clock_s: float) -> CueChange | None:
        """The cue of the next step if it has started by ``clock_s``, else None (also at the
        end of the stream: a step the signal never reached is not cued, so never scored).
        Call until None: each call gives one cue, so the caller can act on it (calibrate)
        before the next step's start is worked out. Skipped steps are passed over."""
        while True:
            nxt = self.cue_step + 1
            if nxt >= len(self.steps):
                return None
            if nxt not in self.starts:
                prev_end = self.step_end(nxt - 1)
                if prev_end is None:
                    return None
                self.starts[nxt] = prev_end
            if self.starts[nxt] > clock_s:
                return None
            skip = self._skipped(nxt)
            if skip is None:
                return None
            if not skip:
                break
            self.ends[nxt] = self.starts[nxt]
            self.skipped.add(nxt)
            self.cue_step = nxt
        self.cue_step = nxt
        s = self.steps[nxt]
        cue = CueChange(round(self.starts[nxt], 4), nxt, s.phase.kind, s.phase.cue,
                        s.phase.cue_nl, s.phase.cue_en, s.rep, s.phase.duration_s, s.section,
                        s.posture, s.scoring == "calibration")
        self.cues.append(cue)
        return cue

    def _skipped(self, i: int) -> bool | None:
        if i not in self.optional:
            return False
        return True if self.skip is None else self.skip(self, i)

    def planned_s(self, i: int) -> float:
        """How long step ``i`` is planned to take before it begins: its duration (for an
        until-fail hold, its limit); an optional one takes none until it is cued."""
        return 0.0 if i in self.optional else self.steps[i].phase.duration_s

    def span(self, i: int) -> tuple[float, float] | None:
        """(start, end) of step ``i`` once both are known."""
        end = self.step_end(i) if i in self.starts else None
        return None if end is None else (self.starts[i], end)

    def ended_at(self) -> float | None:
        """When the last step ends (the session's end), once known."""
        last = len(self.steps) - 1
        return self.step_end(last) if last <= self.cue_step else None
