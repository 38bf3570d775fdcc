"""CSV recordings: header ``time_s,<name>_<unit>,...``; sample rate from ``time_s``."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import TextIO

import numpy as np

from bbfeedback.errors import InputError
from bbfeedback.recording import MAX_RATE_HZ, Recording, Signal, make_signal
from bbfeedback.signal.blocks import unit_kind

# time steps may jitter by this fraction of the median step (text rounding), no more
_STEP_TOLERANCE = 0.01
MAX_CSV_BYTES = 2 * 2**30  # ~16 h of 2 channels at 2 kHz as text
MAX_LINE = 4096
_CHUNK_ROWS = 100_000


def _column(name: str, path: Path) -> tuple[str, str]:
    base, sep, unit = name.strip().rpartition("_")
    if not sep or not base:
        raise InputError(f"column {name!r} is not named <name>_<unit> (e.g. emg_uV)", path)
    if unit_kind(unit) is None:
        raise InputError(f"column {name!r}: unknown unit {unit!r}", path)
    return base, unit


def read_csv(path: Path, kinds: dict[str, str]) -> Recording:
    size = path.stat().st_size
    if size > MAX_CSV_BYTES:
        raise InputError(f"{size / 2**30:.1f} GiB is more than a CSV recording may hold "
                         f"({MAX_CSV_BYTES // 2**30} GiB); use EDF for long recordings", path)
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as fh:
        names = [c.strip() for c in _line(fh, 1, path).split(",")]
        if not any(names):
            raise InputError("empty file", path)
        if names[0] != "time_s":
            raise InputError(f"first column must be time_s, found {names[0]!r:.40}", path)
        if len(names) < 2:
            raise InputError("no signal columns after time_s", path)
        columns = [_column(n, path) for n in names[1:]]
        data = _numbers(fh, len(names), path)
    fs = _rate(data[:, 0], path)
    signals: list[Signal] = []
    for k, (name, unit) in enumerate(columns, start=1):
        kind = kinds.get(name) or unit_kind(unit)[0]
        signals.append(make_signal(name, unit, kind, fs, data[:, k], f"{path}: column {name!r}"))
    return Recording(signals, [], str(path), {"start_time_s": float(data[0, 0])})


def _line(fh: TextIO, number: int, path: Path) -> str:
    """One line, read no further than MAX_LINE characters: a file without line ends (a
    block of zeros, a binary file) is refused without reading it whole."""
    line = fh.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise InputError(f"line {number} is longer than {MAX_LINE} characters; "
                         "not a CSV recording", path)
    return line


def _numbers(fh: TextIO, width: int, path: Path) -> np.ndarray:
    """The sample rows, parsed in chunks by numpy; a bad row is named by its line."""
    chunks, rows, first = [], [], 2
    for number in itertools.count(2):
        line = _line(fh, number, path)
        if not line:
            break
        if line.strip():
            rows.append(line)
        if len(rows) == _CHUNK_ROWS:
            chunks.append(_chunk(rows, first, width, path))
            rows, first = [], number + 1
    if rows:
        chunks.append(_chunk(rows, first, width, path))
    n = sum(len(c) for c in chunks)
    if n < 2:
        raise InputError("needs at least two rows of samples", path)
    return np.concatenate(chunks)


def _chunk(rows: list[str], first: int, width: int, path: Path) -> np.ndarray:
    try:
        data = np.loadtxt(rows, delimiter=",", ndmin=2)
        if data.shape[1] == width and np.all(np.isfinite(data)):
            return data
    except ValueError:
        pass
    return _scan(rows, first, width, path)


def _scan(rows: list[str], first: int, width: int, path: Path) -> np.ndarray:
    """Row by row, to name the first bad line (``first`` is the line number of rows[0];
    blank lines are not counted in rows, so numbers after one are approximate)."""
    out = np.empty((len(rows), width))
    for i, row in enumerate(rows):
        cells = row.split(",")
        where = f"line {first + i}"
        if len(cells) != width:
            raise InputError(f"{where}: {len(cells)} values, expected {width}", path)
        try:
            out[i] = [float(c) for c in cells]
        except ValueError:
            raise InputError(f"{where}: not a number in {row.strip()!r:.60}", path) from None
        if not np.all(np.isfinite(out[i])):
            raise InputError(f"{where}: value is not finite", path)
    return out


def _rate(time_s: np.ndarray, path: Path) -> float:
    steps = np.diff(time_s)
    step = float(np.median(steps))
    if step <= 0:
        raise InputError("time_s does not increase", path)
    bad = np.flatnonzero(np.abs(steps - step) > _STEP_TOLERANCE * step)
    if bad.size:
        i = int(bad[0])
        raise InputError(
            f"uneven time steps: line {i + 3} steps {steps[i]:.6g} s, expected {step:.6g} s",
            path,
        )
    if 1.0 / step > MAX_RATE_HZ:
        raise InputError(f"time steps of {step:.3g} s make {1.0 / step:.3g} samples a second "
                         f"(at most {MAX_RATE_HZ:g}): is time_s in seconds?", path)
    return 1.0 / step


def write_csv(path: str | Path, signals: list[Signal]) -> None:
    """Write same-rate signals as CSV in their canonical units."""
    fs = signals[0].fs_hz
    n = min(s.data.size for s in signals)
    t = np.arange(n) / fs
    cols = np.column_stack([t] + [s.data[:n] for s in signals])
    head = ",".join(["time_s"] + [f"{s.channel.name}_{s.channel.unit}" for s in signals])
    np.savetxt(path, cols, delimiter=",", header=head, comments="", fmt="%.6f")
