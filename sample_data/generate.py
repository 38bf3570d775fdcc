"""Regenerate the sample recordings in this folder (deterministic: fixed seeds).

    python sample_data/generate.py
"""

from __future__ import annotations

from pathlib import Path

from bbfeedback.recording import Annotation
from bbfeedback.recording.edf import write_edf
from bbfeedback.simulate import Patient, Squeeze, simulate

HERE = Path(__file__).parent


def strength() -> None:
    """a1-strength: 5 holds of 5 s at maximum, 4 s rest; pelvic floor + abdominal EMG."""
    squeezes = [Squeeze(6 + 9.6 * k, hold_s=5, level=0.9 - 0.05 * k, fatigue=0.1)
                for k in range(5)]
    abdominal = [Squeeze(6 + 9.6 * 3, hold_s=5, level=0.3)]  # co-contraction on rep 4
    sim = simulate(squeezes, 56, 1000, Patient(mains_hz=50), seed=11, accessory=abdominal)
    cues = [Annotation(sq.onset_s, 0, "cue: Contract") for sq in squeezes]
    write_edf(HERE / "a1_strength_emg.edf", sim.recording.signals, cues,
              {"equipment": "bbfeedback simulator"})


def pressure() -> None:
    """Squeeze pressure with EMG, 500 Hz: 4 holds of 8 s at half strength."""
    squeezes = [Squeeze(5 + 14 * k, hold_s=8, level=0.5, fatigue=0.2) for k in range(4)]
    sim = simulate(squeezes, 62, 500, Patient(mains_hz=50), seed=12, pressure=True)
    write_edf(HERE / "endurance_pressure.edf", sim.recording.signals, [],
              {"equipment": "bbfeedback simulator"})


def quick() -> None:
    """Quick contractions at 2 kHz with 60 Hz mains hum: 10 flicks that fade after 7."""
    squeezes = [Squeeze(4 + 3 * k, hold_s=0.6, level=0.9 if k < 7 else 0.3, ramp_s=0.15,
                        release_s=0.15) for k in range(10)]
    sim = simulate(squeezes, 36, 2000, Patient(mains_hz=60), seed=13)
    write_edf(HERE / "quick_flicks_60hz.edf", sim.recording.signals, [],
              {"equipment": "bbfeedback simulator"})


if __name__ == "__main__":
    strength()
    pressure()
    quick()
