"""When the simulated patient squeezes: the protocol's cues (from the package's own protocol
definitions, the one thing the corpus takes from the program) and a patient who reacts to
each work cue after 0.4-0.7 s, holds as asked and relaxes.

The recording clock starts with the live session's calibration (10 s rest, three squeezes,
``calibration_steps``), then the protocol's timeline; ``Plan.start_s`` is the first work cue
of the protocol proper, as ``Session`` (``start_s=None``) and ``analyze --start-s`` take it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from bbfeedback.exercise import protocols
from bbfeedback.exercise.calibrator import calibration_steps
from bbfeedback.exercise.protocols import Phase

from .model import Squeeze

WORK = "work"
TAIL_S = 2.0  # signal after the last step, so the last rest is complete


@dataclass(frozen=True)
class WorkCue:
    """A work cue on the recording clock; ``rep`` is the protocol's repetition (None for a
    calibration squeeze, whose ``number`` counts 1-3)."""

    t_s: float
    phase: Phase
    rep: int | None
    number: int

    @property
    def calibration(self) -> bool:
        return self.rep is None


@dataclass(frozen=True)
class Plan:
    protocol_id: str
    cues: tuple[WorkCue, ...]
    start_s: float  # first work cue of the protocol proper
    duration_s: float  # whole seconds (EDF data records), the last rest and a tail included

    @property
    def reps(self) -> int:
        return max((c.rep for c in self.cues if c.rep is not None), default=0)


def plan(protocol_id: str, calibration: str | None = None) -> Plan:
    """The cues of a live session of ``protocol_id`` that calibrates itself first (in its own
    mode, or ``calibration``: "visit" rests only)."""
    proto = protocols.load(protocol_id)
    steps = calibration_steps(calibration or proto.calibration) + proto.timeline()
    cues, t, squeeze, start, before = [], 0.0, 0, None, None
    for i, s in enumerate(steps):
        ph = s.phase
        if ph.until_fail:
            raise ValueError(f"{protocol_id}: an until-fail phase has no planned end")
        if ph.kind == WORK:
            if before == WORK:
                raise ValueError(f"{protocol_id}: consecutive work phases are not modelled")
            calibrating = i < len(steps) - len(proto.timeline())
            squeeze += calibrating
            if not calibrating and start is None:
                start = t
            cues.append(WorkCue(t, ph, None if calibrating else s.rep, squeeze))
        before = ph.kind
        t += ph.duration_s
    return Plan(protocol_id, tuple(cues), start, float(math.ceil(t + TAIL_S)))


@dataclass(frozen=True)
class Patient:
    """Who squeezes, and how. EMG levels are the envelope's (µV RMS) at rest and at maximal
    effort; a work phase's target % MVC is her effort (a 50 % squeeze lies halfway between
    rest and MVC). ``levels``: plateaus that differ from that (µV RMS, total), by work cue:
    ("cal", n) for calibration squeeze n, ("rep", n) for repetition n. ``pushes``: the
    repetitions made as a Valsalva push (pressure: slow rise with a breath-hold)."""

    rest_uv: float = 3.0
    mvc_uv: float = 42.0
    rest_cmh2o: float = 20.0
    squeeze_cmh2o: float = 35.0  # a maximal squeeze above rest
    latency_s: tuple[float, float] = (0.4, 0.7)
    ramp_s: tuple[float, float] = (0.15, 0.3)
    push_ramp_s: float = 2.0
    levels: dict[tuple[str, int], float] = field(default_factory=dict)
    pushes: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Act:
    """What the patient did for one work cue: her EMG and pressure squeezes."""

    cue: WorkCue
    emg: Squeeze
    pressure: Squeeze

    @property
    def key(self) -> tuple[str, int]:
        return ("cal", self.cue.number) if self.cue.calibration else ("rep", self.cue.rep)


def hold_plateau_s(phase: Phase) -> float:
    """How long she holds: the asked hold, a little more as patients count (a quick squeeze:
    let go at once)."""
    hold = phase.hold_s or phase.duration_s
    return hold + (0.3 if hold >= 1.5 else 0.1)


def acts(p: Plan, patient: Patient, rng: np.random.Generator) -> list[Act]:
    out = []
    for cue in p.cues:
        pct = cue.phase.target_pct_mvc
        if pct is None:
            raise ValueError("absolute targets are not modelled")
        onset = cue.t_s + rng.uniform(*patient.latency_s)
        rise, fall = rng.uniform(*patient.ramp_s), rng.uniform(*patient.ramp_s)
        if cue.phase.hold_s and cue.phase.hold_s < 1.0:  # quick: as fast as she can
            rise, fall = patient.ramp_s[0], patient.ramp_s[0]
        plateau = hold_plateau_s(cue.phase)
        key = ("cal", cue.number) if cue.calibration else ("rep", cue.rep)
        total = patient.levels.get(
            key, patient.rest_uv + pct / 100.0 * (patient.mvc_uv - patient.rest_uv))
        emg_sq = Squeeze(onset, total - patient.rest_uv, plateau, rise, fall)
        p_level = pct / 100.0 * patient.squeeze_cmh2o
        if cue.rep in patient.pushes:
            r = patient.push_ramp_s  # the slow rise eats into the hold: over by the next cue
            p_sq = Squeeze(onset, p_level, max(plateau - (r - 0.3), 0.5), r, r,
                           breath_hold=True)
        else:
            p_sq = Squeeze(onset, p_level, plateau, 0.3, 0.3)
        out.append(Act(cue, emg_sq, p_sq))
    return out
