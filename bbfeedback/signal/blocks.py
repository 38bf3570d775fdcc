"""Blocks of samples, channel descriptions and unit normalisation.

Everything downstream works in two canonical units: µV for EMG and cmH2O for pressure.
Time is the sample clock: ``t_s = sample_index / fs_hz``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from bbfeedback.errors import InputError

EMG = "emg"
PRESSURE = "pressure"
OTHER = "other"
KINDS = (EMG, PRESSURE, OTHER)

CANONICAL_UNIT = {EMG: "uV", PRESSURE: "cmH2O"}

# factor converting one unit into the canonical unit of its kind
_VOLTAGE_TO_UV = {"uv": 1.0, "µv": 1.0, "μv": 1.0, "mv": 1e3, "v": 1e6, "nv": 1e-3}
_PRESSURE_TO_CMH2O = {
    "cmh2o": 1.0,
    "mmhg": 1.3595,
    "hpa": 1.0197,
    "mbar": 1.0197,
    "kpa": 10.197,
    "pa": 0.010197,
}
_NON_EMG_LABELS = ("eeg", "eog", "ecg", "ekg", "resp", "temp", "event", "status")


def unit_kind(unit: str) -> tuple[str, float] | None:
    """Return (kind, factor to canonical unit) for a unit string, or None when unknown."""
    key = unit.strip().replace(" ", "").lower()
    if key in _VOLTAGE_TO_UV:
        return EMG, _VOLTAGE_TO_UV[key]
    if key in _PRESSURE_TO_CMH2O:
        return PRESSURE, _PRESSURE_TO_CMH2O[key]
    return None


def guess_kind(label: str, unit: str) -> str:
    """Channel kind from its label and unit: voltages are EMG unless the label says otherwise."""
    known = unit_kind(unit)
    if known is None:
        return OTHER
    kind = known[0]
    low = label.lower()
    if kind == EMG and "emg" not in low and any(tag in low for tag in _NON_EMG_LABELS):
        return OTHER
    return kind


def to_canonical(values: np.ndarray, unit: str, kind: str, where: object = None) -> np.ndarray:
    """Scale values in ``unit`` to the canonical unit of ``kind`` (µV or cmH2O)."""
    known = unit_kind(unit)
    if known is None or known[0] != kind:
        want = "a voltage (uV, mV, V)" if kind == EMG else "a pressure (cmH2O, mmHg, hPa, kPa)"
        raise InputError(f"unit {unit!r} is not {want}", where)
    return np.asarray(values, dtype=float) * known[1]


@dataclass(frozen=True)
class Channel:
    """One signal: its name, kind (emg/pressure/other) and unit of the values handed on."""

    name: str
    kind: str
    unit: str

    @classmethod
    def of_kind(cls, name: str, kind: str) -> Channel:
        return cls(name, kind, CANONICAL_UNIT.get(kind, ""))


@dataclass(frozen=True)
class Block:
    """A run of samples ``data`` (samples, channels) on the sample clock.

    ``start_sample`` is the index of the first sample; ``lost_before`` how many samples were
    lost right before it (from packet counters) - a gap, never filled in silently.
    """

    data: np.ndarray
    fs_hz: float
    channels: tuple[Channel, ...]
    start_sample: int = 0
    lost_before: int = 0
    meta: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.data.ndim != 2 or self.data.shape[1] != len(self.channels):
            raise ValueError(
                f"block data shape {self.data.shape} does not match {len(self.channels)} channels"
            )
        if self.fs_hz <= 0:
            raise ValueError("fs_hz must be positive")

    @property
    def n_samples(self) -> int:
        return self.data.shape[0]

    @property
    def start_s(self) -> float:
        return self.start_sample / self.fs_hz

    @property
    def end_sample(self) -> int:
        return self.start_sample + self.n_samples

    def head(self, n: int) -> Block:
        """The first ``n`` samples (the block itself when it has no more)."""
        if n >= self.n_samples:
            return self
        return Block(self.data[:n], self.fs_hz, self.channels, self.start_sample,
                     self.lost_before, self.meta)

    def with_data(self, data: np.ndarray, channels: tuple[Channel, ...] | None = None) -> Block:
        """Same clock, new values (what a pipeline stage hands on)."""
        return Block(
            data, self.fs_hz, channels or self.channels, self.start_sample, self.lost_before
        )


def split_blocks(block: Block, sizes: list[int] | int) -> list[Block]:
    """Cut a block into consecutive blocks (fixed size or the given sizes) on the same clock."""
    n = block.n_samples
    if isinstance(sizes, int):
        sizes = [sizes] * (-(-n // sizes))
    out, pos = [], 0
    for size in sizes:
        if pos >= n:
            break
        stop = min(n, pos + size)
        out.append(
            Block(block.data[pos:stop], block.fs_hz, block.channels, block.start_sample + pos,
                  block.lost_before if pos == 0 else 0)
        )
        pos = stop
    if pos < n:
        out.append(Block(block.data[pos:], block.fs_hz, block.channels, block.start_sample + pos))
    return out


# Beyond any sensor we read (a 24-bit EMG front end spans ±187 mV; a squeeze is < 300 cmH2O):
# a value past this is a corrupt sample, held like a NaN, not a number to square.
PLAUSIBLE_LIMIT = {EMG: 1e6, PRESSURE: 1e4, OTHER: 1e12}


class SampleGuard:
    """Makes every sample a usable number before anyone sees it: NaN, infinities and values
    past ``PLAUSIBLE_LIMIT`` are held at the channel's last good value (a filter fed one NaN
    gives NaN for ever). Counts what it replaced."""

    def __init__(self) -> None:
        self.replaced = 0
        self._last: np.ndarray | None = None

    def check(self, block: Block) -> Block:
        limits = np.array([PLAUSIBLE_LIMIT[c.kind] for c in block.channels])
        bad = ~(np.abs(block.data) <= limits)  # NaN compares False: bad too
        if self._last is None or self._last.shape[0] != block.data.shape[1]:
            self._last = np.zeros(block.data.shape[1])
        if not bad.any():
            if block.n_samples:
                self._last = block.data[-1].astype(float)
            return block
        self.replaced += int(bad.sum())
        data = np.array(block.data, dtype=float)
        for c in np.flatnonzero(bad.any(axis=0)):
            data[:, c] = _hold(data[:, c], bad[:, c], self._last[c])
        self._last = data[-1].copy()
        return dataclasses.replace(block, data=data)


def _hold(col: np.ndarray, bad: np.ndarray, before: float) -> np.ndarray:
    """Each bad sample replaced by the last good one before it (``before`` at the start)."""
    idx = np.where(bad, 0, np.arange(col.size))
    np.maximum.accumulate(idx, out=idx)
    held = col[idx]
    lead = bad & (np.cumsum(~bad) == 0)  # bad ones before the block's first good sample
    held[lead] = before
    return held
