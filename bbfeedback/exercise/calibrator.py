"""The built-in calibration before a protocol, in the protocol's mode (``calibration``).

- ``max``: 10 s rest for the baseline, then three maximal squeezes. Each squeeze's plateau
  is its best 0.5 s outside marked artefacts (``signal_quality``), and the MVC the strongest
  plateau another squeeze confirms (within 20 %: ``calibration.confirmed_max``); when none
  agree, the middle one. A cable burst in one squeeze, or one odd squeeze, is not the MVC,
  and the summary says when the squeezes disagree (``signal_check``).
  When no squeeze of the three confirms another, the session asks for one more ("Nog één
  keer zo hard als u kunt knijpen") before the protocol starts, and the MVC is taken from
  the four by the same rule. The steps always hold this 4th squeeze and its rest
  (``MORE_SECTION``, optional steps of the clock); ``Calibrator.skip`` decides at the moment
  the 4th would start, from the main channel's trace up to then (the rest after the third
  squeeze complete, as the envelope arrives: the same decision live and offline, whatever
  the block sizes). Not asked for, both take no time and are never cued (the step indices
  stay as they are); the session's ``start_s`` is planned without them.
- ``gentle`` (leaflet B: "rustig uit en bouw langzaam op"; b1, b2 after a total rupture): the
  rest, then three comfortable squeezes at about half strength ("Rustig aanspannen, ongeveer
  half") and no maximal one (one more gentle one when they disagree, as above). MVC is
  *estimated*: the patient's half squeeze is taken as 50 % MVC (``GENTLE_FRACTION``), so
  MVC = rest + (best plateau - rest) / 0.5. The estimate is marked
  (``source = "session-gentle"``); it is as good as the patient's idea of "half", which is why
  no maximal target should lean on it.
- ``none``: the rest only; no MVC (``source = "session-rest"``). Scores are in µV, every
  % MVC is None; a work phase's % MVC band becomes "above the channel's contraction *on*
  level" (``targets``).
- ``previous`` (a therapist's choice, not a protocol's): the rest only, and the MVC of the
  patient's previous session (``source = "session-previous"``; µV compare only within one
  device and electrode placement).
- ``visit`` (chosen by ``app/visit.py`` when the protocol's mode is left): the rest only, and
  the MVC measured earlier in this visit (``source = "session-visit"``).

A session without a calibration for every channel puts these steps before the protocol and,
when the protocol's first step begins, calibrates each channel from them: baseline = median
and 1.4826 x MAD of the rest (without its first 2 s and its marked artefacts: a spike or a
twitch does not move it). The rest cue follows the session's posture (a seated
patient is not told to lie).
The accessory (abdominal) channel is judged on its own rest only: its "MVC" here is its level
during pelvic-floor squeezes, not an abdominal maximum, and no rule reads it (``scoring``).
"""

from __future__ import annotations

import numpy as np

from bbfeedback.detect.calibration import (
    Calibration,
    baseline_from_rest,
    confirmed,
    confirmed_max,
    plateaus,
    two_agree,
)
from bbfeedback.exercise.calibration_plan import (  # noqa: F401 - the plan, re-exported
    CALIBRATION,
    CALIBRATION_REST_S,
    CALIBRATION_SQUEEZES,
    MODES,
    MORE_SECTION,
    MVC_SECTION,
    REST_SECTION,
    SEATED,
    SQUEEZE_REST_S,
    SQUEEZE_S,
    calibration_steps,
    rest_cue,
)
from bbfeedback.exercise.clock import ProtocolClock
from bbfeedback.exercise.protocols import (
    WORK,
    Step,
)
from bbfeedback.exercise.signal_quality import SignalQuality
from bbfeedback.exercise.trace_store import Trace, TraceStore
from bbfeedback.signal.blocks import Channel

SETTLE_S = 2.0  # the first seconds of the calibration rest are not part of the baseline
PLATEAU_S = 0.5  # a squeeze's level: its best mean over this long (peak RMS, Grape 2009)


COPIED = ("previous", "visit")
GENTLE_FRACTION = 0.5  # a comfortable "half" squeeze, taken as this fraction of MVC
SOURCES = {"max": "session", "gentle": "session-gentle", "none": "session-rest",
           "previous": "session-previous", "visit": "session-visit"}
# may have no MVC, as scored live
NO_MVC_SOURCES = ("session-rest", "session-previous", "session-visit")
def one_more_needed(levels: list[float]) -> bool:
    """Ask for one more squeeze: no squeeze of these confirms another (within
    ``SQUEEZES_AGREE``), so the MVC would be their median rather than a confirmed one.
    (Plateaus of 20, 42 and 44 µV: 42 and 44 agree, MVC 44, none asked; 20, 30 and 45: none
    agree, one more.)"""
    return not confirmed(levels)


def one_more_confirms(levels: list[float | None]) -> bool:
    """Did the 4th squeeze (the last of ``levels``) agree with one of the first three?"""
    *first, last = levels
    return last is not None and any(v is not None and two_agree(v, last) for v in first)


