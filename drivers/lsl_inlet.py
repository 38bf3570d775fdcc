"""A Lab Streaming Layer stream as a live source: any LSL EMG or pressure stream into the run loop.

The stream is found by name, its channels, units and kinds come from its description (XDF
conventions: ``desc/channels/channel`` with ``label``, ``unit``, ``type``), its nominal rate
is the sample rate. LSL stamps samples on its own clock; the run loop counts samples. The
first sample received is sample 0; a sample whose timestamp comes more than ~1.5 sample
periods after the one before (half a period later than predicted) starts a new block past the
gap (``start_sample`` jumps, ``lost_before`` says by how much). The prediction follows the
stream's own timestamps, never a fixed grid from the start, so a device whose true rate is a
little off its nominal rate does not drift into false gaps; timestamps must be regular to a
fraction of a period (a stream stamped per chunk by the wall clock, with ms jitter at kHz
rates, would show false gaps). Silence is the run loop's ``Watchdog``'s to name, as for every
live source; after one, liblsl reconnects by itself (``recover``) and the data that comes
again carries a ``reconnected`` status and the gap its timestamps show.
"""

from __future__ import annotations

import inspect
import os
import time
from dataclasses import dataclass

import numpy as np
from bbfeedback.drivers.source import ThreadedSource
from bbfeedback.drivers.status import Status, StatusKind

from bbfeedback.errors import InputError
from bbfeedback.signal.blocks import EMG, OTHER, PRESSURE, Block, Channel, guess_kind, unit_kind

DUPLICATE_S = 0.5  # after the first stream of a name answers: time for others to answer
RESOLVE_S = 3.0  # how long to look for the named stream before saying there is none
GAP_PERIODS = 1.5  # a timestamp step above this many sample periods is a gap
RESET_S = 10.0  # ... but one of more seconds than this is a reset clock, nothing lost (as
# the serial parsers take a counter jump of more than 10 s of signal)
MIN_RATE_HZ, MAX_RATE_HZ = 10.0, 20000.0  # record --rate's range, pressure sensors included
FOLLOW = 0.02  # how fast the predicted timestamps follow the stream's (per sample)
RESET_PERIODS = 50  # a step back by more than this many periods: the clock was reset
PULL_S = 0.05  # the longest the reader waits for a chunk (also how soon it sees stop())
QUIET_S = 2.0  # data again after this long without any: "reconnected"
DEFAULT_FULL_SCALE = {EMG: (-5000.0, 5000.0), PRESSURE: (-100.0, 400.0)}  # µV, cmH2O

# unit spellings of the XDF meta-data conventions ("microvolts") that unit_kind does not know
_UNIT_WORDS = {"microvolts": "uV", "microvolt": "uV", "millivolts": "mV", "millivolt": "mV",
               "volts": "V", "volt": "V", "nanovolts": "nV"}
_TYPE_KIND = {"emg": EMG, "pressure": PRESSURE}


@dataclass(frozen=True)
class LslChannel:
    """One channel of the stream as described, and what it becomes here."""

    index: int  # column in the stream
    channel: Channel  # name, kind, canonical unit (µV or cmH2O)
    factor: float  # stream value * factor = value in the canonical unit


def channel_kind(label: str, unit: str, channel_type: str, stream_type: str) -> tuple[str, float]:
    """(kind, factor to µV/cmH2O) of a described channel: its unit when it names a voltage or
    a pressure (a voltage on a channel labelled ECG/EEG/... is not EMG, as in the file readers),
    else its type or the stream's ("EMG": µV, "Pressure": cmH2O), else OTHER."""
    unit = _UNIT_WORDS.get(unit.strip().lower(), unit)
    known = unit_kind(unit)
    declared = _TYPE_KIND.get(channel_type.strip().lower())
    if known is not None:
        if declared is not None and declared == known[0]:
            return known
        kind = guess_kind(label, unit)
        return (kind, known[1]) if kind != OTHER else (OTHER, 1.0)
    kind = declared or _TYPE_KIND.get(stream_type.strip().lower())
    if kind is None or unit.strip():  # a unit we cannot convert: not ours to scale
        return OTHER, 1.0
    return kind, 1.0


def describe_channels(info) -> list[LslChannel]:
    """The EMG and pressure channels of a full ``pylsl.StreamInfo`` (one from an inlet, with
    its description); other channels (accelerometer, ...) are left out."""
    labels, units, types = [], [], []
    ch = info.desc().child("channels").child("channel")
    while not ch.empty() and len(labels) < info.channel_count():
        labels.append(ch.child_value("label"))
        units.append(ch.child_value("unit"))
        types.append(ch.child_value("type"))
        ch = ch.next_sibling("channel")
    out = []
    for i in range(info.channel_count()):
        label = (labels[i] if i < len(labels) else "") or f"ch{i + 1}"
        unit = units[i] if i < len(units) else ""
        ctype = types[i] if i < len(types) else ""
        kind, factor = channel_kind(label, unit, ctype, info.type())
        if kind != OTHER:
            out.append(LslChannel(i, Channel.of_kind(label, kind), factor))
    names = [c.channel.name for c in out]
    if len(set(names)) != len(names):  # names key the calibration: make them unique
        out = [LslChannel(c.index, Channel(f"{c.channel.name}{c.index + 1}", c.channel.kind,
                                           c.channel.unit), c.factor) for c in out]
    return out


