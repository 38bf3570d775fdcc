"""An independent signal model for the known-truth corpus: surface EMG as band-limited Gaussian
noise under an amplitude envelope, intravaginal pressure as plateaus on breathing, and the
artefacts a clinic meets (cable bursts, lead-off, spikes, saturation, mains hum).

Why its own model: ``bbfeedback.exercise.simulate`` and ``sample_data/generate.py`` were
written with the program; a corpus made by them shares the program's assumptions, so the
program would be judged by itself. Here the truth is set first (each squeeze's onset, level
and length, each artefact's interval) and the signal is drawn from it, deterministic per seed
(one ``numpy.random.Generator`` per recording).

Units: EMG in µV, its envelope in µV RMS; pressure in cmH2O. One sample rate, ``FS_HZ``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pyedflib

FS_HZ = 1000.0
EMG_RANGE_UV = (-2000.0, 2000.0)  # a typical sEMG amplifier's input range
PRESSURE_RANGE_CMH2O = (-100.0, 400.0)
AMP_NOISE_UV = 0.5  # amplifier noise, white, RMS
PRESSURE_NOISE_CMH2O = 0.1
WOBBLE = 0.05  # slow level wobble of a held contraction, as a fraction


@dataclass(frozen=True)
class Interval:
    """Where something is true, on the recording clock (seconds from the first sample)."""

    start_s: float
    end_s: float

    def overlaps(self, a_s: float, b_s: float) -> bool:
        return self.start_s < b_s and a_s < self.end_s


@dataclass(frozen=True)
class Squeeze:
    """One contraction as the patient makes it: ``level`` above rest at its plateau (µV RMS
    of the envelope, or cmH2O), raised-cosine ramps. ``breath_hold``: breathing stops while it
    lasts (a Valsalva push is made with the glottis closed)."""

    onset_s: float
    level: float
    plateau_s: float
    rise_s: float = 0.2
    fall_s: float = 0.2
    breath_hold: bool = False

    @property
    def plateau(self) -> Interval:
        a = self.onset_s + self.rise_s
        return Interval(a, a + self.plateau_s)

    @property
    def end_s(self) -> float:
        return self.onset_s + self.rise_s + self.plateau_s + self.fall_s


def times(duration_s: float, fs_hz: float = FS_HZ) -> np.ndarray:
    return np.arange(int(round(duration_s * fs_hz))) / fs_hz


def _ramp(t: np.ndarray, start_s: float, length_s: float) -> np.ndarray:
    """0 before ``start_s``, 1 after ``start_s + length_s``, a raised cosine between."""
    x = np.clip((t - start_s) / max(length_s, 1e-9), 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * x)


def shape(t: np.ndarray, sq: Squeeze) -> np.ndarray:
    """The squeeze's time course, 0 at rest and 1 on its plateau."""
    fall_at = sq.onset_s + sq.rise_s + sq.plateau_s
    return _ramp(t, sq.onset_s, sq.rise_s) * (1.0 - _ramp(t, fall_at, sq.fall_s))


def emg_spectrum(freqs: np.ndarray) -> np.ndarray:
    """Amplitude spectrum of surface EMG: power a log-normal bump peaking at 85 Hz (median
    frequency about 110 Hz, as pelvic-floor sEMG at 80-120 Hz), inside 20-450 Hz with
    raised-cosine edges (the SENIAM band)."""
    f = np.maximum(freqs, 1e-6)
    psd = np.exp(-np.log(f / 85.0) ** 2 / (2 * 0.5**2))
    edge = _ramp(f, 10.0, 10.0) * (1.0 - _ramp(f, 450.0, 30.0))
    return np.sqrt(psd) * edge


def emg_carrier(n: int, fs_hz: float, rng: np.random.Generator) -> np.ndarray:
    """White Gaussian noise shaped in the frequency domain to ``emg_spectrum``, unit RMS."""
    spec = np.fft.rfft(rng.standard_normal(n)) * emg_spectrum(np.fft.rfftfreq(n, 1 / fs_hz))
    x = np.fft.irfft(spec, n)
    return x / np.sqrt(np.mean(x**2))


