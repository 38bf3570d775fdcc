"""Regenerate the sample recordings in this folder (deterministic: fixed seeds).

    python sample_data/generate.py
"""

from __future__ import annotations

from pathlib import Path

from bbfeedback.app.analyze import stream
from bbfeedback.app.recorder import SessionRecorder
from bbfeedback.app.run import BlockList, run
from bbfeedback.app.sources import SIM_FULL_SCALE
from bbfeedback.exercise import protocols
from bbfeedback.exercise.session import Session
from bbfeedback.exercise.simulate import Behaviour, Patient, simulate_protocol

HERE = Path(__file__).parent


def save(name: str, protocol: str, behaviour: Behaviour, fs_hz: float, seed: int,
         **kwargs) -> None:
    """Simulate a patient calibrating then doing ``protocol``; record it as a live session
    would (calibration, settings and cue annotations from the session engine)."""
    proto = protocols.load(protocol)
    ps = simulate_protocol(proto, behaviour, fs_hz, seed=seed, calibrate=True, **kwargs)
    block = ps.sim.recording.blocks()[0]
    patient = kwargs.get("patient")  # recorded with the hum of its country notched
    mains = str(int(patient.mains_hz)) if patient is not None else "50"
    session = Session(proto, block.channels, fs_hz, start_s=ps.start_s, mains=mains)
    recorder = SessionRecorder(HERE / name, block.channels, fs_hz, SIM_FULL_SCALE, session,
                               {"name": "sim", "fs_hz": fs_hz}, "SAMPLE-01", force=True)
    run(BlockList(stream(block, 0.04)), session, [recorder])
    (HERE / name).chmod(0o644)  # simulated, no patient: readable by all


if __name__ == "__main__":
    save("a1_strength_emg.edf", "a1-strength",
         Behaviour(reaction_s=0.5, fatigue_per_rep=0.05, tense_after={3: 0.25},
                   co_contract={4: 0.35}), 1000, seed=11, accessory=True)
    save("endurance_pressure.edf", "a2-endurance", Behaviour(endurance_s=22.0), 500, seed=12,
         pressure=True)
    save("quick_flicks_60hz.edf", "a3-quick", Behaviour(fade_after=7), 2000, seed=13,
         patient=Patient(mains_hz=60))
    save("lift.edf", "b5-lift", Behaviour(), 500, seed=14)
