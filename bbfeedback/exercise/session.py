"""The session engine: runs a protocol on the sample clock of incoming blocks.

One engine for live devices, replay and offline analysis: raw blocks go in
(``process``); cue changes, contractions and repetition scores come out. Nothing here looks at
the wall clock, so feeding a recording block by block or in one go gives the same scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

from bbfeedback.detect.calibration import Calibration, baseline_from_rest, plateau_max
from bbfeedback.detect.contractions import Contraction, ContractionDetector, DetectorConfig
from bbfeedback.exercise import scoring, summary
from bbfeedback.exercise.protocols import BASELINE, CUES, REST, WORK, Phase, Protocol, Step, targets
from bbfeedback.exercise.scoring import Trace, WorkStep
from bbfeedback.signal.blocks import EMG, Block, Channel
from bbfeedback.signal.pipeline import Pipeline, PipelineConfig, resolve_notch

TRACE_RATE_HZ = 100.0  # envelope kept for scoring and display at about this rate
FAIL_BELOW_S = 1.0  # an until-fail hold ends after this long below its band
FLAT_RUN = 3  # identical raw samples in a row at (98 % of) the extreme = clipping
CALIBRATION_REST_S = 10.0
CALIBRATION_SQUEEZES = 3
ACCESSORY_NAMES = ("abd", "abdominal", "accessory", "acc", "buik")


@dataclass
class CueChange:
    t_s: float
    step: int
    kind: str
    cue: str
    cue_nl: str
    cue_en: str
    rep: int | None
    planned_s: float
    section: str
    posture: str | None
    calibration: bool = False  # a cue of the built-in calibration, not of the protocol


@dataclass
class RepScored:
    rep: dict


@dataclass
class Gap:
    t_s: float
    lost_samples: int


def calibration_steps() -> list[Step]:
    """Rest for the baseline, then three maximal squeezes for MVC (not scored)."""
    words = {k: (CUES[k]["nl"], CUES[k]["en"]) for k in ("baseline", "squeeze_max", "relax")}
    steps = [Step(0, 0.0, Phase(BASELINE, "baseline", *words["baseline"], CALIBRATION_REST_S),
                  "calibration-rest", "calibration", None)]
    for _ in range(CALIBRATION_SQUEEZES):
        steps.append(Step(0, 0.0, Phase(WORK, "squeeze_max", *words["squeeze_max"], 3.0, 3.0,
                                        0.0, 100.0, (60.0, 300.0)),
                          "calibration-mvc", "calibration", None))
        steps.append(Step(0, 0.0, Phase(REST, "relax", *words["relax"], 5.0),
                          "calibration-mvc", "calibration", None))
    return steps


def pick_channels(channels: tuple[Channel, ...], main: str | None,
                  accessory: str | None) -> tuple[int, int | None]:
    """Indices of the scored (pelvic-floor) channel and of the accessory (abdominal) one."""
    names = [c.name for c in channels]
    if accessory is None:
        accessory = next((c.name for c in channels if c.kind == EMG
                          and c.name.lower().startswith(ACCESSORY_NAMES)), None)
    if main is None:
        main = next((c.name for c in channels if c.kind == EMG and c.name != accessory),
                    channels[0].name)
    if main not in names:
        raise ValueError(f"no channel named {main!r}")
    return names.index(main), (names.index(accessory) if accessory in names else None)


class FlatTops:
    """Finds clipping: runs of identical raw samples at the extreme, across block borders."""

    def __init__(self, n_channels: int):
        self.last = np.full(n_channels, np.nan)
        self.run = np.zeros(n_channels, dtype=int)
        self.max_abs = np.zeros(n_channels)

    def process(self, x: np.ndarray, start_sample: int) -> list[int]:
        hits = []
        self.max_abs = np.maximum(self.max_abs, np.abs(x).max(axis=0) if x.size else 0)
        for c in range(x.shape[1]):
            col = x[:, c]
            same = np.concatenate([[col[0] == self.last[c]], col[1:] == col[:-1]])
            run = self.run[c]
            for i in np.flatnonzero(same):  # few: EMG noise almost never repeats
                run = run + 1 if i == 0 or same[i - 1] else 1
                if run + 1 == FLAT_RUN and col[i] != 0 and abs(col[i]) >= 0.98 * self.max_abs[c]:
                    hits.append(start_sample + int(i))
            self.run[c] = run if same[-1] else 0
            self.last[c] = col[-1]
        return hits


class _Store:
    """Decimated envelope of all channels (every k-th sample at absolute indices)."""

    def __init__(self, k: int, n_channels: int):
        self.k = k
        self.n_channels = n_channels
        self.data = np.empty((4096, n_channels))
        self.size = 0

    def add(self, env: np.ndarray, start_sample: int) -> None:
        first = (-start_sample) % self.k
        take = env[first::self.k]
        idx0 = (start_sample + first) // self.k
        need = idx0 + take.shape[0]
        if need > self.data.shape[0]:
            grown = np.empty((max(need, 2 * self.data.shape[0]), self.n_channels))
            grown[: self.size] = self.data[: self.size]
            self.data = grown
        if idx0 > self.size:  # lost samples: hold the last value across the gap
            self.data[self.size:idx0] = self.data[self.size - 1] if self.size else 0.0
        self.data[idx0:need] = take
        self.size = max(self.size, need)


class Session:
    """A protocol running against incoming raw blocks of one device (one sample rate)."""

    def __init__(self, protocol: Protocol, channels: tuple[Channel, ...], fs_hz: float,
                 calibrations: dict[str, Calibration] | None = None, *,
                 pipeline_config: PipelineConfig | None = None,
                 detector_config: DetectorConfig | None = None, start_s: float | None = None,
                 main: str | None = None, accessory: str | None = None):
        self.protocol = protocol
        self.fs_hz = fs_hz
        if pipeline_config is None:  # live default: notch every 50 Hz harmonic
            pipeline_config = PipelineConfig(notch_hz=resolve_notch("50", None, fs_hz))
        self.pipeline = Pipeline(channels, fs_hz, pipeline_config)
        self.channels = self.pipeline.channels
        self.main, self.accessory = pick_channels(self.channels, main, accessory)
        self.detector_config = detector_config or DetectorConfig()
        self.calibrations = dict(calibrations or {})
        steps = protocol.timeline()
        if not self.calibrated():
            steps = calibration_steps() + steps
        self.steps = [Step(i, s.start_s, s.phase, s.section, s.scoring, s.rep, s.posture)
                      for i, s in enumerate(steps)]
        first_work = next(i for i, s in enumerate(self.steps)
                          if s.phase.kind == WORK and s.scoring != "calibration")
        lead = sum(s.phase.duration_s for s in self.steps[:first_work])
        # start_s: recording time of the first work cue of the protocol proper
        self.start_s = lead if start_s is None else start_s
        self.origin_s = self.start_s - lead
        self.starts: dict[int, float] = {0: self.origin_s}
        self.ends: dict[int, float] = {}
        self.k = max(1, int(round(fs_hz / TRACE_RATE_HZ)))
        self.store = _Store(self.k, len(self.channels))
        self.delays = [self.pipeline.chain_of(c).window_n / 2 / fs_hz
                       + self.pipeline.chain_of(c).filter_delay_s
                       for c in range(len(self.channels))]
        self.flat = FlatTops(len(self.channels))
        self.detector: ContractionDetector | None = None
        self.contractions: list[Contraction] = []
        self.gaps: list[Gap] = []
        self.clipped_s: list[float] = []
        self.cues: list[CueChange] = []
        self.reps: list[dict] = []
        self._cue_step = -1
        self._next_rep = 0
        self._position = 0
        self._mdf = _EpochMdf(fs_hz, enabled=protocol.scoring == "glazer")
        self._finished = False
        if self.calibrated():
            self._make_detector()

    # --- feeding ---------------------------------------------------------------------------
    def process(self, raw: Block) -> list:
        """Feed one raw block; return what happened (cues, contractions, scores, gaps)."""
        out: list = []
        if raw.lost_before:  # the run loop makes it equal to the jump of the sample clock
            gap = Gap((raw.start_sample - raw.lost_before) / self.fs_hz, int(raw.lost_before))
            self.gaps.append(gap)
            out.append(gap)
        self._position = raw.end_sample
        cols = self.pipeline.columns
        self.clipped_s += [i / self.fs_hz for i in self.flat.process(raw.data[:, cols],
                                                                      raw.start_sample)]
        env = self.pipeline.process(raw)
        if self.channels[self.main].kind == EMG:
            self._mdf.add(self.pipeline.filtered[:, self.main], raw.start_sample)
        self.store.add(env.data, raw.start_sample)
        if self.detector is not None:
            found = self.detector.process(env)
            self.contractions += found
            out += found
        out += self._advance(raw.end_sample / self.fs_hz)
        return out

    def finish(self) -> list:
        """End of stream: close open contractions and score what is left."""
        out: list = []
        if self.detector is not None:
            found = self.detector.flush()
            self.contractions += found
            out += found
        self._finished = True
        out += self._advance(self._position / self.fs_hz)
        return out

    # --- clock -----------------------------------------------------------------------------
    @property
    def available_s(self) -> float:
        """Recording time up to which every channel's envelope is complete."""
        return self.store.size * self.k / self.fs_hz - max(self.delays)

    def trace(self, column: int | None = None) -> Trace:
        c = self.main if column is None else column
        return Trace(self.store.data[: self.store.size, c], self.fs_hz / self.k, -self.delays[c])

    def step_end(self, i: int) -> float | None:
        if i in self.ends:
            return self.ends[i]
        if i not in self.starts:
            return None
        ph = self.steps[i].phase
        if not ph.until_fail:
            return self.starts[i] + ph.duration_s
        end = self._fail_time(i)
        if end is not None:
            self.ends[i] = end
        return end

    def _fail_time(self, i: int) -> float | None:
        """An as-long-as-possible hold ends 1 s after the level drops below its band."""
        start = self.starts[i]
        ph = self.steps[i].phase
        limit = start + ph.duration_s
        if self.available_s >= limit:
            horizon = limit
        elif self._finished:
            return max(self.available_s, start)
        else:
            horizon = self.available_s
        lo, _ = self.band(ph)
        tr = self.trace()
        seg, t0 = tr.window(start, horizon)
        inside = seg >= lo
        reached = np.flatnonzero(inside)
        if reached.size == 0:
            give_up = start + ph.reach_s + 3.0
            return give_up if horizon >= give_up else (limit if horizon >= limit else None)
        need = int(round(FAIL_BELOW_S * tr.rate_hz))
        below = ~inside[reached[0]:]
        run = np.convolve(below.astype(int), np.ones(need, dtype=int), "valid")
        full = np.flatnonzero(run == need)
        if full.size:
            return t0 + (reached[0] + full[0] + need) / tr.rate_hz
        return limit if horizon >= limit else None

    def _advance(self, clock_s: float) -> list:
        out: list = []
        while True:
            if self._cue_step + 1 >= len(self.steps):
                break
            nxt = self._cue_step + 1
            if nxt not in self.starts:
                prev_end = self.step_end(nxt - 1)
                if prev_end is None:
                    break
                self.starts[nxt] = prev_end
            if self.starts[nxt] > clock_s and not self._finished:
                break
            self._cue_step = nxt
            out.append(self._cue(nxt))
        out += self._score_ready()
        return out

    def _cue(self, i: int) -> CueChange:
        s = self.steps[i]
        cue = CueChange(round(self.starts[i], 4), i, s.phase.kind, s.phase.cue, s.phase.cue_nl,
                        s.phase.cue_en, s.rep, s.phase.duration_s, s.section, s.posture,
                        s.scoring == "calibration")
        self.cues.append(cue)
        if not self.calibrated() and s.scoring != "calibration":
            self._calibrate_from_steps(i)
        return cue

    # --- calibration -----------------------------------------------------------------------
    def calibrated(self) -> bool:
        return all(c.name in self.calibrations for c in self.channels)

    def _calibrate_from_steps(self, first_protocol_step: int) -> None:
        """Baseline from the calibration rest, MVC from the best squeeze plateau."""
        rest = next(s.index for s in self.steps if s.section == "calibration-rest")
        squeezes = [s.index for s in self.steps if s.section == "calibration-mvc"]
        for c, ch in enumerate(self.channels):
            tr = self.trace(c)
            seg, _ = tr.window(self.starts[rest] + 2.0, self.step_end(rest))
            mean, sd = baseline_from_rest(seg if seg.size else np.zeros(1))
            sq, _ = tr.window(self.starts[squeezes[0]], self.starts[first_protocol_step])
            mvc = plateau_max(sq, tr.rate_hz) if sq.size else None
            self.calibrations[ch.name] = Calibration(mean, sd, mvc, ch.unit, "session")
        self._make_detector()

    def _make_detector(self) -> None:
        self.detector = ContractionDetector(
            self.pipeline, [self.calibrations[c.name] for c in self.channels],
            self.detector_config)

    # --- targets ---------------------------------------------------------------------------
    def band(self, phase: Phase) -> tuple[float, float]:
        """Target band of a work phase in the main channel's physical unit."""
        cal = self.calibrations.get(self.channels[self.main].name)
        if phase.band_abs is not None:
            return phase.band_abs
        if cal is None or cal.mvc is None or phase.band_pct_mvc is None:
            return (float("inf"), float("inf"))
        return cal.level(phase.band_pct_mvc[0]), cal.level(phase.band_pct_mvc[1])

    def target_level(self, phase: Phase) -> float | None:
        cal = self.calibrations.get(self.channels[self.main].name)
        if phase.target_abs is not None:
            return phase.target_abs
        if phase.target_pct_mvc is None or cal is None or cal.mvc is None:
            return None
        return cal.level(phase.target_pct_mvc)

    def template(self, a_s: float, b_s: float) -> list[dict]:
        """What the patient should follow between two times (drawn ahead of the trace)."""
        out, t = [], self.origin_s
        for i, s in enumerate(self.steps):
            start = self.starts.get(i, t)
            end = self.step_end(i) if i in self.starts else None
            end = start + s.phase.duration_s if end is None else end
            t = end
            if end < a_s:
                continue
            if start > b_s:
                break
            item = {"start_s": start, "end_s": end, "kind": s.phase.kind, "cue_nl":
                    s.phase.cue_nl, "cue_en": s.phase.cue_en, "rep": s.rep}
            if s.phase.kind == WORK:
                item["band"] = self.band(s.phase)
                item["target"] = self.target_level(s.phase)
            out.append(item)
        return out

    # --- scoring ---------------------------------------------------------------------------
    def _rep_groups(self) -> list[tuple[list[int], int | None]]:
        groups, cur = [], []
        for s in self.steps:
            if s.rep is not None:
                cur.append(s.index)
                continue
            if cur:
                groups.append((cur, s.index if s.phase.kind in (REST, BASELINE) else None))
                cur = []
        if cur:
            groups.append((cur, None))
        return groups

    def _score_ready(self) -> list:
        out = []
        groups = self._rep_groups()
        while self._next_rep < len(groups):
            works, rest = groups[self._next_rep]
            last = rest if rest is not None else works[-1]
            end = self.step_end(last) if last in self.starts else None
            if not self._finished and (end is None or end > self.available_s):
                break
            if works[0] not in self.starts:
                break
            rep = self._score(works, rest)
            self._next_rep += 1
            if rep is not None:
                self.reps.append(rep)
                out.append(RepScored(rep))
        return out

    def _score(self, works: list[int], rest: int | None) -> dict | None:
        cal = self.calibrations[self.channels[self.main].name]
        steps = []
        for i in works:
            ph = self.steps[i].phase
            end = self.step_end(i) or self._position / self.fs_hz
            steps.append(WorkStep(self.starts[i], end, self.band(ph), ph.hold_s, ph.reach_s))
        rest_span = None
        if rest is not None and rest in self.starts:
            rest_span = (self.starts[rest], self.step_end(rest))
        det = self.detector.channels[self.main]
        levels = scoring.Levels(det.on, det.off, cal.baseline_mean + det.config.off_sd
                                * cal.baseline_sd, det.window_n / 2 / self.fs_hz)
        first = self.steps[works[0]]
        extras = {"section": first.section, "posture": first.posture}
        if first.scoring == "lift":
            p = self.protocol
            extras.update(scoring.lift_extras(
                self.trace(), steps, rest_span, cal, p.param("min_floor_step_pct"),
                p.param("max_floor_cv_pct"), p.param("release_quick_s")))
        rep = scoring.score_rep(first.rep, steps, rest_span, self.trace(), cal, levels, extras)
        self._flag(rep, steps, rest_span, first)
        return rep

    def _flag(self, rep: dict, steps: list[WorkStep], rest_span, first: Step) -> None:
        a, b = steps[0].start_s, steps[-1].end_s
        until = rest_span[1] if rest_span else b
        if self.accessory is not None:
            acc_cal = self.calibrations[self.channels[self.accessory].name]
            if scoring.co_contracting(self.trace(self.accessory), acc_cal, a, b):
                rep["flags"].append("co_contraction")
        if any(a - 1.0 <= g.t_s <= until for g in self.gaps):
            rep["flags"].append("signal_gap")
        if any(a - 0.5 <= t <= until for t in self.clipped_s):
            rep["flags"].append("saturation")
        if first.scoring == "awareness" and (rep["peak_pct_mvc"] or 0) > \
                self.protocol.param("max_pct_mvc"):
            rep["flags"].append("too_strong")

    # --- recording ---------------------------------------------------------------------------
    def settings(self) -> dict:
        cfg = self.pipeline.config
        return {"protocol": self.protocol.id, "targets": targets(self.protocol),
                "notch_hz": cfg.notch_hz, "window_s": cfg.window_s,
                "main": self.channels[self.main].name,
                "accessory": None if self.accessory is None
                else self.channels[self.accessory].name}

    # --- results ---------------------------------------------------------------------------
    def result(self) -> dict:
        cal = self.calibrations[self.channels[self.main].name]
        reps = self.reps
        proto_steps = [s for s in self.steps if s.scoring != "calibration"]
        rests = [(self.starts[s.index], self.step_end(s.index)) for s in proto_steps
                 if s.phase.kind in (REST, BASELINE) and s.index in self.starts
                 and s.rep is None and self.step_end(s.index) is not None
                 and s.section != "lead-in"]
        out: dict = {
            "reps": len(reps),
            "reps_met": sum(r["met"] for r in reps),
            "fatigue_ratio": summary.fatigue_ratio(reps, cal),
            "resting_tone": summary.resting_tone(self.trace(), rests, cal),
        }
        scorings = {r["section"]: s.scoring for s in proto_steps for r in reps
                    if s.section == r["section"]}
        quick = [r for r in reps if scorings.get(r["section"]) == "quick"]
        if quick:
            out["quick_count"] = summary.quick_count(quick, cal,
                                                     self.protocol.param("fatigue_fraction"))
        until = {s.section for s in proto_steps if s.phase.until_fail}
        if until:
            out["endurance_hold_s"] = [r["hold_s"] for r in reps if r["section"] in until]
        if self.protocol.scoring == "glazer":
            out["glazer"] = self._glazer(proto_steps, reps, cal)
        if self.protocol.scoring == "perfect":
            holds = [r for r in reps if r["section"] == "endurance-repetitions"]
            fast = [r for r in reps if r["section"] == "fast"]
            out["perfect"] = summary.perfect(
                self.trace(), holds, fast, cal, self.protocol.param("repeat_peak_fraction"),
                self.protocol.param("fast_peak_pct_mvc"), cal.unit)
        if self.protocol.scoring == "lift":
            out["floors_distinct"] = sum(r.get("floors_distinct", False) for r in reps)
            out["release_quick"] = sum(r.get("release_quick", False) for r in reps)
        if self.protocol.sets_per_day:
            out["sets_per_day"] = list(self.protocol.sets_per_day)
        out["text_nl"], out["text_en"] = summary.texts(reps, out)
        return {
            "protocol": {"id": self.protocol.id, "name": self.protocol.name,
                         "source": self.protocol.path, "origin_s": round(self.origin_s, 4),
                         "main_channel": self.channels[self.main].name,
                         "accessory_channel": None if self.accessory is None
                         else self.channels[self.accessory].name},
            "calibration": {k: v.to_dict() for k, v in self.calibrations.items()},
            "reps": reps,
            "summary": out,
            "gaps": [{"t_s": round(g.t_s, 4), "lost_samples": g.lost_samples} for g in self.gaps],
        }

    def _glazer(self, steps: list[Step], reps: list[dict], cal: Calibration) -> dict:
        spans: dict[str, list] = {}
        for s in steps:
            if s.index in self.starts and s.phase.kind in (WORK, BASELINE):
                spans.setdefault(s.section, []).append((self.starts[s.index],
                                                        self.step_end(s.index)))
        by_section: dict[str, list] = {}
        for r in reps:
            by_section.setdefault(r["section"], []).append(r)
        return summary.glazer(self.trace(), spans, by_section, cal, self._mdf.epochs)


