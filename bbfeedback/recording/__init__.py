"""Recordings in one common shape, whatever the file format (one reader module per format)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from bbfeedback.errors import InputError
from bbfeedback.recording.annotations import Meta, decode
from bbfeedback.recording.schemas import MAX_RATE_HZ  # noqa: F401 - readers import it here
from bbfeedback.signal.blocks import KINDS, OTHER, Block, Channel, to_canonical

log = logging.getLogger("bbfeedback")
MAX_WARNINGS = 5  # damaged annotations named one by one; the rest counted


@dataclass
class Signal:
    """One channel's samples in canonical units (µV / cmH2O) at its own rate. ``data`` is an
    array, or (a file's signal) an array-like read from the file a stretch at a time:
    ``size``, slices, ``np.asarray`` (all of it)."""

    channel: Channel
    fs_hz: float
    data: np.ndarray
    # the device's range in canonical units, as the file's header gives it (its physical
    # minimum and maximum): where the converter saturates (``signal_quality``)
    limits: tuple[float, float] | None = None


# samples a process holds at once when a whole recording is asked for (float64: 8 bytes each);
# analysis streams the file and has no such limit
MAX_WHOLE_BYTES = 1600 * 2**20


@dataclass
class SignalGroup:
    """Same-rate signals of a recording, read a stretch at a time: analysis streams them so
    that its memory does not grow with the recording's length."""

    signals: list[Signal]
    fs_hz: float
    n_samples: int
    path: str = ""

    @property
    def channels(self) -> tuple[Channel, ...]:
        return tuple(s.channel for s in self.signals)

    @property
    def ranges(self) -> dict[str, tuple[float, float]]:
        """The channels' device ranges that the file gives (``Signal.limits``)."""
        return {s.channel.name: s.limits for s in self.signals if s.limits is not None}

    def read(self, start: int, stop: int) -> np.ndarray:
        """Samples ``start`` to ``stop`` (clipped to the group), (samples, channels)."""
        start, stop = max(0, start), min(stop, self.n_samples)
        if stop <= start:
            return np.zeros((0, len(self.signals)))
        return np.column_stack([np.asarray(s.data[start:stop], dtype=float)
                                for s in self.signals])

    def blocks(self, size: int, start: int = 0, stop: int | None = None) -> Iterator[Block]:
        """Consecutive blocks of ``size`` samples on the sample clock."""
        stop = self.n_samples if stop is None else min(stop, self.n_samples)
        for a in range(start, stop, size):
            b = min(a + size, stop)
            yield Block(self.read(a, b), self.fs_hz, self.channels, a)

    def check_holdable(self) -> None:
        """One line if the samples are too many to hold at once (replay holds them to seek;
        ``analyze`` reads any length a block at a time)."""
        need = self.n_samples * len(self.signals) * 8
        if need > MAX_WHOLE_BYTES:
            raise InputError(f"holds {need / 2**20:.0f} MB of samples, more than bbfeedback "
                             f"holds at once ({MAX_WHOLE_BYTES // 2**20} MB); `bbfeedback "
                             "analyze` reads it in pieces", self.path)

    def whole(self) -> Block:
        """All samples as one block."""
        self.check_holdable()
        return Block(self.read(0, self.n_samples), self.fs_hz, self.channels)


@dataclass
class Annotation:
    onset_s: float
    duration_s: float
    text: str


@dataclass
class Recording:
    """Signals plus annotations; ``path`` names the source in error messages."""

    signals: list[Signal]
    annotations: list[Annotation] = field(default_factory=list)
    path: str = ""
    header: dict = field(default_factory=dict)

    @cached_property
    def meta(self) -> Meta:
        """What the ``bbfeedback:*`` and cue annotations say; a damaged one is left out, named
        in ``warnings`` and logged (the signal is the source of truth)."""
        meta = decode((a.onset_s, a.text) for a in self.annotations)
        for w in meta.warnings[:MAX_WARNINGS]:
            log.warning("%s: %s", self.path, w)
        if len(meta.warnings) > MAX_WARNINGS:
            log.warning("%s: and %d more damaged annotations", self.path,
                        len(meta.warnings) - MAX_WARNINGS)
        return meta

    def warn(self, msg: str) -> None:
        """A damaged annotation found while using it: named in ``meta.warnings``, logged."""
        self.meta.warnings.append(msg)
        log.warning("%s: %s", self.path, msg)

    @property
    def duration_s(self) -> float:
        return max((s.data.size / s.fs_hz for s in self.signals), default=0.0)

    def usable(self) -> list[Signal]:
        """Signals of a kind the pipeline processes (EMG, pressure)."""
        return [s for s in self.signals if s.channel.kind != OTHER]

    def groups(self, signals: list[Signal] | None = None) -> list[SignalGroup]:
        """One group per sample rate (channels of a rate share blocks), as long as its
        shortest signal."""
        chosen = self.usable() if signals is None else signals
        by_rate: dict[float, list[Signal]] = {}
        for s in chosen:
            by_rate.setdefault(s.fs_hz, []).append(s)
        return [SignalGroup(sigs, fs, min(s.data.size for s in sigs), self.path)
                for fs, sigs in by_rate.items()]

    def blocks(self, signals: list[Signal] | None = None) -> list[Block]:
        """One whole block per sample rate (channels of a rate share a block)."""
        return [g.whole() for g in self.groups(signals)]


def make_signal(name: str, unit: str, kind: str, fs_hz: float, values: np.ndarray,
                where: object) -> Signal:
    """A Signal in canonical units; 'other' signals keep their own unit and values."""
    if kind not in KINDS:
        raise InputError(f"unknown channel kind {kind!r} (use emg or pressure)", where)
    if kind == OTHER:
        return Signal(Channel(name, OTHER, unit), fs_hz, np.asarray(values, dtype=float))
    return Signal(Channel.of_kind(name, kind), fs_hz, to_canonical(values, unit, kind, where))


def check_rates(recording: Recording, signals: list[Signal] | None = None) -> None:
    """One line if a signal's rate is one the signal chain cannot filter (an EMG at 1 Hz has
    no 20-450 Hz band): the check ``analyze`` makes when it builds its pipeline, made before
    any work by every command that uses the signal (``gui --replay``, ``export``), so that
    none accepts a file ``analyze`` refuses. The same words as ``analyze``."""
    from bbfeedback.signal.pipeline import Pipeline, PipelineConfig

    for g in recording.groups(signals):
        try:
            Pipeline(g.channels, g.fs_hz, PipelineConfig())
        except ValueError as exc:
            names = ", ".join(c.name for c in g.channels)
            raise InputError(f"channel {names}: {exc}", recording.path) from None


def recording_file(path: str | Path) -> Path:
    """The path of a recording that can be read (before any work starts), or one line why not:
    missing, a folder, not a regular file (a FIFO or a device would be waited on for ever),
    or not of a known type."""
    p = Path(path)
    if not p.exists():
        raise InputError("no such file", p)
    if p.is_dir():
        raise InputError("is a folder, not a recording", p)
    if not p.is_file():
        raise InputError("not a regular file", p)
    if p.suffix.lower() not in (".edf", ".bdf", ".csv"):
        raise InputError(f"unknown file type {p.suffix or '(none)'!r}; use .edf, .bdf or .csv",
                         p)
    return p


def read_recording(path: str | Path, kinds: dict[str, str] | None = None) -> Recording:
    """Read EDF/EDF+/BDF(+) or CSV by extension. ``kinds`` overrides channel kinds by name."""
    from bbfeedback.recording import csvfile, edf
    from bbfeedback.recording.repair import marker_path, real_path

    p = recording_file(path)
    if marker_path(real_path(p)).exists():  # the recorder's in-progress marker (a link's too)
        raise InputError("is still being recorded (or its recording was cut off: bbfeedback "
                         f"recover {p})", p)
    readers = {".edf": edf.read_edf, ".bdf": edf.read_edf, ".csv": csvfile.read_csv}
    rec = readers[p.suffix.lower()](p, kinds or {})
    unknown = set(kinds or {}) - {s.channel.name for s in rec.signals}
    if unknown:
        raise InputError(f"no channel named {sorted(unknown)[0]!r}", p)
    return rec
