"""Streaming contraction detector: hysteresis, minimum duration, minimum gap, delay correction.

The detector reads envelope blocks. A contraction starts when the envelope rises above the
*on* threshold and ends when it falls below the lower *off* threshold; stretches shorter than
``min_contraction_s`` (a motion spike, an ECG beat) are dropped and pauses shorter than
``min_gap_s`` are bridged. Onsets and offsets are returned separately, on the sample clock,
and corrected for the known delays of the causal chain (see ``_corrected``). Given the
band-passed raw signal beside the envelope (EMG), each onset and offset is then refined to the
sample on it (``onset.refine_onset`` / ``refine_offset``: a change of variance and the ramp's
start around the envelope's crossing, issue 22; median onset error 12.5 ms against 60.5 ms,
``benchmarks/bench_onset.py``). The refinement reads at most ``onset.LOOKAHEAD_S`` past a
crossing, which an event always has by the time it is reported, so block sizes do not change it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bbfeedback.detect import onset as refine
from bbfeedback.detect.calibration import MIN_PRESSURE_STEP_CMH2O, Calibration
from bbfeedback.signal.blocks import EMG, PRESSURE, Channel

# the refinement moves the envelope's estimate by at most this (it is 60 ms late on the
# median, 95 ms at p90, up to ~150 ms on a slow ramp: benchmarks/bench_onset.py)
REFINE_MAX_S = 0.2


@dataclass
class DetectorConfig:
    """Thresholds in baseline SDs and in % of (MVC - baseline); durations in seconds."""

    on_sd: float = 3.0
    off_sd: float = 2.0
    on_pct_mvc: float = 10.0
    off_pct_mvc: float = 5.0
    on_rest_ratio: float = 1.5  # a contraction is at least this many times the resting level
    off_rest_ratio: float = 1.25
    min_contraction_s: float = 0.3
    min_gap_s: float = 0.2


@dataclass
class Contraction:
    """One detected contraction of one channel. Levels in the channel's unit."""

    channel: str
    onset_s: float
    offset_s: float
    peak: float
    mean: float
    unit: str
    rise_s: float
    release_s: float
    onset_sample: int
    offset_sample: int
    peak_pct_mvc: float | None = None
    mean_pct_mvc: float | None = None

    @property
    def duration_s(self) -> float:
        return self.offset_s - self.onset_s

    def to_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in vars(self).items()}


def thresholds(cal: Calibration, config: DetectorConfig, kind: str) -> tuple[float, float]:
    """(on, off) levels: baseline + the larger of k SD and a fraction of the MVC span."""
    floor = MIN_PRESSURE_STEP_CMH2O if kind == PRESSURE else 0.0
    span = cal.span or 0.0
    rest = abs(cal.baseline_mean) if kind != PRESSURE else 0.0  # pressure is zeroed
    on = max(config.on_sd * cal.baseline_sd, config.on_pct_mvc / 100 * span, floor,
             (config.on_rest_ratio - 1) * rest)
    off = max(config.off_sd * cal.baseline_sd, config.off_pct_mvc / 100 * span, floor / 2,
              (config.off_rest_ratio - 1) * rest)
    return cal.baseline_mean + on, cal.baseline_mean + min(off, on)


