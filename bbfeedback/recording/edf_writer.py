"""Incremental EDF+ writer: data records appended as samples arrive, annotations of any length.

Why our own writer (pyedflib still reads): EDFlib truncates written annotation texts to 40
characters, too short for calibration, settings and scores; and a session must be written as
it happens. Until the file is closed its header's record count is -1 (EDF: "unknown, still
recording"): every reader of this package refuses such a file, however it was reached (a
hard link or a copy has no in-progress marker beside it), and ``recover`` counts the records
on disk and writes their number - each flush puts every finished record on disk, so a crash
loses at most the record being filled.

Lost samples (``fill``) are named in the very record that holds their fill: one
``bbfeedback:gaps`` annotation per record lists the runs of fill in it (``annotations.
encode_gaps``), in room reserved for the worst case (every other sample lost). So a gap is on
disk no later than its fill, however noisy the link (one annotation per gap used to queue
behind the data: after a crash the fill read as signal, and closing wrote the queue into
padding records that made the file seconds longer than the device's clock). Other readers do
not know that annotation, so the same record also carries ``BAD_ACQ_SKIP`` spans over its
fill (MNE leaves spans whose description starts with "BAD" out of ``get_data(
reject_by_annotation="omit")``): at most ``SKIP_SPANS`` a record, runs close together joined
into one span (which may then cover a little signal, but never leaves fill uncovered); our
own readers use the exact runs.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from bbfeedback.recording import edf_header
from bbfeedback.recording.annotations import encode, encode_gaps
from bbfeedback.recording.outputs import create_exclusive

try:
    import fcntl
except ImportError:  # Windows: no flock
    fcntl = None

ANNOTATION_LABEL = "EDF Annotations"
DIGITAL_MIN, DIGITAL_MAX = -32768, 32767
SKIP = "BAD_ACQ_SKIP"  # MNE's (and EDFbrowser's) word for samples that are not signal
SKIP_SPANS = 16  # ``BAD_ACQ_SKIP`` spans over a record's fill at most (room kept for them)


@dataclass(frozen=True)
class SignalSpec:
    label: str
    unit: str
    fs_hz: float
    physical_min: float
    physical_max: float
    transducer: str = ""
    prefilter: str = ""


def hold(fd: int) -> None:
    """Lock the file being written (``flock``, on the file itself: every name of it, hard
    links too, shows it held; released when the file is closed or the process ends), so that
    ``recover`` never repairs a file a recorder still writes. Where there are no such locks
    the header's record count (-1 until closed) still says the file is not whole."""
    if fcntl is None:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        pass


def held(path: str | Path) -> bool:
    """Whether a writer (of any process) holds the file open (``hold``)."""
    if fcntl is None:
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
    return False


def record_duration_s(rates: list[float]) -> float:
    """Shortest record length (1, 2, 5, 10 ... s) holding a whole number of samples of each."""
    for d in (1, 2, 4, 5, 10, 20, 50, 100):
        if all(abs(fs * d - round(fs * d)) < 1e-6 for fs in rates):
            return float(d)
    return 1.0


def tal(onset_s: float, text: str = "", duration_s: float = 0.0) -> bytes:
    """One Time-stamped Annotation List entry (UTF-8 text)."""
    head = f"{onset_s:+.6f}".rstrip("0").rstrip(".").encode()
    if duration_s > 0:
        head += b"\x15" + edf_header.number(duration_s, 16).encode()
    return head + b"\x14" + text.replace("\x14", " ").encode("utf-8") + b"\x14\x00"


