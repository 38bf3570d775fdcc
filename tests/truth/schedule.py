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

from bbfeedback.exercise import calibrator, protocols
from bbfeedback.exercise.calibrator import calibration_steps
from bbfeedback.exercise.protocols import Phase, Step

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


def plan(protocol_id: str, calibration: str | None = None,
         patient: Patient | None = None) -> Plan:
    """The cues of a live session of ``protocol_id`` that calibrates itself first (in its own
    mode, or ``calibration``: "visit" rests only), for ``patient`` (one more calibration
    squeeze when hers disagree)."""
    proto = protocols.load(protocol_id)
    steps = asked(calibration_steps(calibration or proto.calibration), patient) \
        + proto.timeline()
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


AGREE = 0.2  # two squeezes agree within 20 % of the larger (issue 21: "ask for one more")


def disagree(patient: Patient | None) -> bool:
    """Do her three calibration squeezes disagree: no two within ``AGREE`` of each other?"""
    if patient is None:
        return False
    lv = [patient.levels.get(("cal", n), patient.mvc_uv) for n in (1, 2, 3)]
    return not any(abs(a - b) <= AGREE * max(a, b)
                   for i, a in enumerate(lv) for b in lv[i + 1:])


def asked(steps: list[Step], patient: Patient | None = None) -> list[Step]:
    """The calibration steps a session runs for this patient: the optional ones
    (``calibrator.MORE_SECTION``, one more squeeze) only when her first three disagree; not
    asked, they take no time and are never cued."""
    more = getattr(calibrator, "MORE_SECTION", None)
    if disagree(patient):
        return steps
    return [s for s in steps if more is None or s.section != more]


@dataclass(frozen=True)
class Lift:
    """How she does a lift (one repetition of consecutive work phases, b5): from
    ``offset_s`` after the first floor's cue (negative: before it), each floor reached in
    ``step_s`` and held flat for its time, then let go in one go in ``fall_s``. ``floors``:
    (effort in % MVC, held s), in order; one floor is a jump straight up, two a lift that
    stops short."""

    floors: tuple[tuple[float, float], ...] = ((25.0, 3.2), (50.0, 3.2), (75.0, 3.2))
    offset_s: float = 0.5
    step_s: float = 0.3
    fall_s: float = 0.3


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
    # her own timing (issue 22; empty: as above). ``latency_by_rep``: the onset of repetition
    # n from its cue, in s (negative: before the cue); ``plateau_by_rep``: how long she holds
    # repetition n (its plateau, s); ``lift``: how she does a lift (``live_plan``)
    latency_by_rep: dict[int, float] = field(default_factory=dict)
    plateau_by_rep: dict[int, float] = field(default_factory=dict)
    lift: Lift | None = None


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
        if cue.rep in patient.latency_by_rep:  # her own timing (drawn all the same)
            onset = cue.t_s + patient.latency_by_rep[cue.rep]
        rise, fall = rng.uniform(*patient.ramp_s), rng.uniform(*patient.ramp_s)
        if cue.phase.hold_s and cue.phase.hold_s < 1.0:  # quick: as fast as she can
            rise, fall = patient.ramp_s[0], patient.ramp_s[0]
        plateau = patient.plateau_by_rep.get(cue.rep, hold_plateau_s(cue.phase))
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


# --- the patient's own timing (issue 22): what ``plan`` cannot place ahead -------------------
# ``plan`` and ``acts`` above are unchanged for a Patient without the fields of issue 22.