class Calibrator:
    """The calibrations of a session's channels: given, or made from the calibration steps.

    ``calibrations`` (channel name -> Calibration) is the one dict the session, its targets
    and its results read; it is filled in place."""

    def __init__(self, channels: tuple[Channel, ...],
                 calibrations: dict[str, Calibration] | None = None, mode: str = "max",
                 previous: dict[str, Calibration] | None = None, posture: str | None = None):
        if mode not in MODES:
            raise ValueError(f"calibration must be one of {', '.join(MODES)} (got {mode!r})")
        if mode in COPIED and not previous:
            raise ValueError(f"calibration {mode!r} needs an earlier session's calibration")
        self.channels = channels
        self.calibrations: dict[str, Calibration] = dict(calibrations or {})
        self.mode, self.previous, self.posture = mode, dict(previous or {}), posture
        self.one_more: bool | None = None  # one more squeeze asked for (None: not decided)

    def calibrated(self) -> bool:
        return all(c.name in self.calibrations for c in self.channels)

    def steps_before(self, protocol_steps: list[Step]) -> list[Step]:
        """The protocol's steps, with the calibration steps first when they are needed."""
        if self.calibrated():
            return protocol_steps
        return calibration_steps(self.mode, self.posture) + protocol_steps

    def skip(self, clock: ProtocolClock, i: int, store: TraceStore, main: int,
             quality: SignalQuality | None = None) -> bool | None:
        """The clock's hook for an optional step (``MORE_SECTION``) about to start: skip it
        unless one more squeeze is needed (``one_more_needed`` on the main channel's first
        three plateaus, each from its start to the next one's, the last to this step's start).
        None until the envelope reaches that start: the decision never depends on how the
        signal was cut into blocks. Made once; the rest after the squeeze follows it."""
        if self.one_more is None:
            end = clock.starts[i]
            if store.available_s < end:
                return None
            levels = self._levels(main, store.trace(main), clock, self._squeezes(clock)[0],
                                  end, quality)
            self.one_more = one_more_needed([v for v in levels if v is not None])
        return not self.one_more

    def _squeezes(self, clock: ProtocolClock) -> tuple[list[int], int | None]:
        """The first three squeezes' steps, and the one more's (None: not asked for)."""
        three = [s.index for s in clock.steps if s.section == MVC_SECTION
                 and s.phase.kind == WORK]
        more = next((s.index for s in clock.steps if s.section == MORE_SECTION
                     and s.phase.kind == WORK and s.index not in clock.skipped), None)
        return three, more

    def calibrate(self, clock: ProtocolClock, store: TraceStore, first_protocol_step: int,
                  quality: SignalQuality | None = None) -> None:
        """Baseline from the calibration rest; MVC as the mode says (see the module); marked
        artefacts (``quality``) feed neither."""
        rest = next(s.index for s in clock.steps if s.section == REST_SECTION)
        three, more = self._squeezes(clock)
        squeezes = three if more is None else [*three, more]
        for c, ch in enumerate(self.channels):
            tr = store.trace(c)
            seg, t0 = tr.window(clock.starts[rest] + SETTLE_S, clock.step_end(rest))
            ok = _clean(quality, c, t0, tr.rate_hz, seg.size)
            mean, sd = baseline_from_rest(seg[ok] if ok.any() else
                                          (seg if seg.size else np.zeros(1)))
            mvc, levels, confirms = self._mvc(c, ch, mean, tr, clock, squeezes,
                                              clock.starts[first_protocol_step], quality)
            self.calibrations[ch.name] = Calibration(mean, sd, mvc, ch.unit, SOURCES[self.mode],
                                                     levels, confirms)

    def _mvc(self, c: int, ch: Channel, mean: float, tr: Trace, clock: ProtocolClock,
             squeezes: list[int], end_s: float, quality: SignalQuality | None
             ) -> tuple[float | None, tuple[float, ...] | None, bool | None]:
        """The MVC, each squeeze's plateau (None when no squeeze was asked for) and whether
        one more squeeze, when asked for, confirmed one of the first three."""
        if self.mode == "none":
            return None, None, None
        if self.mode in COPIED:
            before = self.previous.get(ch.name)
            mvc = None if before is None else before.mvc
            return (mvc if mvc is not None and mvc > mean else None), None, None
        found = self._levels(c, tr, clock, squeezes, end_s, quality)
        levels = [v for v in found if v is not None]
        confirms = one_more_confirms(found) if len(squeezes) > CALIBRATION_SQUEEZES else None
        best = confirmed_max(levels)
        if best is None:
            return None, None, confirms
        mvc = best if self.mode == "max" else mean + max(best - mean, 0.0) / GENTLE_FRACTION
        return mvc, tuple(round(v, 4) for v in levels), confirms

    @staticmethod
    def _levels(c: int, tr: Trace, clock: ProtocolClock, squeezes: list[int], end_s: float,
                quality: SignalQuality | None) -> list[float | None]:
        """Each squeeze's plateau, from its start to the next one's (the last one's: to
        ``end_s``), a squeeze and the rest after it; None where no clean plateau is."""
        ends = [clock.starts[i] for i in squeezes[1:]] + [end_s]
        levels: list[float | None] = []
        for i, end in zip(squeezes, ends, strict=True):
            seg, t0 = tr.window(clock.starts[i], end)
            n = max(1, int(round(PLATEAU_S * tr.rate_hz)))
            means = plateaus(seg, _clean(quality, c, t0, tr.rate_hz, seg.size), n)
            levels.append(float(means.max()) if means.size else None)
        return levels


def _clean(quality: SignalQuality | None, column: int, t0: float, rate_hz: float,
           n: int) -> np.ndarray:
    """The samples of a trace window outside every marked artefact."""
    if quality is None:
        return np.ones(n, dtype=bool)
    return quality.clean(column, t0, rate_hz, n)