def gap_room(per_record: int, fs_hz: float) -> int:
    """Bytes the ``bbfeedback:gaps`` annotation of one record needs at most (any pattern of
    lost samples in ``per_record`` samples: the bit-mask form, with the longest numbers)."""
    mask_bytes = -(-per_record // 8)
    value = {"fs_hz": fs_hz, "from": 10**12, "lost": per_record, "n": per_record,
             "mask": "A" * (4 * -(-mask_bytes // 3))}  # base64: 4 characters per 3 bytes
    texts = encode("gaps", value)
    spans = SKIP_SPANS * len(tal(1e9 + 0.123456, SKIP, 1e5 + 0.123456))
    return sum(len(tal(1e9 + 0.123456, t)) for t in texts) + spans + 16


def skip_spans(runs: list[list[int]], most: int = SKIP_SPANS) -> list[tuple[int, int]]:
    """[first, end) spans covering every run ([first, count], in order, apart): the runs
    themselves when they are ``most`` or fewer, else joined across the shortest stretches of
    signal between them until ``most`` are left."""
    if not runs:
        return []
    between = [runs[i + 1][0] - (runs[i][0] + runs[i][1]) for i in range(len(runs) - 1)]
    joined = set(sorted(range(len(between)), key=lambda i: (between[i], i))[
        :max(0, len(runs) - most)])
    spans = [[runs[0][0], runs[0][0] + runs[0][1]]]
    for i in range(1, len(runs)):
        a, n = runs[i]
        if i - 1 in joined:
            spans[-1][1] = a + n
        else:
            spans.append([a, a + n])
    return [(a, b) for a, b in spans]


def skip_notes(fs_hz: float, first: int, runs: list[list[int]]) -> list[bytes]:
    """``BAD_ACQ_SKIP`` TALs over the fill of a record starting at sample ``first`` (runs
    in samples from it), each widened to whole microseconds so that a reader rounding times
    to samples never leaves a filled sample out."""
    out = []
    for a, b in skip_spans(runs):
        onset = math.floor((first + a) / fs_hz * 1e6) / 1e6
        end = math.ceil((first + b) / fs_hz * 1e6) / 1e6
        out.append(tal(onset, SKIP, round(end - onset, 6)))
    return out


class EdfPlusWriter:
    """Write an EDF+C file record by record.

    ``annotation_bytes``: the room of each record's annotation channel for annotations
    (cues, scores, ...); the room for the record's time stamp and its gaps comes on top."""

    def __init__(self, path: str | Path, signals: list[SignalSpec], start: datetime,
                 patient: str = "X X X X", recording: str = "X X X bbfeedback",
                 annotation_bytes: int = 4096, sync: bool = True, force: bool = True):
        self.path = Path(path)
        self.signals = signals
        self.start = start
        self.sync = sync
        self.record_s = record_duration_s([s.fs_hz for s in signals])
        self.per_record = [int(round(s.fs_hz * self.record_s)) for s in signals]
        self.room = annotation_bytes  # for annotations other than the time stamp and gaps
        stamp_bytes = 32  # "+100000000.000001\x14\x14\x00" and spare
        total = annotation_bytes + stamp_bytes + gap_room(self.per_record[0],
                                                          signals[0].fs_hz)
        self.annotation_bytes = total + total % 2  # whole 2-byte "samples"
        self.records = 0
        self.filled = 0  # samples of fill written for lost ones (``fill``)
        self._runs: list[list[int]] = []  # [first sample, count] of fill not yet on disk
        self._pending: list[bytes] = []
        self._free = (0, 0)  # (file offset, bytes) of the free room of the last record's TALs
        self._buffers = [np.empty(0) for _ in signals]
        self._last = [0.0 for _ in signals]
        self._scale = [
            ((DIGITAL_MAX - DIGITAL_MIN) / (s.physical_max - s.physical_min), s.physical_min)
            for s in signals
        ]
        fd = create_exclusive(self.path, force)  # 0600, no symlink, new unless forced
        hold(fd)
        self._fh = os.fdopen(fd, "wb")
        self._fh.write(self._header(patient, recording))
        self._fh.flush()

    # --- header ----------------------------------------------------------------------------
    def _header(self, patient: str, recording: str) -> bytes:
        specs = self.signals + [SignalSpec(ANNOTATION_LABEL, "", 0, -1, 1)]
        ns = len(specs)
        start = self.start
        stamp = start.strftime("%d-%b-%Y").upper()
        return edf_header.build(
            patient, f"Startdate {stamp} {recording}", start.strftime("%d.%m.%y"),
            start.strftime("%H.%M.%S"), "EDF+C", self.record_s, {
                "label": [s.label for s in specs], "transducer": [s.transducer for s in specs],
                "unit": [s.unit for s in specs],
                "physical_min": [edf_header.number(s.physical_min) for s in specs],
                "physical_max": [edf_header.number(s.physical_max) for s in specs],
                "digital_min": [DIGITAL_MIN] * ns, "digital_max": [DIGITAL_MAX] * ns,
                "prefilter": [s.prefilter for s in specs],
                "samples": self.per_record + [self.annotation_bytes // 2],
                "reserved": [""] * ns})

    # --- data ------------------------------------------------------------------------------
    def annotate(self, onset_s: float, text: str, duration_s: float = 0.0) -> None:
        entry = tal(onset_s, text, duration_s)
        if len(entry) > self.room:
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

    def fill(self, n: int) -> None:
        """``n`` lost samples: the last values repeated, so the file keeps the device's
        clock, and named in the ``bbfeedback:gaps`` annotation of the record (or records)
        the fill lands in - written with it, so never after it. Needs one sample rate."""
        if n <= 0:
            return
        if len(set(self.per_record)) != 1:
            raise ValueError("fill needs signals of one sample rate")
        at = self.records * self.per_record[0] + self._buffers[0].size
        if self._runs and self._runs[-1][0] + self._runs[-1][1] == at:
            self._runs[-1][1] += n  # right after the last gap: one run
        else:
            self._runs.append([at, n])
        self.filled += n
        self.write([np.full(n, v) for v in self._last])

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
        notes = self._annotation_record()
        at = self._fh.tell() + sum(len(p) for p in parts) + len(notes)
        self._free = (at, self.annotation_bytes - len(notes) - 1)  # one NUL ends the list
        parts.append(notes.ljust(self.annotation_bytes, b"\x00"))
        self._fh.write(b"".join(parts))
        self.records += 1

    def _annotation_record(self) -> bytes:
        out = tal(self.records * self.record_s) + b"".join(self._gap_notes())
        limit = len(out) + self.room
        while self._pending and len(out) + len(self._pending[0]) <= limit:
            out += self._pending.pop(0)
        return out

    def _gap_notes(self) -> list[bytes]:
        """The record being written's ``bbfeedback:gaps`` annotation (the fill in it, in
        samples from its first one); runs reaching into the next record are split there."""
        n = self.per_record[0]
        first = self.records * n
        mine: list[list[int]] = []
        while self._runs and self._runs[0][0] < first + n:
            at, count = self._runs[0]
            inside = min(count, first + n - at)
            mine.append([at - first, inside])
            if inside == count:
                self._runs.pop(0)
            else:
                self._runs[0] = [first + n, count - inside]
        if not mine:
            return []
        onset = self.records * self.record_s
        fs = self.signals[0].fs_hz
        return ([tal(onset, t) for t in encode_gaps(fs, first, n, mine)]
                + skip_notes(fs, first, mine))

    def flush(self) -> None:
        """Put every record written so far on disk. The header's record count stays -1
        (still recording) until ``close``: a file reached while it is written, by any name,
        is never taken for a whole recording (``recover`` makes a cut-off one whole)."""
        self._fh.flush()
        if self.sync:
            os.fsync(self._fh.fileno())

    def _write_count(self) -> None:
        """The record count in the header: the file is whole (``close`` only)."""
        self._fh.flush()
        edf_header.write_record_count(self._fh, self.records)
        self.flush()

    @property
    def pending_annotations(self) -> int:
        return len(self._pending)

    def close(self) -> None:
        """Fill the last record (repeating the last values), fix the header, close.

        Filled samples are named in a ``bbfeedback:padding`` annotation, which the readers
        of this package cut off again, and in a ``BAD_ACQ_SKIP`` span for other readers
        (MNE leaves such spans out of ``get_data(reject_by_annotation="omit")``).
        The annotations still waiting go into the last record and the free room of the one
        before it (file order kept), so the file lasts as long as its signal (rounded up to a
        record); only what does not fit there (more than a record's room, never seen from
        ``record``) gets records of its own."""
        if self._fh.closed:
            return
        real_s = self.records * self.record_s + self._buffers[0].size / self.signals[0].fs_hz
        tail = any(b.size for b in self._buffers)
        if (tail or self._pending) and not self._fits(
                self._notes(real_s, 1) + self._pending if tail else self._pending, tail):
            self._pending[:0] = self._padding_notes(real_s)
        last = [b[-1] if b.size else v for b, v in zip(self._buffers, self._last, strict=True)]
        while any(b.size for b in self._buffers) or self._pending or self._runs:
            self._write_record([np.concatenate([b, np.full(n - b.size, v)])
                                for b, n, v in zip(self._buffers, self.per_record, last,
                                                   strict=True)])
            self._buffers = [np.empty(0) for _ in self.signals]
        self._write_count()
        self._fh.close()

    def _fits(self, entries: list[bytes], tail: bool) -> bool:
        """Whether ``entries`` fit the last record still to write (``tail``) and, before
        them in file order, the free room of the last one written; if so they are placed
        there (the last record's share written in place now, the rest left pending)."""
        room, k = (self.room if tail else 0), len(entries)
        while k > 0 and len(entries[k - 1]) <= room:
            room -= len(entries[k - 1])
            k -= 1
        head = b"".join(entries[:k])
        if head and (self.records == 0 or len(head) > self._free[1]):
            return False
        if head:  # right after that record's last TAL: EDF readers read on to a NUL
            at, free = self._free
            end = self._fh.tell()
            self._fh.seek(at)
            self._fh.write(head)
            self._fh.seek(end)
            self._free = (at + len(head), free - len(head))
        self._pending = entries[k:]
        return True

    def _notes(self, real_s: float, n: int) -> list[bytes]:
        """The notes marking the fill from ``real_s`` to the end of ``n`` more records."""
        skip_s = round((self.records + n) * self.record_s - real_s, 6)
        notes = [tal(real_s, encode("padding", {"from_s": round(real_s, 6)})[0])]
        if skip_s > 0:
            notes.append(tal(real_s, SKIP, skip_s))
        return notes

    def _padding_notes(self, real_s: float) -> list[bytes]:
        """The two notes marking the fill from ``real_s`` to the end of the records that
        still have to be written (enough to carry every pending annotation)."""
        n = 1
        while True:
            notes = self._notes(real_s, n)
            needed = self._records_to_hold(notes + self._pending)
            if needed <= n:
                return notes
            n = needed

    def _records_to_hold(self, entries: list[bytes]) -> int:
        """How many records the annotation channel needs for these entries (as written by
        ``_annotation_record``)."""
        n, i = 0, 0
        while True:
            size = 0  # the room left after the time stamp and gaps
            n += 1
            while i < len(entries) and size + len(entries[i]) <= self.room:
                size += len(entries[i])
                i += 1
            if i == len(entries):
                return n

    def __enter__(self) -> EdfPlusWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
