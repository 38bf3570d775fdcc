"""Line-based ASCII from Arduino-class boards (MyoWare EMG, MPX5010 / MPRLS pressure).

The format anyone's sketch can speak (see docs/devices.md): one sample per line, values separated by
commas, ``\\n`` (or ``\\r\\n``) at the end, optionally a leading sample counter that wraps at
``counter_modulo``::

    1234,517,88\\n

A column spec gives each value's name, kind, unit and ``physical = (value - offset) * scale``.
The first line (maybe cut) and any line that does not parse are dropped and counted.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from bbfeedback.drivers.framing import Decoded, ParserStats
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bbfeedback.errors import InputError
from bbfeedback.signal.blocks import EMG, KINDS, PRESSURE, Channel, unit_kind

MAX_LINE = 256


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    unit: str
    scale: float = 1.0
    offset: float = 0.0


@dataclass(frozen=True)
class AsciiSpec:
    columns: tuple[Column, ...]
    fs_hz: float = 500.0
    baud: int = 115200
    counter: bool = True
    counter_modulo: int = 65536
    name: str = "ascii"

    @property
    def channels(self) -> tuple[Channel, ...]:
        return tuple(Channel(c.name, c.kind, c.unit) for c in self.columns)


DEFAULT_SPEC = AsciiSpec((Column("pfm", "emg", "uV", 0.5, 2048.0),
                          Column("pressure", "pressure", "cmH2O", 0.05, 0.0)))


def _column(name: str, kind: str, unit: str, scale: float = 1.0, offset: float = 0.0,
            where: str = "") -> Column:
    """A column, or one line saying what is wrong with it."""
    if kind not in (EMG, PRESSURE):
        raise InputError(f"{where}kind must be emg or pressure, not {kind!r:.20}")
    if not name or len(name) > 16 or not name.isprintable():
        raise InputError(f"{where}name must be 1 to 16 printable characters")
    if unit_kind(unit) is None or unit_kind(unit)[0] != kind:
        raise InputError(f"{where}unit {unit!r:.20} is not a unit of {kind}")
    if not (math.isfinite(scale) and scale != 0 and math.isfinite(offset)):
        raise InputError(f"{where}scale must be a finite number other than 0, offset finite")
    return Column(name, kind, unit, scale, offset)


def parse_columns(text: str) -> tuple[Column, ...]:
    """``name:kind:unit[:scale[:offset]],...`` from the command line."""
    cols = []
    for item in text.split(","):
        parts = item.strip().split(":")
        if len(parts) < 3 or len(parts) > 5 or parts[1] not in KINDS:
            raise InputError(f"--columns item {item!r}: want name:emg|pressure:unit"
                             "[:scale[:offset]]")
        try:
            nums = [float(p) for p in parts[3:5]]
        except ValueError:
            raise InputError(f"--columns item {item!r}: scale and offset must be numbers"
                             ) from None
        cols.append(_column(*parts[:3], *nums, where=f"--columns item {item!r}: "))
    return tuple(cols)


class _ColumnFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str
    kind: str
    unit: str
    scale: float = Field(1.0, allow_inf_nan=False)
    offset: float = Field(0.0, allow_inf_nan=False)


class _DeviceFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    fs_hz: float = Field(500.0, ge=100.0, le=20000.0, allow_inf_nan=False)
    baud: int = Field(115200, ge=300, le=4_000_000)
    counter: bool = True
    counter_modulo: int = Field(65536, ge=2, le=2**32)
    name: str = Field("", max_length=32)
    column: list[_ColumnFile] = Field(min_length=1, max_length=16)


MAX_DEVICE_FILE = 64 * 1024


def load_spec(path: str | Path) -> AsciiSpec:
    """A small device file (TOML): fs_hz, baud, counter, counter_modulo, [[column]]; checked
    whole before use (types, ranges, known kinds and units), a mistake is one line."""
    p = Path(path)
    if not p.is_file():
        raise InputError("no such device file" if not p.exists() else "not a regular file", p)
    if p.stat().st_size > MAX_DEVICE_FILE:
        raise InputError("too large for a device file", p)
    try:
        raw = _DeviceFile.model_validate(tomllib.loads(p.read_text(errors="replace")))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not a valid device file ({exc})", p) from None
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"]) or "file"
        raise InputError(f"not a valid device file ({where}: {err['msg']})", p) from None
    cols = tuple(_column(c.name, c.kind, c.unit, c.scale, c.offset,
                         where=f"{p}: column {i + 1}: ") for i, c in enumerate(raw.column))
    return AsciiSpec(cols, raw.fs_hz, raw.baud, raw.counter, raw.counter_modulo,
                     raw.name or p.stem)


MAX_STEP = 64  # lines lost between two good ones that one following line confirms
CONFIRM = 3  # lines in a row that confirm a larger jump of the counter
# a confirmed jump of more than this much signal is the device restarting its counter (a
# reset, a new sketch): nothing is counted lost, since how long it took is unknown (a silence
# this long ends a recording anyway: record --wait-s). Only counting what is known keeps the
# clock from running ahead.
RESET_S = 10.0

Line = tuple[int, list, int]  # (counter, values, bytes)


@dataclass
class AsciiParser:
    spec: AsciiSpec = DEFAULT_SPEC
    stats: ParserStats = field(default_factory=ParserStats)

    def __post_init__(self) -> None:
        self._partial = b""
        self._first = True
        self._last_seq: int | None = None  # of the last line handed on (loss counting)
        self._trust: int | None = None  # same, kept current inside one feed
        self._pending: Line | None = None  # a line after a gap, until the next one confirms it
        self._held: list[Line] = []  # lines after a large jump, until CONFIRM lines agree
        self.n_channels = len(self.spec.columns)
        self._scale = np.array([c.scale for c in self.spec.columns])
        self._offset = np.array([c.offset for c in self.spec.columns])

    @property
    def buffered(self) -> int:
        """Bytes not yet handed on: the partial line and lines held back for their counter."""
        pending = self._pending[2] if self._pending else 0
        return len(self._partial) + pending + sum(n for _, _, n in self._held)

    @property
    def has_counter(self) -> bool:
        """Whether lines carry the device's sample counter (else losses cannot be counted)."""
        return self.spec.counter

    def feed(self, data: bytes) -> Decoded:
        self.stats.bytes_in += len(data)
        lines = (self._partial + bytes(data)).split(b"\n")
        self._partial = lines.pop()
        if len(self._partial) > MAX_LINE:
            self.stats.discarded += len(self._partial)
            self._partial = b""
        rows, seqs = [], []
        width = self.n_channels + (1 if self.spec.counter else 0)
        for line in lines:
            size = len(line) + 1
            if self._first:  # may be the tail of a line sent before we listened
                self._first = False
                self.stats.discarded += size
                continue
            vals = self._values(line)
            if len(vals) != width or not all(np.isfinite(vals)):
                self.stats.discarded += size
                continue
            if not self.spec.counter:
                self.stats.consumed += size
                rows.append(vals)
                continue
            for seq, row, n in self._trusted((int(vals[0]), vals[1:], size)):
                self.stats.consumed += n
                seqs.append(seq)
                rows.append(row)
        return self._decoded(rows, seqs)

    def _values(self, line: bytes) -> list[float]:
        """The numbers of one line, [] if it does not parse. A counter is plain digits below
        ``counter_modulo``: noise ending in "-" or "." glued to it (3 into -3) is no counter."""
        try:
            text = line.decode("ascii").strip().split(",")
            vals = [float(v) for v in text]
        except (UnicodeDecodeError, ValueError):
            return []
        if self.spec.counter and not (text[0].isdigit() and
                                      int(text[0]) < self.spec.counter_modulo):
            return []
        return vals

    def _follows(self, seq: int, before: int | None, most: int = MAX_STEP) -> bool:
        return before is not None and 1 <= (seq - before) % self.spec.counter_modulo <= most

    def _trusted(self, line: Line) -> list[Line]:
        """Lines whose counter can be believed, in order. Noise glued to a line's start
        turns its counter into another number (9 into 19), so only a step of exactly 1 is
        believed at once. A line after a gap (a step of 2 to ``MAX_STEP``, or the first
        line) waits for the next one: believed when that continues it, dropped as noise
        when that continues the line before it instead. A larger jump (a device reset) is
        believed when ``CONFIRM`` lines in a row continue it. Lines never believed are
        discarded, never counted as lost samples."""
        seq = line[0]
        out: list[Line] = []
        if self._pending is not None:
            if self._follows(seq, self._pending[0]):
                out.append(self._pending)
                self._trust = self._pending[0]
                self._pending = None
                self._discard_held()
            elif self._trust is None or self._follows(seq, self._trust):
                self._discard(self._pending)
                self._pending = None
        if self._follows(seq, self._trust, 1):
            self._discard_held()
            self._trust = seq
            return out + [line]
        if self._trust is None or self._follows(seq, self._trust):
            self._discard_held()
            self._pending = line
            return out
        return out + self._confirm_jump(line)

    def _confirm_jump(self, line: Line) -> list[Line]:
        if self._held and not self._follows(line[0], self._held[-1][0], 1):
            self._discard_held()
        self._held.append(line)
        if len(self._held) < CONFIRM:
            return []
        if self._pending is not None:
            self._discard(self._pending)
            self._pending = None
        held, self._held = self._held, []
        self._trust = held[-1][0]
        return held

    def _discard(self, line: Line) -> None:
        self.stats.discarded += line[2]

    def _discard_held(self) -> None:
        self.stats.discarded += sum(n for _, _, n in self._held)
        self._held = []

    def _decoded(self, rows: list, seqs: list) -> Decoded:
        n = len(rows)
        counts = np.array(rows, float).reshape(n, self.n_channels)
        if self.spec.counter:
            seq = np.array(seqs, int)
        else:
            start = 0 if self._last_seq is None else self._last_seq + 1
            seq = (start + np.arange(n)) % self.spec.counter_modulo
        lost = np.zeros(n, int)
        if n:
            prev = np.concatenate([[seq[0] - 1 if self._last_seq is None else self._last_seq],
                                   seq[:-1]])
            lost = (seq - prev - 1) % self.spec.counter_modulo
            reset = lost > RESET_S * self.spec.fs_hz
            self.stats.resyncs += int(reset.sum())
            lost[reset] = 0
            self._last_seq = int(seq[-1])
        self.stats.frames_ok += n
        self.stats.lost_frames += int(lost.sum())
        return Decoded(self.to_physical(counts), seq, lost, counts)

    def to_physical(self, counts: np.ndarray) -> np.ndarray:
        return (counts - self._offset) * self._scale


def encode(counts: np.ndarray, first_seq: int = 0, spec: AsciiSpec = DEFAULT_SPEC) -> list[bytes]:
    out = []
    for k, row in enumerate(np.asarray(counts)):
        vals = ",".join(f"{v:g}" for v in row)
        head = f"{(first_seq + k) % spec.counter_modulo}," if spec.counter else ""
        out.append(f"{head}{vals}\n".encode())
    return out


def from_physical(values: np.ndarray, spec: AsciiSpec = DEFAULT_SPEC) -> np.ndarray:
    scale = np.array([c.scale for c in spec.columns])
    offset = np.array([c.offset for c in spec.columns])
    return np.round(np.asarray(values) / scale + offset)