class _EpochMdf:
    """Median frequency of 1-s band-passed EMG epochs (Welch, 20-450 Hz), for fatigue and Glazer.

    Epochs are aligned to absolute sample indices; only at rates >= 500 Hz."""

    def __init__(self, fs_hz: float, enabled: bool = True):
        self.fs_hz = fs_hz
        self.n = int(round(fs_hz))
        self.enabled = enabled and fs_hz >= 500
        self.buf: list[np.ndarray] = []
        self.have = 0
        self.epoch_start = 0
        self.epochs: list[tuple[float, float]] = []

    def add(self, x: np.ndarray, start_sample: int) -> None:
        if not self.enabled:
            return
        if not self.buf:
            self.epoch_start = start_sample
        self.buf.append(x)
        self.have += x.size
        if self.have < self.n:
            return
        allx = np.concatenate(self.buf)
        k = allx.size // self.n
        mdf = median_frequency(allx[: k * self.n].reshape(k, self.n), self.fs_hz)
        for e in range(k):
            self.epochs.append(((self.epoch_start + (e + 0.5) * self.n) / self.fs_hz,
                                float(mdf[e])))
        rest = allx[k * self.n:]
        self.epoch_start += k * self.n
        self.buf = [rest] if rest.size else []
        self.have = rest.size


def median_frequency(epochs: np.ndarray, fs_hz: float) -> np.ndarray:
    """Median frequency (Hz) of each row: where the 20-450 Hz power reaches half."""
    x = np.atleast_2d(epochs)
    f, p = signal.welch(x, fs=fs_hz, nperseg=min(x.shape[1], int(fs_hz // 4)), axis=-1)
    band = (f >= 20) & (f <= min(450, 0.45 * fs_hz))
    cum = np.cumsum(p[:, band], axis=1)
    total = cum[:, -1:]
    idx = np.argmax(cum >= total / 2, axis=1)
    out = f[band][idx]
    return np.where(total[:, 0] > 0, out, np.nan)
