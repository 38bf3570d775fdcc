"""The signal-quality stage: what in the raw signal is not the patient, marked as intervals.

Every score rests on the rest level, the MVC and the signal between them, so an artefact must
never become one of them (clinical-reference.md §9: SENIAM / ISEK practice, Merletti & Parker
2004). This stage looks at the raw blocks of every scored channel, before the filters, and
marks intervals of the recording clock:

- ``lead_off``: the electrode lost contact, the line is flat. A live sEMG input always shows
  its amplifier noise (about 0.5-1 µV RMS; a relaxed muscle 1-3 µV, clinical-reference §1):
  every 10 ms peak-to-peak below ``FLAT_PTP_UV`` for at least ``FLAT_MIN_S`` is no contact.
- ``spikes``: static discharge, a connector tick. A step of the raw EMG (its first
  difference: drift, offset and most of the mains hum gone, and a spike stays as short as
  it was, where a band-pass would smear it over tens of ms) more than ``SPIKE_K`` times
  the local scale (the median over the surrounding ``SPIKE_CONTEXT_S`` of each 10 ms's mean
  absolute step, as an SD; a Hampel identifier), and at least ``SPIKE_MIN_UV``, that stands
  alone: within ``SPIKE_ISOLATION_S`` either side at most ``SPIKE_MAX_S`` of samples above half
  that limit. A contraction raises many samples at once, at its onset and up to
  its end, and is never a spike.
- ``saturation``: the raw value at the converter's limit (the device's range from its driver
  or the file header: ``ranges``). Without a known range, EMG only: three identical samples
  in a row at 98 % of the largest so far (EMG noise never repeats; pressure sits still).
- ``burst``: a cable movement far above any voluntary level. Known only against the
  patient's MVC, so it is marked when a repetition is scored (``mark_bursts``): the envelope
  above ``BURST_PCT_MVC`` % MVC for less than ``BURST_MAX_S`` (a squeeze at twice the
  patient's own maximum, let go within a second, is not a squeeze).
- ``mains`` and ``motion``: hum or movement swamping the EMG band, judged on the raw signal's
  power spectrum over ``BAND_WINDOW_S`` windows every ``BAND_HOP_S``, on the sample clock
  (``BandCheck``). The raw signal is high-passed at ``DRIFT_HZ`` first (a 2nd-order
  Butterworth from its steady state: the offset and slow drift of a DC-coupled input, and a
  breath's wander, are no movement), each window has its mean taken out and a Hann taper;
  0.5 s gives 2 Hz bins, enough to keep 50 and 60 Hz apart and to see a 2 Hz swing. The EMG
  band is the pipeline's 20-450 Hz (within SENIAM's 10-20 Hz high-pass and ~500 Hz low-pass,
  Hermens et al. 2000) without its mains bins (within ``MAINS_HALF_WIDTH_HZ``, a Hann main
  lobe, of 50 or 60 Hz or a harmonic), filled in at the band's mean density: the muscle's own
  power.

  ``mains``: the power of the 50 Hz lines (50, 100, ... Hz) or of the 60 Hz lines, whichever
  is larger, more than ``MAINS_RATIO`` times that band power. The pipeline notches the lines
  (Q 30), but a notch passes what is off its centre: a line 0.05 Hz off (the grid's standard
  frequency range, ENTSO-E) keeps 1/280 of its power, more off more (Mewett et al. 2004: a
  notch's fit to clean EMG fell from r² 0.98 to 0.65 with the hum 0.5 Hz off), and it rings
  when the hum changes (time constant Q / (pi f): 0.19 s at 50 Hz). Beyond 250 times the band,
  what the notch leaves is as large as the muscle: the band, hence rest, MVC and peaks, is no
  longer the patient's. Below it the notch does its work (20 µV of 50 Hz over a 3 µV rest is
  20-45 times the band: scored, not marked). The ISEK standards (Merletti 1999) have the noise
  and every filter of a recording reported and SENIAM a set-up (skin preparation, reference
  electrode) that keeps hum small: hum this far above the muscle is a loose reference or a
  floating input, not a signal to filter.

  ``motion``: the power from ``MOTION_LOW_HZ`` to ``MOTION_HIGH_HZ`` (2-20 Hz; below it is
  drift) more than ``MOTION_RATIO`` times the band power: a swing whose RMS is ten times the
  EMG's. Movement artefact (cable, electrode-skin interface, a probe that shifts) lies below
  20 Hz, most of it below 10 Hz: the reason for the 20 Hz corner (De Luca et al. 2010,
  "Filtering the surface EMG signal"). The band-pass removes the swing itself, but a probe
  that moved has moved its contacts, and the muscle's signal with them. A contraction raises
  the band's own power (a ratio near 0); a rest has no such swing (the simulated 50 ms, 80 µV
  motion blips of ``exercise/simulate`` over a 3 µV rest reach about 15, a 1 s, 2 Hz swing of
  300 µV over it thousands).

  A window over a ratio is marked whole (a ``mains`` mark 5 time constants longer, while the
  notch rings: 0.95 s at 50 Hz), so a mark is final one window (0.5 s) after its samples; the
  stream's last part is judged by a window ending at its end (a stretch shorter than a window
  is not judged). A window flat for ``FLAT_MIN_S`` (lead-off's rule: the steps into and out of
  a flat line are no movement) or with less band power than ``BAND_MIN_UV2`` (not even
  amplifier noise) is left to ``lead_off``. Pressure is not judged this way.

A mark covers its samples plus the time the envelope needs to forget them (``smear_s``: the
RMS window and the filters' settling). Marked intervals feed no rest level, MVC or peak, and a
repetition that overlaps one is not judged (``rep_scorer``). Lost samples (gaps) are facts of
the sample clock; they are kept here too (``signal_gap``), and a repetition across one is
still judged: the trace holds the last level across it.

The detectors look ``SPIKE_CONTEXT_S`` ahead (``mains`` and ``motion`` a band window,
``SignalQuality.lag_s``), so a mark is final that much after its samples arrived; a
repetition is scored the detector's report lag plus the trace's lag after the end of its
rest (0.59 s with the default 0.15 s RMS window), calibration seconds later.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.lib.stride_tricks import as_strided
from scipy.ndimage import median_filter
from scipy.signal import butter, get_window, lfilter, lfilter_zi

from bbfeedback.exercise.scores import Flag
from bbfeedback.signal.blocks import EMG, Block

FLAT_RUN = 3  # identical raw samples in a row at (98 % of) the extreme = clipping
GAP_BEFORE_S = 1.0  # a gap this long before the cue still spoils the repetition
CHUNK_S = 0.01  # the detectors' unit of time
MIN_CHUNK = 4  # samples: a peak-to-peak of fewer says nothing
GAP_NOT_JUDGED_S = 1.0  # lost this long in a repetition: its trace is a held level, no data
FLAT_PTP_UV = 0.5  # EMG: peak-to-peak under this in every 10 ms = no electrode contact
FLAT_MIN_S = 0.2
SPIKE_K = 10.0  # a spike is this many times the local noise scale (Gaussian: never by chance)
SPIKE_CONTEXT_S = 0.25  # the local scale from this long either side
SPIKE_ISOLATION_S = 0.03
SPIKE_MAX_S = 0.005  # longer than this above half the limit: muscle, not a spike
SPIKE_MIN_UV = 20.0  # smaller steps move a 0.15 s RMS envelope by under 2.5 µV
SATURATION_EDGE = 0.005  # within 0.5 % of the range's end = at the limit
BURST_PCT_MVC = 200.0
BURST_MAX_S = 1.0
MARK_BEFORE_S = 0.05
# mains and motion (``BandCheck``): the raw power spectrum over 1 s windows
BAND_WINDOW_S = 0.5  # 2 Hz bins: 50 and 60 Hz apart, a 2 Hz swing seen; marked whole
BAND_HOP_S = 0.05
BAND_LOW_HZ, BAND_HIGH_HZ = 20.0, 450.0  # the EMG band: the pipeline's band-pass
MAINS_HZ = (50.0, 60.0)
MAINS_HALF_WIDTH_HZ = 4.0  # a line's bins: the Hann window's main lobe (2 bins)
MAINS_RATIO = 250.0  # line power / band power: a Q-30 notch passes 1/280 of a line 0.05 Hz off
MOTION_LOW_HZ, MOTION_HIGH_HZ = 2.0, 20.0  # movement artefact: below 20 Hz (De Luca 2010)
DRIFT_HZ = 1.0  # high-pass before the spectrum: offset and drift (2 Hz passes at 94 %)
MOTION_RATIO = 100.0  # low-frequency power / band power: a swing 10 x the EMG's RMS
BAND_MIN_UV2 = 0.1  # below (0.3 µV)² in the band: not even amplifier noise, a flat line


class MarkKind(StrEnum):
    LEAD_OFF = "lead_off"
    SPIKES = "spikes"
    SATURATION = "saturation"
    BURST = "burst"
    MAINS = "mains"
    MOTION = "motion"

    @property
    def flag(self) -> Flag:
        return Flag(self.value)


@dataclass(frozen=True)
class Mark:
    """An interval of the recording clock where a channel's signal is not the patient."""

    kind: MarkKind
    channel: int  # the column
    start_s: float
    end_s: float

    def to_dict(self, names: list[str]) -> dict:
        return {"kind": self.kind.value, "channel": names[self.channel],
                "start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3)}


@dataclass(frozen=True)
class Gap:
    """Samples the device lost, filled from ``t_s`` on (recording clock)."""

    t_s: float
    lost_samples: int


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) index pairs of the True runs of a boolean array (end exclusive)."""
    if not mask.size or not mask.any():
        return []
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(),
                    strict=True))


class BandCheck:
    """``mains`` and ``motion`` of one EMG column (see the module): the raw samples' power
    spectrum over ``BAND_WINDOW_S`` windows every ``BAND_HOP_S``, counted from the start of
    the stretch (after a gap: from its first sample), whatever the blocks."""

    def __init__(self, fs_hz: float, chunk: int):
        self.n = max(8, int(round(BAND_WINDOW_S * fs_hz)))
        self.hop = max(1, int(round(BAND_HOP_S * fs_hz)))
        self.chunk = chunk  # lead-off's 10 ms: a window flat in FLAT_MIN_S of them is its
        self.flat_chunks = int(np.ceil(FLAT_MIN_S * fs_hz / chunk))
        f = np.fft.rfftfreq(self.n, 1 / fs_hz)
        top = min(BAND_HIGH_HZ, 0.45 * fs_hz)  # as the band-pass (below Nyquist)
        band = (f >= BAND_LOW_HZ) & (f <= top)
        lines = []
        for mains in MAINS_HZ:
            near = np.zeros(f.size, dtype=bool)
            for k in range(1, int(top // mains) + 1):
                near |= np.abs(f - k * mains) <= MAINS_HALF_WIDTH_HZ
            lines.append(near)
        own = band & ~np.logical_or.reduce(lines)
        low = (f >= MOTION_LOW_HZ) & (f < MOTION_HIGH_HZ)
        # band (its mains bins filled in at its mean density), each family's lines, low
        self.masks = np.column_stack([own * (band.sum() / max(own.sum(), 1)), *lines, low]
                                     ).astype(float)
        self.taper = get_window("hann", self.n)
        self.scale = 2.0 / (self.n * float(self.taper @ self.taper))  # µV² per bin
        self.ba = butter(2, min(DRIFT_HZ, 0.1 * fs_hz), "highpass", fs=fs_hz)
        self.restart(0)

    def restart(self, start_sample: int) -> None:
        self.buf = np.zeros((0, 2))  # raw and high-passed samples
        self.buf_start = self.seg_start = self.next = self.decided = start_sample
        self.zi: np.ndarray | None = None  # the high-pass's state (from the first sample)

    @property
    def end(self) -> int:
        return self.buf_start + self.buf.shape[0]

    def add(self, x: np.ndarray) -> list[tuple[MarkKind, int, int]]:
        """Raw samples that continue the stretch; the marks (kind, first sample, end) of the
        windows they complete."""
        if not x.size:
            return []
        if self.zi is None:  # steady state on the first sample: an offset is no step
            self.zi = lfilter_zi(*self.ba) * x[0]
        y, self.zi = lfilter(*self.ba, x, zi=self.zi)
        self.buf = np.concatenate([self.buf, np.column_stack([x, y])])
        k = (self.end - self.next - self.n) // self.hop + 1  # windows now complete
        if k <= 0:
            return []
        at = self.buf[self.next - self.buf_start:]  # (windows, 2, n) views of it
        rows, cols = at.strides
        frames = as_strided(at, (k, 2, self.n), (self.hop * rows, cols, rows), writeable=False)
        out = [(kind, s, s + self.n)
               for j, kinds in enumerate(self._judge(frames))
               for s in (self.next + j * self.hop,) for kind in kinds]
        self.decided = self.next + (k - 1) * self.hop + self.n
        self.next += k * self.hop
        keep = max(self.buf_start, min(self.next, self.end - self.n))  # for the last window
        self.buf = self.buf[keep - self.buf_start:]
        self.buf_start = keep
        return out

    def finish(self) -> list[tuple[MarkKind, int, int]]:
        """The end of the stretch: a window ending there judges what no window covered."""
        if self.end - self.seg_start < self.n or self.decided >= self.end:
            return []
        (kinds,) = self._judge(self.buf[-self.n:].T[None])
        self.decided = self.end
        return [(kind, self.end - self.n, self.end) for kind in kinds]

    def _judge(self, frames: np.ndarray) -> list[list[MarkKind]]:
        """Per window (raw and high-passed samples: windows x 2 x n), the kinds it shows."""
        raw, x = frames[:, 0], frames[:, 1]
        spec = np.fft.rfft((x - x.mean(axis=1, keepdims=True)) * self.taper, axis=1)
        power = spec.real ** 2 + spec.imag ** 2
        band, line50, line60, low = (power @ self.masks).T * self.scale
        # a flat line is lead-off's (the steps into and out of it are no movement), and a
        # band without even amplifier noise is flat
        pieces = raw[:, : self.n // self.chunk * self.chunk].reshape(raw.shape[0], -1, self.chunk)
        flat = ((pieces.max(axis=2) - pieces.min(axis=2)) < FLAT_PTP_UV).sum(axis=1)
        live = (band >= BAND_MIN_UV2) & (flat < self.flat_chunks)
        mains = live & (np.maximum(line50, line60) > MAINS_RATIO * band)
        motion = live & (low > MOTION_RATIO * band)
        return [[kind for kind, hit in ((MarkKind.MAINS, m), (MarkKind.MOTION, v)) if hit]
                for m, v in zip(mains.tolist(), motion.tolist(), strict=True)]


class ChannelQuality:
    """The raw-signal checks of one column, streamed: samples are decided once
    ``SPIKE_CONTEXT_S`` of signal after them has arrived (or at the end)."""

    def __init__(self, column: int, kind: str, fs_hz: float,
                 limits: tuple[float, float] | None, smear_s: float, ring_s: float = 0.0):
        self.column, self.kind, self.fs_hz = column, kind, fs_hz
        self.limits, self.smear_s, self.ring_s = limits, smear_s, ring_s
        # at least 4 samples: at 100 Hz a 10 ms chunk of one sample is always "flat"
        self.chunk = max(MIN_CHUNK, int(round(CHUNK_S * fs_hz)))
        self.context = max(1, int(np.ceil(SPIKE_CONTEXT_S / CHUNK_S)))  # chunks either side
        self.buf = np.zeros(0)
        self.buf_start = 0  # sample index of buf[0] (chunk-aligned)
        self.decided = 0  # samples before this index are decided
        self.flat_from: int | None = None  # start of a flat run still going on
        self.run, self.last, self.max_abs = 0, np.nan, 0.0  # the clipping fallback
        self.band = BandCheck(fs_hz, self.chunk) if kind == EMG else None  # mains, motion
        self.marks: list[Mark] = []

    def add(self, x: np.ndarray, start_sample: int) -> None:
        """Raw samples ``x`` from ``start_sample``."""
        if start_sample != self.buf_start + self.buf.size:  # after a gap: start afresh
            self._decide(final=True)
            self.flat_from = None
            self.buf, self.buf_start = np.zeros(0), start_sample
            self.decided = start_sample
        self.buf = np.concatenate([self.buf, x])
        if self.limits is None and self.kind == EMG:
            self._flat_tops(x, start_sample)
        self._decide(final=False)
        if self.band is not None:
            if start_sample != self.band.end:  # the first block, or after a gap
                self._band_marks(self.band.finish())
                self.band.restart(start_sample)
            self._band_marks(self.band.add(x))

    def finish(self) -> None:
        self._decide(final=True)
        if self.band is not None:
            self._band_marks(self.band.finish())

    def _band_marks(self, found: list[tuple[MarkKind, int, int]]) -> None:
        for kind, a, b in found:  # the notch rings on after the hum stops
            self._mark(kind, a, b, self.ring_s if kind == MarkKind.MAINS else 0.0)

    def open_mark(self) -> Mark | None:
        """The flat run still going on (an electrode off to the end of the recording must
        count before the recording ends: repetitions are scored as they end)."""
        if self.flat_from is None or (self.decided - self.flat_from) / self.fs_hz < FLAT_MIN_S:
            return None
        return Mark(MarkKind.LEAD_OFF, self.column, self.flat_from / self.fs_hz - MARK_BEFORE_S,
                    self.decided / self.fs_hz + self.smear_s)

    def _decide(self, final: bool) -> None:
        """Decide every whole chunk whose context has arrived; keep the context behind."""
        n_chunks = self.buf.size // self.chunk
        if final and self.buf.size % self.chunk:
            n_chunks += 1
        if n_chunks == 0:
            return
        first = (self.decided - self.buf_start) // self.chunk  # first undecided chunk
        last = n_chunks if final else n_chunks - self.context
        if last <= first:
            return
        self._lead_off(self._chunks(self.buf, n_chunks), first, last, final)
        if self.kind == EMG:
            steps = np.diff(self.buf, prepend=self.buf[0])
            self._spikes(self._chunks(steps, n_chunks), first, last)
        self._saturation(first, last)
        self.decided = self.buf_start + last * self.chunk
        keep_from = max(0, last - 2 * self.context) * self.chunk  # context for the next ones
        self.buf = self.buf[keep_from:]
        self.buf_start += keep_from

    def _chunks(self, x: np.ndarray, n_chunks: int) -> np.ndarray:
        """``x`` as ``n_chunks`` rows of a chunk each (the last one padded with its end)."""
        n = n_chunks * self.chunk
        whole = x[:n] if x.size >= n else np.concatenate([x, np.full(n - x.size, x[-1])])
        return whole.reshape(n_chunks, self.chunk)

    def _mark(self, kind: MarkKind, a: int, b: int, ring_s: float = 0.0) -> None:
        """Samples a..b (absolute, b exclusive) and the envelope's memory of them (and
        ``ring_s`` more: a notch's ringing)."""
        start = a / self.fs_hz - MARK_BEFORE_S
        end = b / self.fs_hz + self.smear_s + ring_s
        # the latest mark of this kind (each kind's marks come in time order; another kind's
        # may come between them, later or earlier, as the detectors decide)
        k = next((i for i in range(len(self.marks) - 1, -1, -1)
                  if self.marks[i].kind == kind), None)
        last = None if k is None else self.marks[k]
        if last is not None and start <= last.end_s:
            self.marks[k] = Mark(kind, self.column, last.start_s, max(end, last.end_s))
        else:
            self.marks.append(Mark(kind, self.column, start, end))

    def _lead_off(self, chunks: np.ndarray, first: int, last: int, final: bool) -> None:
        if self.kind != EMG:
            return
        part = chunks[first:last]
        flat = (part.max(axis=1) - part.min(axis=1)) < FLAT_PTP_UV
        base = self.buf_start + first * self.chunk
        runs = _runs(flat)
        if self.flat_from is not None and not (runs and runs[0][0] == 0):
            self._end_flat(base)  # the run of an earlier call ended just before this one
        for a, b in runs:
            if not (a == 0 and self.flat_from is not None):  # else it goes on from before
                self.flat_from = base + a * self.chunk
            if b < flat.size:
                self._end_flat(base + b * self.chunk)
        if final and self.flat_from is not None:
            self._end_flat(base + flat.size * self.chunk)

    def _end_flat(self, end: int) -> None:
        if (end - self.flat_from) / self.fs_hz >= FLAT_MIN_S:
            self._mark(MarkKind.LEAD_OFF, self.flat_from, end)
        self.flat_from = None

    def _spikes(self, chunks: np.ndarray, first: int, last: int) -> None:
        """Hampel identifier on the raw samples, with the isolation test (see the module)."""
        y = chunks
        # each 10 ms's mean absolute value (a Gaussian's is 0.798 SD), and of those the median
        # over the context: a spike lifts its own 10 ms, not the median of 51 of them
        scale = np.abs(y).mean(axis=1)
        local = median_filter(scale, size=2 * self.context + 1, mode="nearest") / 0.798
        limit = np.maximum(SPIKE_K * local, SPIKE_MIN_UV)[:, None]
        a = first * self.chunk
        b = last * self.chunk
        if not (np.abs(y[first:last]) > limit[first:last]).any():
            return
        size = np.abs(y).ravel()
        lim = np.repeat(limit[:, 0], self.chunk)
        iso = max(1, int(round(SPIKE_ISOLATION_S * self.fs_hz)))
        for i in np.flatnonzero(size[a:b] > lim[a:b]) + a:  # few: never by chance
            near = size[max(0, i - iso): i + iso + 1]  # against this sample's own limit
            if np.count_nonzero(near > lim[i] / 2) <= max(3, SPIKE_MAX_S * self.fs_hz):
                at = self.buf_start + int(i)
                if not self._in_lead_off(at):  # the step back from a flat line is none
                    self._mark(MarkKind.SPIKES, at, at + 1)

    def _in_lead_off(self, sample: int) -> bool:
        t = sample / self.fs_hz
        return self.flat_from is not None and sample >= self.flat_from - self.chunk or any(
            m.kind == MarkKind.LEAD_OFF and m.start_s <= t <= m.end_s for m in self.marks)

    def _saturation(self, first: int, last: int) -> None:
        if self.limits is None:
            return
        lo, hi = self.limits
        edge = SATURATION_EDGE * (hi - lo)
        x = self.buf[first * self.chunk: min(last * self.chunk, self.buf.size)]
        at = (x >= hi - edge) | (x <= lo + edge)
        base = self.buf_start + first * self.chunk
        for a, b in _runs(at):
            self._mark(MarkKind.SATURATION, base + a, base + b)

    def _flat_tops(self, col: np.ndarray, start_sample: int) -> None:
        """Clipping without a known range: identical raw samples at the extreme so far."""
        if not col.size:
            return
        self.max_abs = max(self.max_abs, float(np.abs(col).max()))
        same = np.concatenate([[col[0] == self.last], col[1:] == col[:-1]])
        run = self.run
        for i in np.flatnonzero(same):  # few: EMG noise almost never repeats
            run = run + 1 if i == 0 or same[i - 1] else 1
            if run + 1 == FLAT_RUN and col[i] != 0 and abs(col[i]) >= 0.98 * self.max_abs:
                at = start_sample + int(i)
                self._mark(MarkKind.SATURATION, at - FLAT_RUN + 1, at + 1)
        self.run = run if same[-1] else 0
        self.last = col[-1]