def live_plan(protocol_id: str, patient: Patient, rng: np.random.Generator,
              calibration: str | None = None) -> tuple[Plan, list[Act]]:
    """The cues of a live session and what the patient did, together: the protocols whose
    timeline depends on her. An as-long-as-possible (until-fail) hold ends when she lets go,
    by the program's rule (``until_fail_end``), so every cue after it follows her; a
    repetition of consecutive work phases (the lift) is one contraction stepped up floor by
    floor (``lift_acts``). Other work cues are as ``plan`` and ``acts`` make them (the same
    cue times for a protocol ``plan`` can place)."""
    proto = protocols.load(protocol_id)
    timeline = proto.timeline()
    steps = asked(calibration_steps(calibration or proto.calibration), patient) + timeline
    first = len(steps) - len(timeline)
    cues: list[WorkCue] = []
    done: list[Act] = []
    t, squeeze, start, i = 0.0, 0, None, 0
    while i < len(steps):
        s = steps[i]
        if s.phase.kind != WORK:
            t += s.phase.duration_s
            i += 1
            continue
        calibrating = i < first
        group = [s]
        while (not calibrating and i + len(group) < len(steps)
               and steps[i + len(group)].phase.kind == WORK):
            group.append(steps[i + len(group)])
        squeeze += calibrating
        if not calibrating and start is None:
            start = t
        here = []
        for step in group:
            here.append(WorkCue(t, step.phase, None if calibrating else step.rep, squeeze))
            t += step.phase.duration_s
        if len(here) > 1:
            done += lift_acts(here, patient, rng)
        else:
            act = acts(Plan(protocol_id, tuple(here), t, t), patient, rng)[0]
            done.append(act)
            if s.phase.until_fail:  # the next step begins when the clock ends her hold
                t = until_fail_end(act, patient)
        cues += here
        i += len(group)
    return Plan(protocol_id, tuple(cues), start, float(math.ceil(t + TAIL_S))), done


def until_fail_end(act: Act, patient: Patient) -> float:
    """When the program's clock ends an as-long-as-possible hold (``exercise.clock``):
    ``FAIL_BELOW_S`` after her level drops below the band's lower edge (on the fall of her
    squeeze), at the phase's limit at the latest; ``GIVE_UP_S`` after the reach time when she
    never gets into the band."""
    cue, sq = act.cue, act.emg
    ph = cue.phase
    limit = cue.t_s + ph.duration_s
    lo = ph.band_pct_mvc[0] / 100.0 * (patient.mvc_uv - patient.rest_uv)  # above her rest
    if sq.level < lo:
        return min(cue.t_s + ph.reach_s + _CLOCK_RULE["GIVE_UP_S"], limit)
    r = 1.0 - lo / sq.level  # the fall's raised cosine where she leaves the band
    drop = sq.plateau.end_s + sq.fall_s * math.acos(1.0 - 2.0 * r) / math.pi
    return min(drop + _CLOCK_RULE["FAIL_BELOW_S"], limit)


def _clock_rule() -> dict[str, float]:
    """The clock's rule for an until-fail hold (the program's, so that the cues after one
    fall where a live session puts them; its documented values if it moves)."""
    from bbfeedback.exercise import clock

    return {k: float(getattr(clock, k, v)) for k, v in (("FAIL_BELOW_S", 1.0),
                                                         ("GIVE_UP_S", 3.0))}


_CLOCK_RULE = _clock_rule()


def lift_acts(cues: list[WorkCue], patient: Patient, rng: np.random.Generator) -> list[Act]:
    """One lift (``cues``: its floors' work cues): her ``Patient.lift``, or by default each
    floor at its phase's target on its cue after her reaction time. The floors are stacked
    squeezes (each floor's step above the one below) that all end together: one let-go."""
    lift = patient.lift or Lift(
        tuple((c.phase.target_pct_mvc, c.phase.duration_s - Lift.step_s) for c in cues),
        rng.uniform(*patient.latency_s))
    span = patient.mvc_uv - patient.rest_uv
    onset = cues[0].t_s + lift.offset_s
    top = onset + sum(lift.step_s + held for _, held in lift.floors)  # her let-go
    out, t, below = [], onset, 0.0
    for k, (pct, held) in enumerate(lift.floors):
        plateau = top - t - lift.step_s
        emg = Squeeze(t, (pct - below) / 100.0 * span, plateau, lift.step_s, lift.fall_s)
        p_sq = Squeeze(t, (pct - below) / 100.0 * patient.squeeze_cmh2o, plateau, lift.step_s,
                       lift.fall_s)
        out.append(Act(cues[min(k, len(cues) - 1)], emg, p_sq))
        t, below = t + lift.step_s + held, pct
    return out


def own_pace(start_s: float, period_s: float, efforts_pct: list[float], patient: Patient,
             plateau_s: float = 0.3, ramp_s: float = 0.15) -> list[Squeeze]:
    """Quick squeezes at her own pace, whatever the cues: one every ``period_s`` from
    ``start_s``, the k-th at ``efforts_pct[k]`` % MVC (effort, as a work phase's target)."""
    span = patient.mvc_uv - patient.rest_uv
    return [Squeeze(start_s + k * period_s, pct / 100.0 * span, plateau_s, ramp_s, ramp_s)
            for k, pct in enumerate(efforts_pct)]
