"""The EDF/BDF header: the one place its fixed-width fields are read and written.

An EDF header is 256 bytes of fixed fields followed by 256 bytes per signal, stored field by
field (all labels, then all transducers, ...), every field ASCII padded with spaces (EDF
1992, section 2; EDF+ 2003 adds the "EDF+C" reserved field and the "EDF Annotations"
signal; BDF starts with byte 0xFF and stores 3-byte samples). Every module that needs the
header - the reader's length check, recovery, anonymisation, BIDS export, the history's
signal hash, the writer - asks here, so each byte offset is written once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

FIXED_BYTES = 256  # the header's fixed part; also the size of one signal's part
# the fixed part: field -> (offset, width)
FIELDS: dict[str, tuple[int, int]] = {
    "version": (0, 8), "patient": (8, 80), "recording": (88, 80), "startdate": (168, 8),
    "starttime": (176, 8), "header_bytes": (184, 8), "reserved": (192, 44),
    "records": (236, 8), "record_s": (244, 8), "ns": (252, 4),
}
# the signal part, in file order: field -> width (each stored for all signals in turn)
SIGNAL_FIELDS: dict[str, int] = {
    "label": 16, "transducer": 80, "unit": 8, "physical_min": 8, "physical_max": 8,
    "digital_min": 8, "digital_max": 8, "prefilter": 80, "samples": 8, "reserved": 32,
}
ANNOTATION_LABELS = (b"EDF Annotations", b"BDF Annotations")
STILL_RECORDING = -1  # the record count while a file is written (EDF: "unknown")


class HeaderError(ValueError):
    """A header that does not describe a readable EDF/BDF file; the text says which part."""


class TooShort(HeaderError):
    """Fewer bytes than a header's fixed part: no EDF file at all (recovery says so)."""


def field_slice(name: str) -> slice:
    """Where a fixed field lies in the header."""
    offset, width = FIELDS[name]
    return slice(offset, offset + width)


def signal_slice(name: str, i: int, ns: int) -> slice:
    """Where signal ``i``'s field ``name`` lies in a header of ``ns`` signals."""
    offset = FIXED_BYTES
    for key, width in SIGNAL_FIELDS.items():
        if key == name:
            start = offset + width * i
            return slice(start, start + width)
        offset += width * ns
    raise KeyError(name)


def encode(value: object, width: int) -> bytes:
    """A field's bytes: ASCII (anything else as '?'), cut to its width, padded with spaces."""
    return str(value).encode("ascii", "replace")[:width].ljust(width, b" ")


def number(value: float, width: int = 8) -> str:
    """A number in at most ``width`` characters, as precise as fits (physical range,
    record duration)."""
    for digits in range(6, -1, -1):
        text = f"{value:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:.0f}"
        if len(text) <= width:
            return text
    raise ValueError(f"{value} does not fit an EDF header field")


@dataclass(frozen=True)
class SignalHeader:
    """One signal's fields as text (numbers that the reader converts stay text here)."""

    label: str
    transducer: str
    unit: str
    prefilter: str
    samples: int  # samples per data record

    @property
    def is_annotations(self) -> bool:
        return self.label.encode("latin-1") in ANNOTATION_LABELS


@dataclass(frozen=True)
class Header:
    """A parsed header and its raw bytes (which anonymisation edits in place)."""

    raw: bytes
    header_bytes: int
    records: int  # as the header says: STILL_RECORDING while a writer has it
    record_s: float  # NaN when the field does not read as a number
    signals: tuple[SignalHeader, ...]

    @property
    def ns(self) -> int:
        return len(self.signals)

    @property
    def bdf(self) -> bool:
        return self.raw[:1] == b"\xff"

    @property
    def sample_bytes(self) -> int:
        return 3 if self.bdf else 2

    @property
    def record_bytes(self) -> int:
        return sum(s.samples for s in self.signals) * self.sample_bytes

    def text(self, name: str) -> str:
        """A fixed field as text, spaces stripped."""
        return self.raw[field_slice(name)].decode("latin-1").strip()

    def slots(self) -> tuple[tuple[int, int], ...]:
        """(offset, length) within a data record of every annotation signal."""
        out, at = [], 0
        for s in self.signals:
            size = s.samples * self.sample_bytes
            if s.is_annotations:
                out.append((at, size))
            at += size
        return tuple(out)

    def annotation_slot(self) -> tuple[int, int] | None:
        """(offset, length) of the first annotation signal in a record, or None."""
        slots = self.slots()
        return slots[0] if slots else None