_LSL_CONFIGS = ("lsl_api.cfg", "~/lsl_api/lsl_api.cfg", "/etc/lsl_api/lsl_api.cfg")
_configured = False


def lsl_library():
    """``pylsl``, with liblsl's own log (INFO lines at every start, a line at every broken
    connection, on stderr) reduced to fatal errors: the run loop says what happened, once,
    in its words. Not when the lab has an LSL configuration of its own (``LSLAPICFG`` or an
    ``lsl_api.cfg`` where liblsl looks): that one is left to rule."""
    global _configured
    import pylsl

    if not _configured:
        _configured = True
        if not os.environ.get("LSLAPICFG") and not any(
                os.path.exists(os.path.expanduser(p)) for p in _LSL_CONFIGS):
            try:
                pylsl.set_config_content("[log]\nlevel = -3\n")
            except NotImplementedError:  # liblsl < 1.17.7: it stays as talkative as it is
                pass
    return pylsl


def resolve(name: str, wait_s: float | None = None):
    """The ``pylsl.StreamInfo`` of the one stream called ``name`` (or with that source id);
    several of that name are one line naming their source ids: two stations must not be
    mixed up without a word."""
    pylsl = lsl_library()
    wait_s = RESOLVE_S if wait_s is None else wait_s
    found = pylsl.resolve_byprop("name", name, minimum=1, timeout=wait_s)
    if found:  # give the others of that name a moment to answer too
        found = pylsl.resolve_byprop("name", name, minimum=len(found) + 1,
                                     timeout=DUPLICATE_S) or found
    else:
        found = pylsl.resolve_byprop("source_id", name, minimum=1, timeout=DUPLICATE_S)
    if not found:
        raise InputError(f"no LSL stream named {name!r} found within {wait_s:g} s "
                         "(is its outlet running on this network?)")
    ids = sorted({f"{i.source_id()} on {i.hostname()}" for i in found})
    if len(found) > 1:
        raise InputError(f"{len(found)} LSL streams are named {name!r} ({'; '.join(ids)}): "
                         "give --stream SOURCE_ID" if len(ids) > 1 else
                         f"{len(found)} LSL streams are named {name!r} with one source id "
                         f"({ids[0]}): two outlets of the same device on one computer?")
    return found[0]