def wobble(t: np.ndarray, rng: np.random.Generator, depth: float = WOBBLE) -> np.ndarray:
    """1 + a slow random wander within ±``depth`` (three sines of 0.1-0.6 Hz): no patient
    holds a level flat."""
    w = sum(np.sin(2 * np.pi * rng.uniform(0.1, 0.6) * t + rng.uniform(0, 2 * np.pi))
            for _ in range(3))
    return 1.0 + depth * w / max(np.abs(w).max(), 1e-9)


def emg_envelope(t: np.ndarray, rest_uv: float, squeezes: list[Squeeze],
                 rng: np.random.Generator) -> np.ndarray:
    """The true amplitude (µV RMS) over time: rest level plus each squeeze, with wobble."""
    env = np.full(t.size, rest_uv)
    for sq in squeezes:
        env += sq.level * shape(t, sq)
    return env * wobble(t, rng)


def emg(duration_s: float, rest_uv: float, squeezes: list[Squeeze],
        rng: np.random.Generator, fs_hz: float = FS_HZ,
        amp_noise_uv: float = AMP_NOISE_UV) -> tuple[np.ndarray, np.ndarray]:
    """(raw µV, true envelope µV RMS): the carrier times the envelope, plus amplifier noise."""
    t = times(duration_s, fs_hz)
    env = emg_envelope(t, rest_uv, squeezes, rng)
    raw = env * emg_carrier(t.size, fs_hz, rng) + amp_noise_uv * rng.standard_normal(t.size)
    return raw, env


def pressure(duration_s: float, rest_cmh2o: float, squeezes: list[Squeeze],
             rng: np.random.Generator, fs_hz: float = FS_HZ, breath_hz: float = 0.25,
             breath_cmh2o: float = 1.0) -> np.ndarray:
    """Probe pressure (cmH2O): rest + breathing (stopped during a breath-hold) + plateaus."""
    t = times(duration_s, fs_hz)
    breathing = breath_cmh2o * np.sin(2 * np.pi * breath_hz * t + rng.uniform(0, 2 * np.pi))
    p = np.full(t.size, rest_cmh2o)
    for sq in squeezes:
        s = shape(t, sq)
        p += sq.level * s
        if sq.breath_hold:
            breathing *= 1.0 - s
    return p + breathing + PRESSURE_NOISE_CMH2O * rng.standard_normal(t.size)


# --- artefacts: each returns the modified signal and where the truth says it is -----------

def _span(x: np.ndarray, fs_hz: float, t0: float, duration_s: float) -> slice:
    a = int(round(t0 * fs_hz))
    return slice(max(a, 0), min(a + int(round(duration_s * fs_hz)), x.size))


def cable_burst(x: np.ndarray, t0: float, rms_uv: float, rng: np.random.Generator,
                fs_hz: float = FS_HZ, duration_s: float = 0.4,
                swing_uv: float = 0.0) -> tuple[np.ndarray, Interval]:
    """A cable or electrode movement: broadband noise of ``rms_uv`` (several times the
    patient's MVC RMS), optionally on a low-frequency swing (half a 1.25 Hz sine)."""
    y = x.copy()
    s = _span(y, fs_hz, t0, duration_s)
    n = s.stop - s.start
    y[s] += rms_uv * rng.standard_normal(n)
    if swing_uv:
        y[s] += swing_uv * np.sin(np.pi * np.arange(n) / max(n, 1))
    return y, Interval(t0, t0 + duration_s)


def lead_off(x: np.ndarray, t0: float, fs_hz: float = FS_HZ,
             duration_s: float = 2.5) -> tuple[np.ndarray, Interval]:
    """An electrode off the skin: the amplifier gives exactly 0 (signal and noise)."""
    y = x.copy()
    y[_span(y, fs_hz, t0, duration_s)] = 0.0
    return y, Interval(t0, t0 + duration_s)


