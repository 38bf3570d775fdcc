"""CSV recordings: header ``time_s,<name>_<unit>,...``; sample rate from ``time_s``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bbfeedback.errors import InputError
from bbfeedback.recording import Recording, Signal, make_signal
from bbfeedback.signal.blocks import unit_kind

# time steps may jitter by this fraction of the median step (text rounding), no more
_STEP_TOLERANCE = 0.01


def _column(name: str, path: Path) -> tuple[str, str]:
    base, sep, unit = name.strip().rpartition("_")
    if not sep or not base:
        raise InputError(f"column {name!r} is not named <name>_<unit> (e.g. emg_uV)", path)
    if unit_kind(unit) is None:
        raise InputError(f"column {name!r}: unknown unit {unit!r}", path)
    return base, unit


def read_csv(path: Path, kinds: dict[str, str]) -> Recording:
    with path.open(encoding="utf-8-sig", errors="replace") as fh:
        first = fh.readline()
    if not first.strip():
        raise InputError("empty file", path)
    names = [c.strip() for c in first.split(",")]
    if names[0] != "time_s":
        raise InputError(f"first column must be time_s, found {names[0]!r}", path)
    if len(names) < 2:
        raise InputError("no signal columns after time_s", path)
    columns = [_column(n, path) for n in names[1:]]
    data = _numbers(path, len(names))
    fs = _rate(data[:, 0], path)
    signals: list[Signal] = []
    for k, (name, unit) in enumerate(columns, start=1):
        kind = kinds.get(name) or unit_kind(unit)[0]
        signals.append(make_signal(name, unit, kind, fs, data[:, k], f"{path}: column {name!r}"))
    return Recording(signals, [], str(path), {"start_time_s": float(data[0, 0])})


def _numbers(path: Path, width: int) -> np.ndarray:
    """Fast path with numpy; on failure a line-by-line pass finds the line to name."""
    try:
        data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2, encoding="utf-8-sig")
        if data.shape[1] == width and data.shape[0] >= 2 and np.all(np.isfinite(data)):
            return data
    except ValueError:
        pass
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    rows = [ln for ln in text.splitlines()[1:] if ln.strip()]
    return _scan(rows, width, path)


def _scan(rows: list[str], width: int, path: Path) -> np.ndarray:
    if len(rows) < 2:
        raise InputError("needs at least two rows of samples", path)
    out = np.empty((len(rows), width))
    for i, row in enumerate(rows):
        cells = row.split(",")
        if len(cells) != width:
            raise InputError(f"line {i + 2}: {len(cells)} values, expected {width}", path)
        try:
            out[i] = [float(c) for c in cells]
        except ValueError:
            raise InputError(f"line {i + 2}: not a number in {row.strip()!r}", path) from None
    if not np.all(np.isfinite(out)):
        bad = int(np.flatnonzero(~np.isfinite(out).all(axis=1))[0]) + 2
        raise InputError(f"line {bad}: value is not finite", path)
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
    return 1.0 / step


def write_csv(path: str | Path, signals: list[Signal]) -> None:
    """Write same-rate signals as CSV in their canonical units."""
    fs = signals[0].fs_hz
    n = min(s.data.size for s in signals)
    t = np.arange(n) / fs
    cols = np.column_stack([t] + [s.data[:n] for s in signals])
    head = ",".join(["time_s"] + [f"{s.channel.name}_{s.channel.unit}" for s in signals])
    np.savetxt(path, cols, delimiter=",", header=head, comments="", fmt="%.6f")