class SignalQuality:
    """Gaps and the artefact marks of the scored columns of the raw blocks, with their
    times. ``kinds``: each column's kind; ``ranges``: each column's (low, high) physical
    range where the device or file says it; ``smear_s``: how long the envelope remembers a
    sample (the RMS window and the filters' settling); ``ring_s``: how long the mains notch
    rings after hum stops (a ``mains`` mark lasts that much longer)."""

    def __init__(self, columns: list[int], fs_hz: float, kinds: list[str] | None = None,
                 ranges: list[tuple[float, float] | None] | None = None,
                 smear_s: float = 0.2, ring_s: float = 0.0):
        self.columns = columns
        self.fs_hz = fs_hz
        kinds = kinds or [EMG] * len(columns)
        ranges = ranges or [None] * len(columns)
        self.channels = [ChannelQuality(k, kinds[k], fs_hz, ranges[k], smear_s, ring_s)
                         for k in range(len(columns))]
        self.gaps: list[Gap] = []
        self.bursts: list[Mark] = []

    @classmethod
    def for_pipeline(cls, pipeline, ranges: dict[str, tuple[float, float]] | None = None
                     ) -> SignalQuality:
        """The checks of a pipeline's channels; a mark lasts as long as the slowest
        channel's envelope remembers a sample (its RMS window and filter delay), a ``mains``
        mark as long as its notch rings too (5 time constants Q / (pi f), Q 30: as
        ``EmgChain.settle_s``; 0.95 s at 50 Hz)."""
        chains = [pipeline.chain_of(c) for c in range(len(pipeline.channels))]
        smear = max(ch.window_n / pipeline.fs_hz + ch.filter_delay_s for ch in chains)
        ring = max((5 * 30.0 / (np.pi * f) for f in pipeline.config.notch_hz), default=0.0)
        ranges = ranges or {}
        return cls(pipeline.columns, pipeline.fs_hz, [c.kind for c in pipeline.channels],
                   [ranges.get(c.name) for c in pipeline.channels], smear + 0.05, ring)

    def process(self, raw: Block) -> list[Gap]:
        """Note the gap before a raw block, if samples were lost (returned)."""
        if not raw.lost_before:
            return []
        gap = Gap((raw.start_sample - raw.lost_before) / self.fs_hz, int(raw.lost_before))
        self.gaps.append(gap)
        return [gap]

    def check(self, raw: Block) -> None:
        """Check a raw block (its scored columns)."""
        data = raw.data[:, self.columns]
        for k, ch in enumerate(self.channels):
            ch.add(data[:, k], raw.start_sample)

    def finish(self) -> None:
        for ch in self.channels:
            ch.finish()

    @property
    def lag_s(self) -> float:
        """How long after its samples a mark may still come (scoring must wait this long
        past a repetition's end for live and offline to agree)."""
        band = BAND_WINDOW_S if any(ch.band is not None for ch in self.channels) else 0.0
        return max(SPIKE_CONTEXT_S, band) + MARK_BEFORE_S

    @property
    def marks(self) -> list[Mark]:
        """Every mark so far, in time order."""
        out = [m for ch in self.channels for m in ch.marks] + self.bursts
        out += [m for ch in self.channels if (m := ch.open_mark()) is not None]
        return sorted(out, key=lambda m: (m.start_s, m.channel, m.kind.value))

    def marks_of(self, column: int) -> list[Mark]:
        return [m for m in self.marks if m.channel == column]

    def overlapping(self, column: int, a_s: float, b_s: float) -> list[MarkKind]:
        """The kinds of mark of a column that overlap a..b, in order of first appearance."""
        kinds: list[MarkKind] = []
        for m in self.marks_of(column):
            if m.start_s < b_s and m.end_s > a_s and m.kind not in kinds:
                kinds.append(m.kind)
        return kinds

    def clean(self, column: int, t0_s: float, rate_hz: float, n: int) -> np.ndarray:
        """Which of ``n`` samples from ``t0_s`` at ``rate_hz`` lie outside every mark of
        the column (a trace window's mask: what may feed a rest, an MVC or a peak)."""
        ok = np.ones(n, dtype=bool)
        for m in self.marks_of(column):
            i = max(0, int(np.floor((m.start_s - t0_s) * rate_hz)))
            j = min(n, int(np.ceil((m.end_s - t0_s) * rate_hz)))
            if j > i:
                ok[i:j] = False
        return ok

    def mark_bursts(self, column: int, values: np.ndarray, t0_s: float, rate_hz: float,
                    level: float) -> None:
        """Mark where an envelope stretch is above ``level`` (``BURST_PCT_MVC`` % MVC) for
        less than ``BURST_MAX_S``: no voluntary squeeze (see the module)."""
        for a, b in _runs(values >= level):
            if (b - a) / rate_hz < BURST_MAX_S and 0 < a and b < values.size:
                start, end = t0_s + a / rate_hz - MARK_BEFORE_S, t0_s + b / rate_hz
                if not any(m.channel == column and m.start_s <= end and m.end_s >= start
                           for m in self.bursts):
                    self.bursts.append(Mark(MarkKind.BURST, column, start, end + 0.1))

    def long_gap(self, a_s: float, b_s: float) -> bool:
        """Were ``GAP_NOT_JUDGED_S`` or more lost at once between two times (the trace holds
        the last level across a gap: a repetition inside one would be scored from no data)?"""
        return any(g.lost_samples / self.fs_hz >= GAP_NOT_JUDGED_S and g.t_s < b_s
                   and g.t_s + g.lost_samples / self.fs_hz > a_s for g in self.gaps)

    def flags(self, cue_s: float, until_s: float) -> list[Flag]:
        """``signal_gap`` for a repetition from its cue to the end of its rest."""
        if any(cue_s - GAP_BEFORE_S <= g.t_s <= until_s for g in self.gaps):
            return [Flag.SIGNAL_GAP]
        return []
