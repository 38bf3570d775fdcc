"""Onset and offset to the sample (issue 22): error against known truth, four methods, one run.

The corpus is ``tests/test_onset.py``'s (``corpus``: the independent signal model of
``tests/truth/model.py``; rest 2-5 µV RMS, MVC 20-60 µV, raised-cosine ramps 0.15-0.3 s),
here over more seeds. Per method: squeezes found (K/N), extra detections, onset error
(median signed, median and 90th percentile of |error|) and offset error, in ms.

(a) the envelope: the raw on-crossing of the moving RMS, and what ``ContractionDetector``
    reports (the crossing projected back along the envelope, delays corrected);
(b) ``bbfeedback.detect.onset`` on the band-passed EMG around the detector's crossings: the full
    refinement, and its first stage alone (Staude's AGLR two-variance split, on the whitened
    signal and on the Teager-Kaiser energy);
(c) a Teager-Kaiser double threshold written here (Solnik et al. 2010 style, offline): 30-300 Hz
    band-pass, TKEO, full-wave rectification, 50 Hz low-pass (zero phase), threshold mean + k SD
    of the calibration rest; active for at least ``TK_MIN_ON_S``, pauses shorter than
    ``TK_MIN_GAP_S`` bridged;
(d) NeuroKit2 ``emg_activation`` on ``emg_amplitude(emg_clean(raw))``, its default method
    ("threshold") and "mixture" (a benchmark-only dependency: ``pip install .[bench]``).

Also the CPU time of (b) per second of signal against (a) (pipeline + detector), as a ratio.

    python benchmarks/bench_onset.py [--seeds N] [--no-neurokit]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy import signal

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from test_onset import (  # noqa: E402  (the tests' corpus and chain, after the path is set)
    CALIBRATION_REST_S,
    FS_HZ,
    Corpus,
    corpus,
    detections,
)

from bbfeedback.detect.onset import LOOKAHEAD_S, refine_offset, refine_onset  # noqa: E402

MATCH_S = (-0.5, 0.8)  # a detected onset this close to a true one (after it: +) is that squeeze
TK_BAND_HZ = (30.0, 300.0)
TK_LOWPASS_HZ = 50.0
TK_MIN_ON_S = 0.05  # active at least this long ...
TK_MIN_GAP_S = 0.2  # ... and pauses shorter than this bridged (as the detector's min_gap_s)
TK_K = (3.0, 6.0, 15.0)  # thresholds tried: Hodges & Bui's 3 SD up to a strict 15 SD


def tkeo_double_threshold(raw: np.ndarray, fs_hz: float, k: float,
                          min_on_s: float = TK_MIN_ON_S,
                          min_gap_s: float = TK_MIN_GAP_S) -> list[tuple[int, int]]:
    """(onset, offset) sample pairs of a Teager-Kaiser double-threshold detector."""
    band = signal.butter(4, TK_BAND_HZ, btype="bandpass", fs=fs_hz, output="sos")
    x = signal.sosfiltfilt(band, raw)
    psi = np.empty_like(x)
    psi[1:-1] = x[1:-1] ** 2 - x[:-2] * x[2:]
    psi[0], psi[-1] = psi[1], psi[-2]
    low = signal.butter(2, TK_LOWPASS_HZ, fs=fs_hz, output="sos")
    y = signal.sosfiltfilt(low, np.abs(psi))
    a, b = (int(s * fs_hz) for s in CALIBRATION_REST_S)
    active = y > y[a:b].mean() + k * y[a:b].std()
    active[:b] = False  # the calibration rest is the reference, not a contraction
    min_n = int(round(min_on_s * fs_hz))
    gap_n = int(round(min_gap_s * fs_hz))
    merged: list[list[int]] = []
    for on, off in _runs(active):
        if merged and on - merged[-1][1] < gap_n:
            merged[-1][1] = off
        else:
            merged.append([on, off])
    return [(on, off) for on, off in merged if off - on >= min_n]


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(),
                    strict=True))


def neurokit_events(raw: np.ndarray, fs_hz: float,
                    methods: tuple[str, ...]) -> dict[str, list[tuple[int, int]]]:
    """(onset, offset) sample pairs of ``emg_activation`` per method, on NeuroKit2's own
    cleaning and amplitude (each onset paired with the next offset)."""
    import neurokit2 as nk

    clean = nk.emg_clean(raw, sampling_rate=int(fs_hz))
    amp = nk.emg_amplitude(clean)
    out = {}
    for method in methods:
        _, info = nk.emg_activation(emg_amplitude=amp, emg_cleaned=clean,
                                    sampling_rate=int(fs_hz), method=method)
        on = np.asarray(info["EMG_Onsets"], dtype=int)
        off = np.asarray(info["EMG_Offsets"], dtype=int)
        out[method] = [(int(a), int(off[off > a][0]) if (off > a).any() else int(a))
                       for a in on]
    return out


class Score:
    """Errors of one method over the corpus (seconds), with found/extra counts."""

    def __init__(self, name: str):
        self.name = name
        self.on: list[float] = []
        self.off: list[float] = []
        self.n = self.extra = 0

    def add_events(self, c: Corpus, events: list[tuple[float, float]]) -> None:
        """Events as (onset_s, offset_s); each squeeze takes the first onset near it."""
        used = set()
        for sq in c.squeezes:
            self.n += 1
            for i, (on_s, off_s) in enumerate(events):
                if i not in used and MATCH_S[0] <= on_s - sq.onset_s <= MATCH_S[1]:
                    used.add(i)
                    self.on.append(on_s - sq.onset_s)
                    self.off.append(off_s - sq.end_s)
                    break
        self.extra += len(events) - len(used)

    def row(self) -> str:
        if not self.on:
            return f"{self.name:<44} {0:>3}/{self.n:<3} {self.extra:>5}  (nothing found)"
        on, off = 1e3 * np.array(self.on), 1e3 * np.abs(np.array(self.off))
        a = np.abs(on)
        return (f"{self.name:<44} {len(on):>3}/{self.n:<3} {self.extra:>5} "
                f"{np.median(on):>+8.1f} {np.median(a):>7.1f} {np.percentile(a, 90):>7.1f} "
                f"{np.median(off):>8.1f} {np.percentile(off, 90):>7.1f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=12, help="recordings (10 squeezes each)")
    ap.add_argument("--no-neurokit", action="store_true", help="leave NeuroKit2 out")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")

    nk_methods: tuple[str, ...] = ()
    if not args.no_neurokit:
        try:
            import neurokit2  # noqa: F401
            nk_methods = ("threshold", "mixture")
        except ImportError:
            print("NeuroKit2 is not importable (pip install .[bench]): its rows are left out")

    scores = {key: Score(name) for key, name in [
        ("cross", "(a) envelope on/off-crossing"),
        ("det", "(a) ContractionDetector onset/offset"),
        ("ref", "(b) refine_onset/offset (AGLR + ramp)"),
        ("split", "(b) AGLR two-variance split only"),
        ("split_tk", "(b) AGLR split on TKEO only"),
        *[(f"tk{k:g}", f"(c) TKEO double threshold, k = {k:g} SD") for k in TK_K],
        *[(f"nk_{m}", f"(d) NeuroKit2 emg_activation {m!r}") for m in nk_methods],
    ]}
    cpu_chain = cpu_refine = signal_s = 0.0
    n = 0
    for seed in range(args.seeds):
        c = corpus(seed)
        signal_s += c.raw_uv.size / FS_HZ
        n += len(c.squeezes)
        t0 = time.process_time()
        d = detections(c)
        cpu_chain += time.process_time() - t0
        fs = FS_HZ
        dets = list(d.detections)
        scores["cross"].add_events(c, [(x.on_crossing / fs, x.off_crossing / fs) for x in dets])
        scores["det"].add_events(c, [(x.event.onset_sample / fs, x.event.offset_sample / fs)
                                     for x in dets])
        t0 = time.process_time()
        refined = []
        for x in dets:
            on = refine_onset(d.filtered_uv, fs, x.on_crossing)
            off = refine_offset(d.filtered_uv, fs, x.off_crossing, min_index=x.on_crossing)
            refined.append(((on - d.delay_n) / fs, (off - d.delay_n) / fs))
        cpu_refine += time.process_time() - t0
        scores["ref"].add_events(c, refined)
        for key, opts in (("split", {}), ("split_tk", {"tkeo": True})):
            scores[key].add_events(c, [(
                (refine_onset(d.filtered_uv, fs, x.on_crossing, ramp=False, **opts)
                 - d.delay_n) / fs,
                (refine_offset(d.filtered_uv, fs, x.off_crossing, min_index=x.on_crossing,
                               ramp=False, **opts) - d.delay_n) / fs) for x in dets])
        for k in TK_K:
            ev = tkeo_double_threshold(c.raw_uv, fs, k)
            scores[f"tk{k:g}"].add_events(c, [(a / fs, b / fs) for a, b in ev])
        if nk_methods:
            for m, ev in neurokit_events(c.raw_uv, fs, nk_methods).items():
                scores[f"nk_{m}"].add_events(c, [(a / fs, b / fs) for a, b in ev])

    print(f"known-truth corpus: {args.seeds} recordings, {n} squeezes, {signal_s:.0f} s at "
          f"{FS_HZ:g} Hz; refinement lookahead {LOOKAHEAD_S:g} s after the crossing")
    print(f"{'method':<44} {'found':>7} {'extra':>5} "
          f"{'on med':>8} {'|on|med':>7} {'|on|p90':>7} {'|off|med':>8} {'|off|p90':>7}   (ms)")
    for s in scores.values():
        print(s.row())
    per_s = 1e3 / signal_s
    print(f"CPU per second of signal: (a) pipeline + detector {cpu_chain * per_s:.2f} ms, "
          f"(b) refinement (onset + offset) {cpu_refine * per_s:.2f} ms; "
          f"(b)/(a) = {cpu_refine / max(cpu_chain, 1e-12):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
