"""Session benchmark: recording overhead and replay re-scoring of a 1-hour session.

    python benchmarks/bench_sessions.py [--minutes 60]

A 2-channel (pelvic floor + abdominal), 2 kHz simulated session of ``a1-strength`` repeated
for the whole time is (a) recorded block by block (40 ms blocks) by the crash-safe recorder,
with and without the live session engine, and (b) re-scored from the file by
``bbfeedback analyze --protocol`` (read + pipeline + detector + session engine).
CPU seconds per second of signal, and the re-scoring time against real time.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bbfeedback.app.analyze import analyze
from bbfeedback.app.recorder import SessionRecorder
from bbfeedback.app.run import BlockList, run
from bbfeedback.exercise import protocols
from bbfeedback.exercise.session import Session
from bbfeedback.exercise.simulate import Behaviour, simulate_protocol
from bbfeedback.recording import read_recording
from bbfeedback.signal.blocks import split_blocks

FS = 2000.0


def long_protocol(folder: Path, minutes: float) -> Path:
    text = (protocols.HERE / "a1-strength.toml").read_text()
    reps = int(minutes * 60 / 10)
    path = folder / "a1-long.toml"
    path.write_text(text.replace("repetitions = 5", f"repetitions = {reps}"))
    return path


def record(path: Path, block, proto, start_s, with_session: bool) -> float:
    session = Session(proto, block.channels, FS, start_s=start_s) if with_session else None
    rec = SessionRecorder(path, block.channels, FS, {"emg": (-2000.0, 2000.0)}, session,
                          {"name": "bench"}, "BENCH-1")
    c0 = time.process_time()
    run(BlockList(split_blocks(block, int(0.04 * FS))), session, [rec])
    return time.process_time() - c0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        proto = protocols.load(str(long_protocol(folder, args.minutes)))
        ps = simulate_protocol(proto, Behaviour(fatigue_per_rep=0.0005), FS, seed=1,
                               calibrate=True, accessory=True)
        block = ps.sim.recording.blocks()[0]
        seconds = block.n_samples / FS
        plain = record(folder / "plain.edf", block, proto, ps.start_s, False)
        live = record(folder / "live.edf", block, proto, ps.start_s, True)
        c0, t0 = time.process_time(), time.perf_counter()
        rec = read_recording(folder / "live.edf")
        read_s = time.perf_counter() - t0
        result = analyze(rec, protocol=proto)
        cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    print(f"session: {seconds / 3600:.2f} h x 2 channels x {FS:g} Hz, "
          f"{result['summary']['reps']} repetitions re-scored")
    print(f"(a) recording overhead: {plain / seconds * 1000:.2f} ms CPU per s of signal "
          f"(file only), {live / seconds * 1000:.2f} ms with the live session engine")
    print(f"(b) re-scoring from the file: {wall:.2f} s wall ({read_s:.2f} s reading), "
          f"{cpu:.2f} s CPU = {seconds / wall:.0f} x real time")


if __name__ == "__main__":
    main()
