"""Realistic simulated recordings with known truth.

Surface EMG: Gaussian noise shaped to a muscle-like spectrum (peak near 80-120 Hz),
amplitude-modulated by a contraction profile (raised-cosine ramps, holds with fatigue decay)
on top of a resting tone of a few µV; plus mains hum with harmonics, baseline wander, ECG
bleed-through and motion spikes. Pressure: resting probe pressure, squeeze, breathing, drift,
noise and abdominal strain. The same generator feeds tests, the simulated sensor and
``sample_data/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from scipy import signal

from bbfeedback.recording import Annotation, Recording, Signal
from bbfeedback.signal.blocks import EMG, PRESSURE, Channel


@dataclass
class Squeeze:
    """One intended contraction: ramps up from ``onset_s``, holds, ramps down.

    ``level`` is a fraction of MVC above rest; ``fatigue`` the fraction of level lost by
    the end of the hold; ``residual`` a fraction of MVC kept after release (incomplete
    relaxation) until the next squeeze.
    """

    onset_s: float
    hold_s: float
    level: float = 0.8
    ramp_s: float = 0.3
    release_s: float = 0.3
    fatigue: float = 0.0
    residual: float = 0.0
    steps: list[tuple[float, float]] = field(default_factory=list)  # (time in hold, level)

    @property
    def offset_s(self) -> float:
        return self.onset_s + self.ramp_s + self.hold_s + self.release_s


@dataclass
class Patient:
    """The simulated person and set-up (amplitudes in µV RMS, pressures in cmH2O)."""

    rest_uV: float = 3.0
    mvc_uV: float = 40.0
    rest_cmH2O: float = 20.0
    mvc_cmH2O: float = 35.0
    mains_hz: float | None = 50.0
    hum_uV: float = 15.0
    wander_uV: float = 30.0
    ecg_uV: float = 6.0
    spikes_per_min: float = 2.0
    spike_uV: float = 80.0
    accessory_rest_uV: float = 2.5
    accessory_mvc_uV: float = 60.0


def _ramp(t: np.ndarray, start: float, length: float) -> np.ndarray:
    """0 before ``start``, raised-cosine to 1 over ``length``, 1 after."""
    if length <= 0:
        return (t >= start).astype(float)
    x = np.clip((t - start) / length, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * x)


def activation(t: np.ndarray, squeezes: list[Squeeze]) -> np.ndarray:
    """Activation (fraction of MVC above rest) over time for a list of squeezes.

    Each squeeze is worked out only over the samples it shapes (its onset to its offset, and
    its residual's tail): over the whole trace, a session of many short repetitions cost
    squeezes x samples (900 reps of 0.5 s at 1 kHz: 40 s, at 5 kHz minutes) before a
    simulated sensor or emulator sent anything. ``t`` is ascending (a sample clock)."""
    a = np.zeros_like(t)
    ordered = sorted(squeezes, key=lambda s: s.onset_s)
    for k, sq in enumerate(ordered):
        hold_start = sq.onset_s + sq.ramp_s
        hold_end = hold_start + sq.hold_s
        i0 = int(np.searchsorted(t, sq.onset_s, "left"))  # before it: the up-ramp is 0
        i1 = int(np.searchsorted(t, max(sq.onset_s, hold_end + sq.release_s), "right"))
        if i1 > i0:
            a[i0:i1] = np.maximum(a[i0:i1], _shape(t, i0, i1, sq, hold_start, hold_end))
        if sq.residual > 0 and t.size:
            until = ordered[k + 1].onset_s if k + 1 < len(ordered) else t[-1] + 1
            j0 = int(np.searchsorted(t, hold_end, "left"))
            j1 = int(np.searchsorted(t, until, "left"))
            if j1 > j0:
                a[j0:j1] = np.maximum(a[j0:j1], sq.residual)
    return a


SMOOTH_N = 9  # samples: the floors of a lift are smoothed a little (a moving mean)


def _shape(t: np.ndarray, i0: int, i1: int, sq: Squeeze, hold_start: float,
           hold_end: float) -> np.ndarray:
    """A squeeze's activation over samples ``i0:i1``: ramps, its floors, its fatigue. The
    floors are smoothed on a stretch ``SMOOTH_N // 2`` wider each side, so the values equal
    those of the whole trace."""
    half = SMOOTH_N // 2
    w0, w1 = max(0, i0 - half), min(t.size, i1 + half)
    tw = t[w0:w1]
    level = np.full_like(tw, sq.level)
    for when, lvl in sq.steps:
        level = np.where(tw >= hold_start + when, lvl, level)
    if sq.steps:
        level = np.convolve(level, np.ones(SMOOTH_N) / SMOOTH_N, mode="same")
    level = level[i0 - w0:i1 - w0]
    x = t[i0:i1]
    decay = 1.0 - sq.fatigue * np.clip((x - hold_start) / max(sq.hold_s, 1e-9), 0, 1)
    shape = _ramp(x, sq.onset_s, sq.ramp_s) * (1.0 - _ramp(x, hold_end, sq.release_s))
    return shape * level * decay


def muscle_noise(n: int, fs_hz: float, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS noise with a surface-EMG-like spectrum (band 30-200 Hz, below Nyquist)."""
    high = min(200.0, 0.42 * fs_hz)
    sos = signal.butter(2, [30.0, high], btype="bandpass", fs=fs_hz, output="sos")
    x = signal.sosfilt(sos, rng.standard_normal(n + int(fs_hz)))[int(fs_hz):]
    return x / np.sqrt(np.mean(x**2))


def _ecg(t: np.ndarray, fs_hz: float, amp_uV: float, rng: np.random.Generator) -> np.ndarray:
    """QRS-like biphasic pulses at ~70 bpm with a little jitter."""
    out = np.zeros_like(t)
    beat = rng.uniform(0, 0.8)
    width = 0.012
    while beat < t[-1]:
        idx = slice(max(0, int((beat - 0.05) * fs_hz)), int((beat + 0.05) * fs_hz) + 1)
        x = (t[idx] - beat) / width
        out[idx] += amp_uV * -x * np.exp(0.5 - 0.5 * x**2)
        beat += 60 / 70 * rng.uniform(0.93, 1.07)
    return out


def _spikes(t: np.ndarray, fs_hz: float, per_min: float, amp_uV: float,
            rng: np.random.Generator) -> tuple[np.ndarray, list[float]]:
    """50 ms motion artefacts at random times (they must not count as contractions)."""
    out = np.zeros_like(t)
    times = []
    count = rng.poisson(per_min * t[-1] / 60)
    for when in rng.uniform(0, t[-1], count):
        idx = (t >= when) & (t < when + 0.05)
        out[idx] += amp_uV * rng.choice([-1, 1]) * np.sin(np.pi * (t[idx] - when) / 0.05)
        times.append(float(when))
    return out, times


def emg_trace(t: np.ndarray, fs_hz: float, act: np.ndarray, rest_uV: float, mvc_uV: float,
              patient: Patient, rng: np.random.Generator) -> np.ndarray:
    """Raw EMG (µV) for an activation profile, with all the interference a probe picks up."""
    amp = rest_uV + (mvc_uV - rest_uV) * act
    x = amp * muscle_noise(t.size, fs_hz, rng)
    if patient.mains_hz:
        phase = rng.uniform(0, 2 * np.pi)
        for k, rel in ((1, 1.0), (3, 0.3), (5, 0.1)):
            if k * patient.mains_hz < 0.48 * fs_hz:
                x += patient.hum_uV * rel * np.sin(2 * np.pi * k * patient.mains_hz * t + k * phase)
    x += patient.wander_uV * np.sin(2 * np.pi * 0.3 * t + rng.uniform(0, 6.3))
    x += _ecg(t, fs_hz, patient.ecg_uV, rng)
    return x


def pressure_trace(t: np.ndarray, act: np.ndarray, patient: Patient,
                   rng: np.random.Generator, strain: np.ndarray | None = None) -> np.ndarray:
    """Probe pressure (cmH2O): rest, squeeze, breathing, slow drift, noise, strain."""
    p = patient.rest_cmH2O + patient.mvc_cmH2O * act
    p += 0.8 * np.sin(2 * np.pi * 0.25 * t + rng.uniform(0, 6.3))
    p += 1.0 * t / 60.0
    p += 0.15 * rng.standard_normal(t.size)
    if strain is not None:
        p += 10.0 * strain
    return p


@dataclass
class Simulated:
    """A simulated recording and its truth."""

    recording: Recording
    squeezes: list[Squeeze]
    spikes_s: list[float]


def simulate(squeezes: list[Squeeze], duration_s: float, fs_hz: float = 1000.0,
             patient: Patient | None = None, seed: int = 0, pressure: bool = False,
             accessory: list[Squeeze] | None = None, spikes: bool = True,
             strain: list[Squeeze] | None = None, t0_s: float = 0.0) -> Simulated:
    """Make a recording: pelvic-floor EMG, optionally pressure and an abdominal channel.
    ``strain``: abdominal pushes that raise the pressure (default: the accessory's
    contractions), with or without an abdominal channel recorded. ``t0_s``: the time of the
    first sample (a piece of a longer session, ``simulate_pieces``)."""
    patient = patient or Patient()
    rng = np.random.default_rng(seed)
    t = t0_s + np.arange(int(round(duration_s * fs_hz))) / fs_hz
    act = activation(t, squeezes)
    emg = emg_trace(t, fs_hz, act, patient.rest_uV, patient.mvc_uV, patient, rng)
    spike_times: list[float] = []
    if spikes and patient.spikes_per_min > 0:
        sp, spike_times = _spikes(t, fs_hz, patient.spikes_per_min, patient.spike_uV, rng)
        emg += sp
    signals = [Signal(Channel.of_kind("pfm", EMG), fs_hz, emg)]
    if accessory is not None:
        acc_act = activation(t, accessory)
        abd = emg_trace(t, fs_hz, acc_act, patient.accessory_rest_uV,
                        patient.accessory_mvc_uV, patient, rng)
        signals.append(Signal(Channel.of_kind("abdominal", EMG), fs_hz, abd))
    if pressure:
        pushes = strain if strain is not None else accessory
        prs = pressure_trace(t, act, patient, rng,
                             activation(t, pushes) if pushes is not None else None)
        signals.append(Signal(Channel.of_kind("pressure", PRESSURE), fs_hz, prs))
    notes = [Annotation(0.0, 0.0, f"simulated seed={seed} fs={fs_hz:g}Hz")]
    rec = Recording(signals, notes, path=f"<simulated seed {seed}>")
    return Simulated(rec, list(squeezes), spike_times)


def random_squeezes(duration_s: float, rng: np.random.Generator,
                    first_rest_s: float = 5.0) -> list[Squeeze]:
    """A random session: holds of 1-10 s at 30-100 % MVC with 3-8 s rests."""
    out, t = [], first_rest_s
    while True:
        sq = Squeeze(t, hold_s=float(rng.uniform(1, 10)), level=float(rng.uniform(0.3, 1.0)),
                     ramp_s=float(rng.uniform(0.1, 0.4)), release_s=float(rng.uniform(0.1, 0.4)),
                     fatigue=float(rng.uniform(0, 0.3)))
        if sq.offset_s > duration_s - 2:
            return out
        out.append(sq)
        t = sq.offset_s + float(rng.uniform(3, 8))


@dataclass
class Behaviour:
    """How a simulated patient follows a protocol (repetitions are 1-based)."""

    reaction_s: float = 0.35
    jitter_s: float = 0.0
    max_level: float = 0.9  # what "as hard as possible" reaches (fraction of MVC)
    fatigue_per_rep: float = 0.0
    hold_s: dict[int, float] = field(default_factory=dict)  # actual hold of some reps
    late: dict[int, float] = field(default_factory=dict)  # rep -> reaction time (< 0: early)
    tense_after: dict[int, float] = field(default_factory=dict)  # rep -> level kept in rest
    skip: set[int] = field(default_factory=set)
    fade_after: int | None = None  # quick contractions: weak from this rep on
    fade_level: float = 0.25
    lift_jump: bool = False  # goes straight to the top floor
    endurance_s: float = 20.0  # how long an as-long-as-possible hold lasts
    co_contract: dict[int, float] = field(default_factory=dict)  # rep -> abdominal level
    # the navel drawn in (abdominal level) from the first phase of a rep that allows it
    # (b5-lift floor 2) to the let-go
    navel_in: float = 0.0
    # rep -> abdominal push (level): pressure up, the pelvic floor does not contract
    strain: dict[int, float] = field(default_factory=dict)
    # quick sections at the patient's own pace: a squeeze every ``pace_s`` from the first
    # quick cue (+ reaction) to the section's end, whatever the cues say (None: on the cues)
    pace_s: float | None = None
    # calibration squeeze n (1-3; 4: the one more a session asks for when the three
    # disagree) -> its level (fraction of MVC); else ``max_level`` x the cue's % (half: 0.5)
    calibration_levels: dict[int, float] = field(default_factory=dict)

    @classmethod
    def realistic(cls, seed: int = 0) -> Behaviour:
        rng = np.random.default_rng(seed)
        return cls(reaction_s=0.6, jitter_s=0.25, fatigue_per_rep=0.04,
                   late={int(rng.integers(2, 5)): 2.6},
                   tense_after={int(rng.integers(2, 5)): 0.22}, endurance_s=18.0)


@dataclass
class ProtocolSimulation:
    sim: Simulated
    start_s: float  # recording time of the first work cue
    squeezes: list[Squeeze]
    cues: list[Annotation]

    @property
    def session_start_s(self) -> float:
        """``start_s`` as a ``Session`` takes it: planned without the calibration's one
        more squeeze, which the session adds itself when it asks for it."""
        return session_start_s(self.cues)


def asked_one_more(cues: list[Annotation]) -> bool:
    """Was the patient asked for one more calibration squeeze (the first three disagreed)?"""
    return any(a.text.startswith("calib:work:") and a.text.endswith("_again") for a in cues)


def session_start_s(cues: list[Annotation]) -> float:
    """The first work cue of the protocol as a ``Session`` plans it (``start_s``): without
    the one more calibration squeeze and its rest, when the patient was asked for it."""
    from bbfeedback.exercise.calibrator import SQUEEZE_REST_S, SQUEEZE_S

    first = next(a.onset_s for a in cues if a.text.startswith("cue:work"))
    return first - (SQUEEZE_S + SQUEEZE_REST_S if asked_one_more(cues) else 0.0)


def _rep_groups(steps) -> list[list]:
    groups, cur = [], []
    for s in steps:
        if s.rep is not None:
            cur.append(s)
        elif cur:
            groups.append(cur)
            cur = []
    if cur:
        groups.append(cur)
    return groups


def _calibration_level(s, n: int, behaviour: Behaviour) -> float:
    """What calibration squeeze ``n`` reaches (fraction of MVC): maximal, or gentle (half)."""
    default = behaviour.max_level * (s.phase.target_pct_mvc or 100.0) / 100.0
    return behaviour.calibration_levels.get(n, default)


def _as_asked(calibration: list, behaviour: Behaviour, patient: Patient) -> list:
    """The calibration steps the session will cue: the one more squeeze (and its rest) only
    when the first three disagree. The patient's squeezes are planned ahead, so the session's
    decision is foreseen from the plateaus she aims at (µV above her rest, by the session's
    rule ``calibrator.one_more_needed``); she squeezes a 4th time only when that asks her to."""
    from bbfeedback.exercise.calibrator import MORE_SECTION, one_more_needed

    three = [s for s in calibration if s.phase.kind == "work" and s.section != MORE_SECTION]
    levels = [patient.rest_uV + (patient.mvc_uV - patient.rest_uV)
              * _calibration_level(s, n, behaviour) for n, s in enumerate(three, 1)]
    if three and one_more_needed(levels):
        return calibration
    return [s for s in calibration if s.section != MORE_SECTION]


def _prefixed(calibration: list, protocol) -> list:
    """Calibration steps, then the protocol, re-timed on one clock."""
    from bbfeedback.exercise.protocols import Step

    out, t = [], 0.0
    for s in calibration + protocol.timeline():
        out.append(Step(len(out), t, s.phase, s.section, s.scoring, s.rep, s.posture))
        t += s.phase.duration_s
    return out


def _level(phase, behaviour: Behaviour, factor: float) -> float:
    """What the patient aims at for a phase: its target, capped at their maximum."""
    pct = phase.target_pct_mvc if phase.target_pct_mvc is not None else 50.0
    return min(behaviour.max_level, pct / 100.0) * factor


def protocol_squeezes(protocol, behaviour: Behaviour, origin_s: float,
                      rng: np.random.Generator, calibration: list | None = None,
                      patient: Patient | None = None
                      ) -> tuple[list[Squeeze], list[Squeeze], list[Annotation]]:
    """Squeezes (pelvic floor, abdominal) and cue annotations for a protocol's timeline.

    As-long-as-possible holds end where the session engine would end them (1 s after the
    level leaves the band), so later cues stay in step with the engine. The calibration's
    one more squeeze is done (and cued) only when the session will ask for it (``_as_asked``).
    """
    shift = origin_s
    if calibration is not None:
        calibration = _as_asked(calibration, behaviour, patient or Patient())
    steps = protocol.timeline() if calibration is None else _prefixed(calibration, protocol)
    starts = {}
    pfm, abd = [], []
    group_of = {s.index: g for g in _rep_groups(steps) for s in g}
    squeezed = 0  # calibration squeezes so far
    for s in steps:
        start = s.start_s + shift
        starts[s.index] = start
        if s.scoring == "calibration" and s.phase.kind == "work":  # maximal, or gentle (half)
            squeezed += 1
            level = _calibration_level(s, squeezed, behaviour)
            pfm.append(Squeeze(start + behaviour.reaction_s, s.phase.hold_s - 0.3, level))
            continue
        g = group_of.get(s.index)
        if g is None or s is not g[0]:
            continue
        if behaviour.pace_s and s.scoring == "quick":
            if s.rep == 1:
                pfm += _own_pace(steps, s, start, behaviour)
            continue
        rep = s.rep
        react = behaviour.late.get(rep, behaviour.reaction_s)
        early = rep in behaviour.late and behaviour.late[rep] < 0  # before the cue
        react = react + behaviour.jitter_s * float(rng.uniform(-1, 1))
        react = react if early else max(0.05, react)
        ph = s.phase
        span = sum(x.phase.duration_s for x in g)
        factor = max(0.05, 1.0 - behaviour.fatigue_per_rep * (rep - 1))
        level = _level(ph, behaviour, factor)
        if behaviour.fade_after is not None and rep > behaviour.fade_after:
            level = behaviour.fade_level
        # ramps of a third of the repetition at most: a 0.3 s hold is 0.1 s up, 0.2 s held,
        # 0.1 s down (a fixed 0.15 s ramp left a 0.1 s hold -0.05 s: a bump, not a hold)
        ramp = min(0.15 if span <= 2.0 else 0.3, span / 3)
        if ph.until_fail:
            hold = behaviour.endurance_s
            end_step = start + react + ramp + hold + ramp + FAIL_S
            shift += min(end_step, start + ph.duration_s) - (start + ph.duration_s)
        else:
            hold = max(0.0, behaviour.hold_s.get(rep, span - ramp))
        steps_levels = []
        if len(g) > 1:
            t = 0.0
            for x in g:
                aim = g[-1].phase if behaviour.lift_jump else x.phase
                steps_levels.append((t, _level(aim, behaviour, factor)))
                t += x.phase.duration_s
        if rep in behaviour.strain:  # pushes instead of squeezing
            abd.append(Squeeze(start + react, hold, behaviour.strain[rep], ramp, ramp))
            continue
        if rep in behaviour.skip:
            continue
        following = g[-1].index + 1 < len(steps)  # step i is steps[i] (on one clock)
        residual = behaviour.tense_after.get(rep, 0.0) if following else 0.0
        pfm.append(Squeeze(start + react, hold, level, ramp, ramp, residual=residual,
                           steps=steps_levels))
        if rep in behaviour.co_contract:
            abd.append(Squeeze(start + react, hold, behaviour.co_contract[rep], ramp, ramp))
        allowed = [x for x in g if x.phase.accessory_allowed]
        if behaviour.navel_in and allowed:
            at = allowed[0].start_s - s.start_s  # into the repetition
            abd.append(Squeeze(start + react + at, hold - at, behaviour.navel_in, ramp, ramp))
    notes = []
    for s in steps:
        tag = "calib" if s.scoring == "calibration" else "cue"
        tag += f":{s.phase.kind}:{s.phase.cue}" + (f" rep={s.rep}" if s.rep else "")
        notes.append(Annotation(round(starts[s.index], 4), 0.0, tag))
    return pfm, abd, notes


TAIL_S = 3.0  # signal after the last step's planned end: the session ends at its own end


FAIL_S = 1.0


def _own_pace(steps, first, start: float, behaviour: Behaviour) -> list[Squeeze]:
    """A quick section done at the patient's own pace: squeezes every ``pace_s`` until the
    section's end; squeeze n > ``fade_after`` is weak (``fade_level``)."""
    end = start + sum(x.phase.duration_s for x in steps
                      if x.section == first.section and x.index >= first.index)
    out, t, n = [], start + behaviour.reaction_s, 1
    pace_s = max(float(behaviour.pace_s), 0.1)  # a pace of 0 or less never reached the end
    while t + 0.6 < end:
        fade = behaviour.fade_after is not None and n > behaviour.fade_after
        level = behaviour.fade_level if fade else _level(first.phase, behaviour, 1.0)
        out.append(Squeeze(t, 0.2, level, 0.15, 0.15))
        t, n = t + pace_s, n + 1
    return out


PIECE_S = 60.0  # a long simulated session is made a minute at a time
LOOK_BACK_S = 120.0  # squeezes begun this long before a piece still shape it (a held tail)
OVERLAP_S = 1.0  # two pieces are cross-faded over this long


def simulate_pieces(pfm: list[Squeeze], abd: list[Squeeze], duration_s: float, fs_hz: float,
                    patient: Patient | None = None, seed: int = 0, accessory: bool = True,
                    pressure: bool = False) -> Iterator[tuple[np.ndarray, tuple]]:
    """The samples (and channels) of a long session a piece (``PIECE_S``) at a time, so
    memory does not grow with its length. Each piece is made from the squeezes around it
    with its own noise, ``OVERLAP_S`` longer, and cross-faded (equal power) into the next:
    no step where two pieces meet (a step would look like a twitch)."""
    n_total = int(round(duration_s * fs_hz))
    n_piece, n_over = int(round(PIECE_S * fs_hz)), int(round(OVERLAP_S * fs_hz))
    fade = np.sin(0.5 * np.pi * (np.arange(n_over) + 0.5) / n_over)[:, None]
    tail = None
    for k, first in enumerate(range(0, n_total, n_piece)):
        last = min(first + n_piece, n_total)
        t0, t1 = first / fs_hz, min(last + n_over, n_total) / fs_hz
        near = [sq for sq in pfm if t0 - LOOK_BACK_S < sq.onset_s < t1]
        near_abd = [sq for sq in abd if t0 - LOOK_BACK_S < sq.onset_s < t1]
        rec = simulate(near, t1 - t0, fs_hz, patient, seed * 100003 + k, pressure=pressure,
                       accessory=near_abd if accessory else None, spikes=False,
                       strain=near_abd, t0_s=t0).recording
        block = rec.blocks()[0]
        data = block.data
        if tail is not None:
            m = min(tail.shape[0], data.shape[0])
            data[:m] = tail[:m] * np.sqrt(1 - fade[:m] ** 2) + data[:m] * fade[:m]
        tail = data[last - first:].copy()
        yield data[:last - first], block.channels


def session_plan(protocol, behaviour: Behaviour | None = None, seed: int = 0,
                 origin_s: float = 2.0, calibrate: bool = False,
                 calibration: str | None = None, patient: Patient | None = None
                 ) -> tuple[list[Squeeze], list[Squeeze], list[Annotation], float]:
    """(pelvic-floor squeezes, abdominal ones, cue annotations, duration) of a simulated
    patient doing ``protocol``: what ``simulate_protocol`` records. It lasts until
    ``TAIL_S`` after the last step's end as she does it (an as-long-as-possible hold as long
    as she holds it, not its limit), or her last squeeze's."""
    from bbfeedback.exercise.session import calibration_steps

    behaviour = behaviour or Behaviour()
    rng = np.random.default_rng(seed)
    pfm, abd, cues = protocol_squeezes(protocol, behaviour, origin_s, rng,
                                       calibration_steps(calibration or protocol.calibration)
                                       if calibrate else None, patient)
    last = protocol.timeline()[-1].phase  # a rest, or a hold (its squeeze ends it)
    ends = [sq.offset_s for sq in pfm + abd] + [cues[-1].onset_s + (
        0.0 if last.until_fail else last.duration_s)]
    return pfm, abd, cues, max(ends) + TAIL_S


def simulate_protocol(protocol, behaviour: Behaviour | None = None, fs_hz: float = 1000.0,
                      seed: int = 0, patient: Patient | None = None, pressure: bool = False,
                      accessory: bool = False, origin_s: float = 2.0,
                      spikes: bool = False, calibrate: bool = False,
                      calibration: str | None = None) -> ProtocolSimulation:
    """A recording of a patient doing ``protocol``, with its cue annotations and truth.

    ``calibrate``: the patient first rests and squeezes three times for the session's own
    calibration (the steps of ``session.calibration_steps`` in the protocol's mode, or in
    ``calibration``: a gentle squeeze is a half one, "none" and "previous" rest only), and a
    4th time when the session will ask for it (``Behaviour.calibration_levels`` that
    disagree)."""
    pfm, abd, cues, duration = session_plan(protocol, behaviour, seed, origin_s, calibrate,
                                            calibration, patient)
    sim = simulate(pfm, duration, fs_hz, patient, seed, pressure=pressure,
                   accessory=abd if accessory else None, spikes=spikes, strain=abd)
    sim.recording.annotations = cues
    first_work = next(a.onset_s for a in cues if a.text.startswith("cue:work"))
    return ProtocolSimulation(sim, first_work, pfm, cues)