def spikes(x: np.ndarray, times_s: list[float], fs_hz: float = FS_HZ, amp_uv: float = 600.0,
           width_s: float = 0.002) -> tuple[np.ndarray, Interval]:
    """Short spikes (static discharge, a cable tap): half-sines of ``width_s``, alternating
    sign."""
    y = x.copy()
    for k, t0 in enumerate(times_s):
        s = _span(y, fs_hz, t0, width_s)
        n = s.stop - s.start
        y[s] += (-1) ** k * amp_uv * np.sin(np.pi * (np.arange(n) + 0.5) / n)
    return y, Interval(min(times_s), max(times_s) + width_s)


def saturate(x: np.ndarray, lo: float, hi: float, fs_hz: float = FS_HZ,
             merge_s: float = 0.5) -> tuple[np.ndarray, list[Interval]]:
    """The device's input range: every sample beyond it is held at the limit. Returns where
    it clipped (runs closer than ``merge_s`` merged)."""
    y = np.clip(x, lo, hi)
    hit = np.flatnonzero((x <= lo) | (x >= hi))
    out: list[Interval] = []
    for i in hit:
        t = float(i / fs_hz)
        if out and t - out[-1].end_s <= merge_s:
            out[-1] = Interval(out[-1].start_s, t + 1 / fs_hz)
        else:
            out.append(Interval(t, t + 1 / fs_hz))
    return y, out


def mains_hum(x: np.ndarray, amp_uv: float, fs_hz: float = FS_HZ, freq_hz: float = 50.0,
              phase: float = 0.3) -> tuple[np.ndarray, Interval]:
    """Mains interference over the whole recording."""
    t = np.arange(x.size) / fs_hz
    return x + amp_uv * np.sin(2 * np.pi * freq_hz * t + phase), Interval(0.0, x.size / fs_hz)


# --- recordings ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Signal:
    """One channel as the device gives it: ``range`` is its physical input range."""

    name: str
    kind: str  # "emg" | "pressure" (bbfeedback's channel kinds)
    unit: str
    data: np.ndarray
    range: tuple[float, float]


@dataclass(frozen=True)
class Recording:
    fs_hz: float
    signals: tuple[Signal, ...]
    artefacts: dict[str, list[Interval]] = field(default_factory=dict)

    @property
    def n_samples(self) -> int:
        return self.signals[0].data.size

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.fs_hz

    def matrix(self) -> np.ndarray:
        """(samples, channels), as a device hands them on: clipped to each input range."""
        return np.column_stack([np.clip(s.data, *s.range) for s in self.signals])

    def signal(self, name: str) -> Signal:
        return next(s for s in self.signals if s.name == name)

    def with_signal(self, sig: Signal, **artefacts: list[Interval]) -> Recording:
        """This recording with one channel replaced (an artefact added), its truth noted."""
        sigs = tuple(sig if s.name == sig.name else s for s in self.signals)
        return replace(self, signals=sigs, artefacts={**self.artefacts, **artefacts})


def write_edf(path: Path, rec: Recording) -> Path:
    """A plain EDF+ file (signals only, no annotations of bbfeedback): 1 s data records,
    16-bit, each header's physical range = the device's input range."""
    if rec.n_samples % int(rec.fs_hz):
        raise ValueError("EDF data records are 1 s: make recordings whole seconds long")
    w = pyedflib.EdfWriter(str(path), len(rec.signals), pyedflib.FILETYPE_EDFPLUS)
    try:
        w.setSignalHeaders([{
            "label": s.name, "dimension": s.unit, "sample_frequency": rec.fs_hz,
            "physical_min": s.range[0], "physical_max": s.range[1],
            "digital_min": -32768, "digital_max": 32767, "transducer": "", "prefilter": "",
        } for s in rec.signals])
        w.writeSamples([np.ascontiguousarray(col) for col in rec.matrix().T])
    finally:
        w.close()
    return path