class ChannelDetector:
    """Detector state for one channel (an envelope column)."""

    def __init__(self, channel: Channel, fs_hz: float, cal: Calibration, window_n: int,
                 filter_delay_s: float, config: DetectorConfig | None = None,
                 settle_s: float = 0.0):
        self.channel = channel
        self.fs_hz = fs_hz
        self.cal = cal
        self.config = config or DetectorConfig()
        self.on, self.off = thresholds(cal, self.config, channel.kind)
        self.window_n = window_n
        self.filter_delay_n = filter_delay_s * fs_hz
        self.min_n = int(round(self.config.min_contraction_s * fs_hz))
        self.gap_n = int(round(self.config.min_gap_s * fs_hz))
        self.settle_n = int(round(settle_s * fs_hz))  # filters still ringing before this
        self.keep_n = max(2 * (window_n + int(np.ceil(self.filter_delay_n)) + self.gap_n) + 2,
                          int(np.ceil((refine.SEARCH_BEFORE_S + 0.05) * fs_hz)))
        self.look_n = int(round(refine.LOOKAHEAD_S * fs_hz))
        self.reset()

    def reset(self) -> None:
        self.active = False
        self._start = -1  # absolute sample where the envelope crossed *on*
        self._pending: tuple[int, int] | None = None  # closed stretch awaiting the gap
        self._tape = np.empty(0)  # envelope history
        self._raw = np.empty(0)  # band-passed raw beside it (EMG, once refining; else empty)
        self._refine = False  # a raw signal was given: onsets and offsets are refined on it
        self._last_offset = None  # the last reported event's offset sample (a search's floor)
        self._coarse_n = 0.0  # the last event's length as the envelope alone saw it
        self._tape_start = 0
        self._position = 0

    def process(self, env: np.ndarray, start_sample: int,
                raw: np.ndarray | None = None) -> list[Contraction]:
        """Feed one envelope column starting at ``start_sample``; return finished events.
        Lost samples before it (a jump of ``start_sample``) are held at the last level, so
        the history stays on the sample clock; repeated samples are skipped. ``raw``: the
        band-passed signal of the same samples (EMG), to refine onsets and offsets on."""
        env = np.asarray(env, dtype=float)
        if not self._refine and raw is not None and self.channel.kind == EMG \
                and np.any(raw):  # from now on: the raw tape, zeros where it was not given
            self._refine = True
            self._raw = np.zeros(self._tape.size)
        n_before = env.size
        env, start_sample = self._on_clock(env, start_sample)
        if self._refine:  # (kept only when refining: a pressure channel, or ``analyze``
            # without a protocol, never needs it on its long-file constant-memory path)
            raw = np.zeros(n_before) if raw is None else np.asarray(raw, dtype=float)
            self._raw = np.concatenate([self._raw, raw[n_before - env.size:]])
        self._tape = np.concatenate([self._tape, env])
        events: list[Contraction] = []
        above = np.flatnonzero(env > self.on)
        above = above[above >= self.settle_n - start_sample]
        below = np.flatnonzero(env < self.off)
        i = 0
        while i < env.size:
            marks = below if self.active else above
            k = np.searchsorted(marks, i)
            if k == marks.size:
                break
            j = int(marks[k])
            self._toggle(start_sample + j, events)
            i = j + 1
        self._position = start_sample + env.size
        self._expire(events)
        self._trim()
        return events

    def _on_clock(self, env: np.ndarray, start_sample: int) -> tuple[np.ndarray, int]:
        if self._tape.size == 0:
            self._tape_start = start_sample
            return env, start_sample
        end = self._tape_start + self._tape.size
        if start_sample < end:
            cut = min(end - start_sample, env.size)
            return env[cut:], start_sample + cut
        jump = start_sample - end
        if jump:  # beyond what any event can look back on, the history starts afresh
            hold = min(jump, self.keep_n)
            far = jump > self.keep_n
            self._tape = np.concatenate([self._tape[-self.keep_n:] if far else self._tape,
                                         np.full(hold, self._tape[-1])])
            if self._refine:  # nothing of the muscle in a gap
                self._raw = np.concatenate([self._raw[-self.keep_n:] if far else self._raw,
                                            np.zeros(hold)])
            self._tape_start = start_sample - self._tape.size
        return env, start_sample

    def flush(self) -> list[Contraction]:
        """End of stream: close what is open (offset at the last sample) and emit it."""
        events: list[Contraction] = []
        if self.active:
            self.active = False
            self._pending = (self._start, self._position)
        if self._pending is not None:
            self._finish(events, horizon=self._position)
        return events

    def _toggle(self, sample: int, events: list[Contraction]) -> None:
        if self.active:
            self.active = False
            self._pending = (self._start, sample)
            return
        self.active = True
        if self._pending is not None and sample - self._pending[1] < self.gap_n:
            self._start = self._pending[0]  # bridge a short pause
            self._pending = None
            return
        if self._pending is not None:
            self._finish(events, horizon=sample)
        self._start = sample

    def _expire(self, events: list[Contraction]) -> None:
        # wait until the offset look-ahead (one window + gap) is all here: block-size proof
        if self._pending is not None and not self.active:
            if self._position - self._pending[1] >= self.window_n + self.gap_n:
                self._finish(events)

    def _finish(self, events: list[Contraction], horizon: int | None = None) -> None:
        start, end = self._pending
        self._pending = None
        event = self._event(start, end, horizon)
        # judged on the envelope's corrected span (a 50 ms spike smeared over one RMS window
        # stays short), before refinement: a blip's refined edges may reach further than its
        # envelope did, and what counts as a contraction must not depend on refining
        if self._coarse_n >= self.min_n:
            events.append(event)
            self._last_offset = event.offset_sample + int(round(self.filter_delay_n))

    def _trim(self) -> None:
        """Keep only the history a future event can still need."""
        keep_from = self._position - self.keep_n
        if self.active:
            keep_from = min(keep_from, self._start - self.keep_n)
        if self._pending is not None:
            keep_from = min(keep_from, self._pending[0] - self.keep_n)
        cut = keep_from - self._tape_start
        if cut > 0:
            self._tape = self._tape[cut:]
            self._raw = self._raw[cut:] if self._refine else self._raw
            self._tape_start += cut

    def _slice(self, a: int, b: int) -> np.ndarray:
        lo = max(a - self._tape_start, 0)
        hi = max(b - self._tape_start, lo + 1)
        return self._tape[lo:hi]

    def _corrected(self, start: int, end: int, level: float,
                   horizon: int | None = None) -> tuple[float, float]:
        """Threshold crossings -> onset/offset of the muscle activity, in samples.

        A causal moving RMS starts rising the moment activity enters its window and is back
        at rest one window after activity stops. So the onset is where the envelope last left
        the rest band (baseline + ``off_sd`` SD) before the *on* crossing, and the offset is
        one window before it first returns to that band after the *off* crossing. When it
        never does (a ramp too slow, tension kept), the step-response fraction is used: the
        mean square of a step from ``b`` to ``L`` ramps linearly over one window, crossing
        ``h`` a fraction (h^2-b^2)/(L^2-b^2) into it. The band-pass delay comes on top.
        """
        rest = self.cal.baseline_mean + self.config.off_sd * self.cal.baseline_sd
        b2 = self.cal.baseline_mean ** 2
        span = max(level**2 - b2, 1e-12)
        look = self.window_n + self.gap_n
        # no further back than one window: noise near the band must not pull onsets early
        before = self._slice(start - (self.window_n or int(0.2 * self.fs_hz)), start)
        quiet = np.flatnonzero(before <= rest)
        if quiet.size:
            onset = start - (before.size - quiet[-1] - 1)
        else:
            onset = start - float(np.clip((self.on**2 - b2) / span, 0, 1)) * self.window_n
        after = self._slice(end, end + look if horizon is None else min(end + look, horizon))
        quiet = np.flatnonzero(after <= rest)
        if quiet.size:
            offset = end + quiet[0] - self.window_n
        else:
            offset = end - (1 - float(np.clip((self.off**2 - b2) / span, 0, 1))) * self.window_n
        self._coarse_n = offset - onset
        if self._refine:
            onset, offset = self._refined(start, end, horizon, onset, offset)
        onset -= self.filter_delay_n
        offset -= self.filter_delay_n
        return onset, max(offset, onset + 1)

    def _refined(self, start: int, end: int, horizon: int | None, onset: float,
                 offset: float) -> tuple[float, float]:
        """Onset and offset (before the filter delay) refined on the band-passed raw around
        the envelope's crossings: never further than ``onset.LOOKAHEAD_S`` past a crossing
        (nor past what was fed), never before the previous event's offset. A refinement more
        than ``REFINE_MAX_S`` from the envelope's own estimate (``onset``, ``offset``) is a
        change of something else (a blip, the rest's own wobble): the estimate is kept."""
        t0, fs = self._tape_start, self.fs_hz
        # what the detector has read: up to the crossing that closed it (``horizon``, inside
        # the block being read), or up to the end of the last block (never less than the
        # lookahead past the offset by then: ``_expire``); either way not the block sizes
        last = self._tape_start + self._tape.size if horizon is None else horizon
        floor = None if self._last_offset is None else max(self._last_offset - t0, 0)
        on = refine.refine_onset(self._raw, fs, start - t0, min_index=floor,
                                 max_index=min(start + self.look_n, last) - t0 - 1)
        off = refine.refine_offset(self._raw, fs, end - t0, min_index=on,
                                   max_index=min(end + self.look_n, last) - t0 - 1)
        limit = REFINE_MAX_S * fs
        on_s = float(t0 + on) if abs(t0 + on - onset) <= limit else onset
        off_s = float(t0 + off) if abs(t0 + off - offset) <= limit else offset
        return on_s, off_s

    def _event(self, start: int, end: int, horizon: int | None = None) -> Contraction:
        level = float(self._slice(start, end).mean())
        onset, offset = self._corrected(start, end, level, horizon)
        delay = self.window_n / 2 + self.filter_delay_n  # envelope lags the muscle this much
        seg_from = int(round(onset + delay))
        seg_to = int(round(offset + delay)) + 1
        seg = self._slice(seg_from, seg_to if horizon is None else min(seg_to, horizon))
        if seg.size == 0:  # an open contraction: its envelope is not all here yet
            seg_from = start
            seg = self._slice(start, end)
        peak = float(seg.max())
        mean = float(seg.mean())
        plateau = float(np.median(seg))
        high = np.flatnonzero(seg >= 0.9 * plateau)
        fs = self.fs_hz
        rise_s = max(0.0, (seg_from + high[0] - delay - onset) / fs) if high.size else 0.0
        release_s = max(0.0, (offset - (seg_from + high[-1] - delay)) / fs) if high.size else 0.0
        pct = self.cal.pct_mvc
        return Contraction(
            channel=self.channel.name,
            onset_s=onset / fs,
            offset_s=offset / fs,
            peak=peak,
            mean=mean,
            unit=self.channel.unit,
            rise_s=rise_s,
            release_s=release_s,
            onset_sample=int(round(onset)),
            offset_sample=int(round(offset)),
            peak_pct_mvc=None if self.cal.mvc is None else float(pct(peak)),
            mean_pct_mvc=None if self.cal.mvc is None else float(pct(mean)),
        )


class ContractionDetector:
    """Detectors for every column of a pipeline's envelope blocks."""

    def __init__(self, pipeline, calibrations: list[Calibration],
                 config: DetectorConfig | None = None):
        self.config = config
        self.channels = [
            ChannelDetector(
                ch, pipeline.fs_hz, cal, pipeline.chain_of(k).window_n,
                pipeline.chain_of(k).filter_delay_s, config, pipeline.chain_of(k).settle_s,
            )
            for k, (ch, cal) in enumerate(zip(pipeline.channels, calibrations, strict=True))
        ]

    def process(self, envelope_block, raw: np.ndarray | None = None) -> list[Contraction]:
        """``raw``: the band-passed signal of the same samples (``Pipeline.step(...).band``), to
        refine the EMG channels' onsets and offsets on."""
        events: list[Contraction] = []
        for k, det in enumerate(self.channels):
            events += det.process(envelope_block.data[:, k], envelope_block.start_sample,
                                  None if raw is None else raw[:, k])
        return events

    def flush(self) -> list[Contraction]:
        return [e for det in self.channels for e in det.flush()]