def _int(raw: bytes, what: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise HeaderError(f"header unreadable: {what}") from None


def parse(head: bytes) -> Header:
    """A header from its bytes (at least the fixed part and every signal's part)."""
    if len(head) < FIXED_BYTES:
        raise TooShort("too short to be an EDF file")
    ns = _int(head[field_slice("ns")], "number of signals")
    header_bytes = _int(head[field_slice("header_bytes")], "header size")
    records = _int(head[field_slice("records")], "record count")
    if ns < 1 or header_bytes != FIXED_BYTES * (ns + 1):
        raise HeaderError("header size wrong")
    if len(head) < header_bytes:
        raise HeaderError("header cut off")
    try:
        record_s = float(head[field_slice("record_s")])
    except ValueError:
        record_s = math.nan

    def text(name: str, i: int) -> str:
        return head[signal_slice(name, i, ns)].decode("latin-1").strip()

    signals = tuple(SignalHeader(text("label", i), text("transducer", i), text("unit", i),
                                 text("prefilter", i),
                                 _int(head[signal_slice("samples", i, ns)], "samples per record"))
                    for i in range(ns))
    if min(s.samples for s in signals) < 1:
        raise HeaderError("a signal has no samples per record")
    return Header(bytes(head[:header_bytes]), header_bytes, records, record_s, signals)


def read(source: Path | BinaryIO) -> Header:
    """The header of a file (a path, or an open binary file read from its start)."""
    if isinstance(source, Path):
        with source.open("rb") as fh:
            return read(fh)
    head = source.read(FIXED_BYTES)
    if len(head) == FIXED_BYTES:
        ns = _int(head[field_slice("ns")], "number of signals")
        if ns > 0:
            head += source.read(FIXED_BYTES * ns)
    return parse(head)


def set_field(raw: bytearray, name: str, value: object) -> None:
    """Put ``value`` into the fixed field ``name`` of a header's bytes, at its width."""
    raw[field_slice(name)] = encode(value, FIELDS[name][1])


def with_record_count(raw: bytes, records: int) -> bytes:
    """The header with its record count replaced (a recovered copy)."""
    out = bytearray(raw)
    set_field(out, "records", records)
    return bytes(out)


def write_record_count(fh: BinaryIO, records: int) -> None:
    """Rewrite the record count of the open file ``fh`` in place (the writer's close, an
    in-place recovery); the file position is left where it was."""
    pos = fh.tell()
    offset, width = FIELDS["records"]
    fh.seek(offset)
    fh.write(encode(records, width))
    fh.seek(pos)


def build(patient: str, recording: str, startdate: str, starttime: str, reserved: str,
          record_s: float, columns: dict[str, list[object]]) -> bytes:
    """A header with the record count still STILL_RECORDING; ``columns`` gives every signal
    field of SIGNAL_FIELDS, one value per signal."""
    ns = len(columns["label"])
    head = b"".join([
        encode("0", 8), encode(patient, 80), encode(recording, 80), encode(startdate, 8),
        encode(starttime, 8), encode(FIXED_BYTES * (ns + 1), 8), encode(reserved, 44),
        encode(STILL_RECORDING, 8), encode(number(record_s), 8), encode(ns, 4),
    ])
    return head + b"".join(encode(v, width) for name, width in SIGNAL_FIELDS.items()
                           for v in columns[name])
