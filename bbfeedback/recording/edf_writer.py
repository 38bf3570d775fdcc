"""Incremental EDF+ writer: data records appended as samples arrive, annotations of any length.

Why our own writer (pyedflib still reads): EDFlib truncates written annotation texts to 40
characters, too short for calibration, settings and scores; and a session must be written as
it happens. The header's record count is rewritten at every flush, so after a crash the file
on disk is a valid EDF+ up to the last flushed record (``recover`` also counts the records
that made it to disk after that flush).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from bbfeedback.recording.annotations import encode
from bbfeedback.recording.outputs import create_exclusive

ANNOTATION_LABEL = "EDF Annotations"
DIGITAL_MIN, DIGITAL_MAX = -32768, 32767
RECORD_COUNT_OFFSET = 236


@dataclass(frozen=True)
class SignalSpec:
    label: str
    unit: str
    fs_hz: float
    physical_min: float
    physical_max: float
    transducer: str = ""
    prefilter: str = ""


def record_duration_s(rates: list[float]) -> float:
    """Shortest record length (1, 2, 5, 10 ... s) holding a whole number of samples of each."""
    for d in (1, 2, 4, 5, 10, 20, 50, 100):
        if all(abs(fs * d - round(fs * d)) < 1e-6 for fs in rates):
            return float(d)
    return 1.0


def _field(text: object, width: int) -> bytes:
    raw = str(text).encode("ascii", "replace")[:width]
    return raw.ljust(width, b" ")


def _number(value: float, width: int = 8) -> str:
    """A number in at most ``width`` characters (EDF header fields)."""
    for digits in range(6, -1, -1):
        text = f"{value:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:.0f}"
        if len(text) <= width:
            return text
    raise ValueError(f"{value} does not fit an EDF header field")


def tal(onset_s: float, text: str = "", duration_s: float = 0.0) -> bytes:
    """One Time-stamped Annotation List entry (UTF-8 text)."""
    head = f"{onset_s:+.6f}".rstrip("0").rstrip(".").encode()
    if duration_s > 0:
        head += b"\x15" + _number(duration_s, 16).encode()
    return head + b"\x14" + text.replace("\x14", " ").encode("utf-8") + b"\x14\x00"


class EdfPlusWriter:
    """Write an EDF+C file record by record."""

    def __init__(self, path: str | Path, signals: list[SignalSpec], start: datetime,
                 patient: str = "X X X X", recording: str = "X X X bbfeedback",
                 annotation_bytes: int = 4096, sync: bool = True, force: bool = True):
        self.path = Path(path)
        self.signals = signals
        self.start = start
        self.sync = sync
        self.record_s = record_duration_s([s.fs_hz for s in signals])
        self.per_record = [int(round(s.fs_hz * self.record_s)) for s in signals]
        self.annotation_bytes = annotation_bytes
        self.records = 0
        self._pending: list[bytes] = []
        self._buffers = [np.empty(0) for _ in signals]
        self._last = [0.0 for _ in signals]
        self._scale = [
            ((DIGITAL_MAX - DIGITAL_MIN) / (s.physical_max - s.physical_min), s.physical_min)
            for s in signals
        ]
        fd = create_exclusive(self.path, force)  # 0600, no symlink, new unless forced
        self._fh = os.fdopen(fd, "wb")
        self._fh.write(self._header(patient, recording))
        self._fh.flush()

    # --- header ----------------------------------------------------------------------------
    def _header(self, patient: str, recording: str) -> bytes:
        specs = self.signals + [SignalSpec(ANNOTATION_LABEL, "", 0, -1, 1)]
        ns = len(specs)
        start = self.start
        stamp = start.strftime("%d-%b-%Y").upper()
        head = b"".join([
            _field("0", 8), _field(patient, 80),
            _field(f"Startdate {stamp} {recording}", 80),
            _field(start.strftime("%d.%m.%y"), 8), _field(start.strftime("%H.%M.%S"), 8),
            _field(256 * (ns + 1), 8), _field("EDF+C", 44), _field(-1, 8),
            _field(_number(self.record_s), 8), _field(ns, 4),
        ])
        per = self.per_record + [self.annotation_bytes // 2]
        cols = [
            [s.label for s in specs], [s.transducer for s in specs], [s.unit for s in specs],
            [_number(s.physical_min) for s in specs], [_number(s.physical_max) for s in specs],
            [DIGITAL_MIN] * ns, [DIGITAL_MAX] * ns, [s.prefilter for s in specs], per,
            [""] * ns,
        ]
        widths = (16, 80, 8, 8, 8, 8, 8, 80, 8, 32)
        return head + b"".join(_field(v, w) for col, w in zip(cols, widths, strict=True)
                               for v in col)

    # --- data ------------------------------------------------------------------------------
    def annotate(self, onset_s: float, text: str, duration_s: float = 0.0) -> None:
        entry = tal(onset_s, text, duration_s)
        if len(entry) > self.annotation_bytes - 32:
            raise ValueError(f"annotation too long for one record ({len(entry)} bytes)")
        self._pending.append(entry)

    def write(self, columns: list[np.ndarray]) -> None:
        """Append samples (physical units) per signal; whole records go to disk."""
        for k, col in enumerate(columns):
            col = np.asarray(col, float)
            if col.size:
                self._last[k] = col[-1]
            self._buffers[k] = np.concatenate([self._buffers[k], col])
        while all(b.size >= n for b, n in zip(self._buffers, self.per_record, strict=True)):
            self._write_record([b[:n] for b, n in zip(self._buffers, self.per_record,
                                                      strict=True)])
            self._buffers = [b[n:] for b, n in zip(self._buffers, self.per_record, strict=True)]

    def digital(self, k: int, values: np.ndarray) -> np.ndarray:
        gain, pmin = self._scale[k]
        return np.clip(np.round((values - pmin) * gain + DIGITAL_MIN), DIGITAL_MIN, DIGITAL_MAX)

    def quantize(self, data: np.ndarray) -> np.ndarray:
        """Values (samples, signals) as the file will give them back: a live session fed
        these scores exactly what a later analysis of the file scores."""
        out = np.empty_like(data, dtype=float)
        for k, (gain, pmin) in enumerate(self._scale):
            out[:, k] = (self.digital(k, data[:, k]) - DIGITAL_MIN) / gain + pmin
        return out

    def _write_record(self, chunks: list[np.ndarray]) -> None:
        parts = [self.digital(k, chunk).astype("<i2").tobytes()
                 for k, chunk in enumerate(chunks)]
        parts.append(self._annotation_record())
        self._fh.write(b"".join(parts))
        self.records += 1

    def _annotation_record(self) -> bytes:
        out = tal(self.records * self.record_s)
        while self._pending and len(out) + len(self._pending[0]) <= self.annotation_bytes:
            out += self._pending.pop(0)
        return out.ljust(self.annotation_bytes, b"\x00")

    def flush(self) -> None:
        """Make everything written so far a valid file on disk (record count in the header)."""
        self._fh.flush()
        pos = self._fh.tell()
        self._fh.seek(RECORD_COUNT_OFFSET)
        self._fh.write(_field(self.records, 8))
        self._fh.seek(pos)
        self._fh.flush()
        if self.sync:
            os.fsync(self._fh.fileno())

    @property
    def pending_annotations(self) -> int:
        return len(self._pending)

    def close(self) -> None:
        """Fill the last record (repeating the last values), fix the header, close.

        Filled samples are named in a ``bbfeedback:padding`` annotation, which the readers
        of this package cut off again, and in a ``BAD_ACQ_SKIP`` span for other readers
        (MNE leaves such spans out of ``get_data(reject_by_annotation="omit")``)."""
        if self._fh.closed:
            return
        real_s = self.records * self.record_s + self._buffers[0].size / self.signals[0].fs_hz
        if any(b.size for b in self._buffers) or self._pending:
            self._pending[:0] = self._padding_notes(real_s)
        last = [b[-1] if b.size else v for b, v in zip(self._buffers, self._last, strict=True)]
        while any(b.size for b in self._buffers) or self._pending:
            self._write_record([np.concatenate([b, np.full(n - b.size, v)])
                                for b, n, v in zip(self._buffers, self.per_record, last,
                                                   strict=True)])
            self._buffers = [np.empty(0) for _ in self.signals]
        self.flush()
        self._fh.close()

    def _padding_notes(self, real_s: float) -> list[bytes]:
        """The two notes marking the fill from ``real_s`` to the end of the records that
        still have to be written (enough to carry every pending annotation)."""
        n = 1
        while True:
            skip_s = round((self.records + n) * self.record_s - real_s, 6)
            notes = [tal(real_s, encode("padding", {"from_s": round(real_s, 6)})[0])]
            if skip_s > 0:
                notes.append(tal(real_s, "BAD_ACQ_SKIP", skip_s))
            needed = self._records_to_hold(notes + self._pending)
            if needed <= n:
                return notes
            n = needed

    def _records_to_hold(self, entries: list[bytes]) -> int:
        """How many records the annotation channel needs for these entries (as written by
        ``_annotation_record``)."""
        n, i = 0, 0
        while True:
            size = len(tal((self.records + n) * self.record_s))
            n += 1
            while i < len(entries) and size + len(entries[i]) <= self.annotation_bytes:
                size += len(entries[i])
                i += 1
            if i == len(entries):
                return n

    def __enter__(self) -> EdfPlusWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