class LslInletSource(ThreadedSource):
    """Reads one numeric, regular-rate LSL stream; hands on Blocks on the sample clock."""

    def __init__(self, name: str, wait_s: float | None = None):
        """Finds and opens the stream now, so a wrong name or type is an ``InputError``
        before anything else starts."""
        pylsl = lsl_library()
        wait_s = RESOLVE_S if wait_s is None else wait_s
        info = resolve(name, wait_s)
        if info.channel_format() in (pylsl.cf_string, pylsl.cf_undefined):
            raise InputError(f"LSL stream {name!r} (type {info.type()!r}) carries text, not "
                             "samples: choose an EMG or pressure stream")
        if info.nominal_srate() <= 0:
            raise InputError(f"LSL stream {name!r} (type {info.type()!r}) has no regular "
                             "sample rate: choose an EMG or pressure stream")
        if not MIN_RATE_HZ <= info.nominal_srate() <= MAX_RATE_HZ:
            raise InputError(f"LSL stream {name!r}: {info.nominal_srate():.6g} samples a "
                             f"second is not an EMG or pressure rate ({MIN_RATE_HZ:g} to "
                             f"{MAX_RATE_HZ:g})")
        try:
            self.inlet = pylsl.StreamInlet(info, max_buflen=360, recover=True)
        except RuntimeError as exc:
            raise InputError(f"LSL stream {name!r} cannot be opened ({exc})") from None
        try:
            self.inlet.open_stream(timeout=wait_s)
            full = self.inlet.info(timeout=wait_s)
        except Exception as exc:  # noqa: BLE001 - a timeout or a lost stream: one line
            self.inlet.close_stream()
            raise InputError(f"LSL stream {name!r} found but could not be opened ({exc})") \
                from None
        self.described = describe_channels(full)
        if not self.described:
            self.inlet.close_stream()
            raise InputError(f"LSL stream {name!r} (type {full.type()!r}) has no EMG or "
                             "pressure channel (units uV/mV/V or cmH2O/mmHg/kPa, or type EMG)")
        self.name = name
        self.source_id = full.source_id()
        self.fs_hz = float(full.nominal_srate())
        self.channels = tuple(c.channel for c in self.described)
        self._columns = [c.index for c in self.described]
        self._factors = np.array([c.factor for c in self.described])
        self.t0_lsl: float | None = None  # LSL timestamp of sample 0 (the stream's clock)
        self.samples = 0  # the sample clock: index after the last sample handed on
        self.lost_samples = 0
        self._next_ts = 0.0  # predicted timestamp of the next sample
        self._skipped = full.channel_count() - len(self.described)
        pull = inspect.signature(pylsl.StreamInlet.pull_chunk)
        self._min_samples = "min_samples" in pull.parameters
        super().__init__(f"lsl-{name}")

    def _run(self) -> None:
        try:
            from pylsl.util import LostError
        except ImportError:  # pylsl < 1.17: one module
            from pylsl import LostError

        left = f"; {self._skipped} other channel(s) left out" if self._skipped else ""
        self._put_status(Status(StatusKind.CONNECTED, f"LSL stream {self.name}: connected "
                                f"({len(self.channels)} channels, {self.fs_hz:g} Hz{left})"))
        max_n = max(16, int(self.fs_hz * 4 * PULL_S))
        heard = time.monotonic()
        try:
            while not self._stop.is_set():
                data, ts = self._pull(max_n)
                if len(ts) == 0:
                    continue
                now = time.monotonic()
                blocks = self.to_blocks(data, ts)
                if now - heard >= QUIET_S and self.samples:
                    lost = blocks[0].lost_before if blocks else 0
                    self._put_status(Status(StatusKind.RECONNECTED, f"LSL stream {self.name}: data "
                                            f"again, {lost} samples lost", blocks[0].start_sample,
                                            lost))
                heard = now
                for b in blocks:
                    self.queue.put(b)
        except LostError:
            self._put_status(Status(StatusKind.LOST, f"LSL stream {self.name}: lost", self.samples))
            return
        finally:
            self.inlet.close_stream()
        self._put_status(Status(StatusKind.STOPPED, f"LSL stream {self.name}: stopped",
                                self.samples))

    def _pull(self, max_n: int) -> tuple[np.ndarray, np.ndarray]:
        """What has arrived (at most ``max_n`` samples), waiting up to ``PULL_S`` for the
        first: each sample is handed on as soon as it is there (feedback is live)."""
        if self._min_samples:  # pylsl >= 1.18: one call
            data, ts = self.inlet.pull_chunk(timeout=PULL_S, max_samples=max_n, min_samples=1,
                                             as_numpy=True)
            if ts is None or len(ts) == 0:
                return np.empty((0, 0)), np.empty(0)
            return np.asarray(data, dtype=float), np.asarray(ts, dtype=float)
        first, t = self.inlet.pull_sample(timeout=PULL_S)
        if first is None:
            return np.empty((0, 0)), np.empty(0)
        data, ts = self.inlet.pull_chunk(timeout=0.0, max_samples=max_n - 1)
        values = np.asarray([first, *data], dtype=float)
        return values, np.asarray([t, *ts], dtype=float)

    def to_blocks(self, data: np.ndarray, ts: np.ndarray) -> list[Block]:
        """One pulled chunk (samples x all stream channels, LSL timestamps) as blocks on the
        sample clock, a new block after each gap in the timestamps."""
        if self.t0_lsl is None:
            self.t0_lsl = float(ts[0])
            self._next_ts = float(ts[0])
        values = data[:, self._columns] * self._factors
        lost = self._lost_before_each(ts)
        cuts = [int(i) for i in np.flatnonzero(lost)] + [len(ts)]
        blocks = []
        if cuts[0] != 0:
            cuts.insert(0, 0)
        for a, b in zip(cuts[:-1], cuts[1:], strict=True):
            gap = int(lost[a])
            self.samples += gap
            self.lost_samples += gap
            blocks.append(Block(values[a:b], self.fs_hz, self.channels, self.samples, gap,
                                {"lsl_t_s": float(ts[a])}))
            self.samples += b - a
        return blocks

    def _lost_before_each(self, ts: np.ndarray) -> np.ndarray:
        """How many samples are missing before each timestamp: the time of the next sample
        is predicted one period on, the prediction following the timestamps slowly (jitter
        averages out, a rate a little off its nominal value is followed); a sample more than
        ``GAP_PERIODS - 1`` periods later than predicted comes after a gap. A step back (a
        clock reset) or a jump of more than ``RESET_S`` starts the prediction again, losing
        nothing (an hour of fill for a clock that jumped would be a fake)."""
        period = 1.0 / self.fs_hz
        late_s = (GAP_PERIODS - 1.0) * period
        lost = np.zeros(len(ts), dtype=np.int64)
        next_ts = self._next_ts
        for i, t in enumerate(ts.tolist()):
            err = t - next_ts
            if err > late_s:  # a gap; a jump of more than RESET_S: the clock was reset
                lost[i] = 0 if err > RESET_S else max(1, round(err * self.fs_hz))
                next_ts = t
            elif err < -RESET_PERIODS * period:
                next_ts = t
            else:
                next_ts += FOLLOW * err
            next_ts += period
        self._next_ts = next_ts
        return lost

    def _interrupt(self) -> None:
        """The reader wakes every ``PULL_S`` on its own."""
