"""Core benchmark: analyze's pipeline against NeuroKit2 and BioSPPy, one run, printed as ratios.

(a) Throughput on a 1-hour, 2-channel, 2 kHz recording: bbfeedback's analyze pipeline
    (notch, band-pass, RMS, self-calibration, detection; both channels) against NeuroKit2's
    ``emg_process`` on the first channel alone.
(b) Detection F1 (onset within 0.5 s) and onset error on the same generated recordings for
    bbfeedback, NeuroKit2 defaults and BioSPPy defaults.

    python benchmarks/bench_core.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from test_detection import score  # noqa: E402  (same matching rule as the tests)

from bbfeedback.app.analyze import analyze  # noqa: E402
from bbfeedback.exercise.simulate import Patient, random_squeezes, simulate  # noqa: E402

warnings.filterwarnings("ignore")


def _nk_events(x: np.ndarray, fs: float) -> list[dict]:
    import neurokit2 as nk

    signals, _ = nk.emg_process(x, sampling_rate=int(fs))
    on = np.flatnonzero(signals["EMG_Onsets"].to_numpy())
    off = np.flatnonzero(signals["EMG_Offsets"].to_numpy())
    return [{"onset_s": a / fs, "offset_s": (off[off > a][0] if (off > a).any() else a) / fs}
            for a in on]


def _biosppy_events(x: np.ndarray, fs: float) -> list[dict]:
    from biosppy.signals import emg

    out = emg.emg(signal=x, sampling_rate=fs, show=False)
    # BioSPPy returns one array of "onsets" (its find_onsets): used as documented
    return [{"onset_s": i / fs, "offset_s": i / fs} for i in out["onsets"]]


def throughput(hours: float) -> None:
    fs, duration = 2000.0, 3600.0 * hours
    rng = np.random.default_rng(1)
    sim = simulate(random_squeezes(duration, rng), duration, fs, seed=1,
                   accessory=random_squeezes(duration, rng))
    rec = sim.recording
    n = rec.signals[0].data.size
    t0 = time.process_time()
    ours = analyze(rec)
    t_ours = time.process_time() - t0
    t0 = time.process_time()
    import neurokit2 as nk

    nk.emg_process(rec.signals[0].data, sampling_rate=int(fs))
    t_nk = time.process_time() - t0
    ch_s = 2 * n / fs
    print(f"(a) throughput on {duration / 3600:g} h x 2 ch x {fs:g} Hz "
          f"({len(ours['contractions'])} contractions found)")
    print(f"    bbfeedback analyze, 2 channels : {t_ours:7.2f} CPU s  "
          f"= {ch_s / t_ours:8.0f} x real time per channel")
    print(f"    NeuroKit2 emg_process, 1 channel: {t_nk:7.2f} CPU s  "
          f"= {ch_s / 2 / t_nk:8.0f} x real time per channel")
    print(f"    ratio (NeuroKit2 time for 1 ch / bbfeedback time for 2 ch): {t_nk / t_ours:.1f}x"
          f"; per channel: {2 * t_nk / t_ours:.1f}x")


def accuracy(n_recordings: int) -> None:
    results: dict[str, list] = {"bbfeedback": [], "NeuroKit2": [], "BioSPPy": []}
    for k in range(n_recordings):
        fs = (250.0, 500.0, 1000.0, 2000.0)[k % 4]
        mains = (50.0, 60.0)[(k // 4) % 2]
        rng = np.random.default_rng([k, 7])
        truth = random_squeezes(90, rng)
        patient = Patient(mains_hz=mains, rest_uV=float(rng.uniform(2, 5)),
                          mvc_uV=float(rng.uniform(25, 60)))
        rec = simulate(truth, 90, fs, patient, seed=k).recording
        x = rec.signals[0].data
        found = {
            "bbfeedback": analyze(rec)["contractions"],
            "NeuroKit2": _nk_events(x, fs),
            "BioSPPy": _biosppy_events(x, fs),
        }
        for name, events in found.items():
            f1, on_err, _ = score(truth, events)
            results[name].append((f1, on_err))
    print(f"(b) detection on {n_recordings} generated recordings (250-2000 Hz, 50/60 Hz mains)")
    ref = None
    for name, rows in results.items():
        f1 = float(np.mean([r[0] for r in rows]))
        errs = [e for r in rows for e in r[1]]
        med = float(np.median(errs)) * 1000 if errs else float("nan")
        ref = ref or (f1, med)
        print(f"    {name:<11} F1 {f1:5.3f}   median onset error {med:6.1f} ms   "
              f"F1 ratio bbfeedback/this {ref[0] / max(f1, 1e-9):5.2f}   "
              f"onset error ratio this/bbfeedback {med / ref[1]:5.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="6 minutes instead of 1 hour")
    args = parser.parse_args()
    throughput(0.1 if args.quick else 1.0)
    accuracy(8 if args.quick else 16)


if __name__ == "__main__":
    main()
