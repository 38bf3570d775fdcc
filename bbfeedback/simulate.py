"""Realistic simulated recordings with known truth.

Surface EMG: Gaussian noise shaped to a muscle-like spectrum (peak near 80-120 Hz),
amplitude-modulated by a contraction profile (raised-cosine ramps, holds with fatigue decay)
on top of a resting tone of a few µV; plus mains hum with harmonics, baseline wander, ECG
bleed-through and motion spikes. Pressure: resting probe pressure, squeeze, breathing, drift,
noise and abdominal strain. The same generator feeds tests, the simulated sensor and
``sample_data/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import signal

from .recording import Annotation, Recording, Signal
from .signals import EMG, PRESSURE, Channel


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
    """Activation (fraction of MVC above rest) over time for a list of squeezes."""
    a = np.zeros_like(t)
    ordered = sorted(squeezes, key=lambda s: s.onset_s)
    for k, sq in enumerate(ordered):
        hold_start = sq.onset_s + sq.ramp_s
        hold_end = hold_start + sq.hold_s
        level = np.full_like(t, sq.level)
        for when, lvl in sq.steps:
            level = np.where(t >= hold_start + when, lvl, level)
        if sq.steps:  # smooth the floors of a lift a little
            level = np.convolve(level, np.ones(9) / 9, mode="same")
        decay = 1.0 - sq.fatigue * np.clip((t - hold_start) / max(sq.hold_s, 1e-9), 0, 1)
        shape = _ramp(t, sq.onset_s, sq.ramp_s) * (1.0 - _ramp(t, hold_end, sq.release_s))
        a = np.maximum(a, shape * level * decay)
        if sq.residual > 0:
            until = ordered[k + 1].onset_s if k + 1 < len(ordered) else t[-1] + 1
            tail = (t >= hold_end) & (t < until)
            a = np.where(tail, np.maximum(a, sq.residual), a)
    return a


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
             accessory: list[Squeeze] | None = None, spikes: bool = True) -> Simulated:
    """Make a recording: pelvic-floor EMG, optionally pressure and an abdominal channel."""
    patient = patient or Patient()
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(duration_s * fs_hz))) / fs_hz
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
        strain = activation(t, accessory) if accessory is not None else None
        prs = pressure_trace(t, act, patient, rng, strain)
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
