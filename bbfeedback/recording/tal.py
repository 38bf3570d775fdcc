"""EDF+ annotations read record by record, for a file whose annotation channel is damaged.

EDFlib refuses a whole file when one time-stamped annotation list (TAL) is malformed; the
signal is the source of truth, so we then read the signals without annotations and take
the TALs that still parse from the raw bytes, leaving out (and counting) the damaged ones.
A TAL is ``+onset[\\x15duration]\\x14text\\x14[text\\x14...]\\x00`` (EDF+ spec, section 2.2).
"""

from __future__ import annotations

import re
from pathlib import Path

from bbfeedback.errors import InputError

_TAL = re.compile(rb"^([+-]\d+(?:\.\d+)?)(?:\x15(\d+(?:\.\d+)?))?\x14(.*)\x14$", re.S)
LABELS = (b"EDF Annotations", b"BDF Annotations")


def read_tals(path: Path) -> tuple[list[tuple[float, float, str]], int]:
    """((onset_s, duration_s, text) of every TAL that parses, number of damaged TALs)."""
    with path.open("rb") as fh:
        head = fh.read(256)
        try:
            ns = int(head[252:256])
            records = int(head[236:244])
        except ValueError:
            raise InputError("header unreadable", path) from None
        head += fh.read(256 * ns)
        layout = annotation_layout(head, ns)
        if layout is None:
            return [], 0
        header_bytes, record_bytes, start, length = layout
        found, damaged = [], 0
        for r in range(max(records, 0)):
            fh.seek(header_bytes + r * record_bytes + start)
            chunk = fh.read(length)
            if len(chunk) < length:
                break
            got, bad = _parse(chunk)
            found += got
            damaged += bad
    return found, damaged


STILL_RECORDING = -1  # the header's record count while a file is written (EDF: "unknown")


def not_closed(path: Path) -> InputError:
    """The one line for a file whose header still says "still recording" (record count -1):
    its recorder is writing it, or stopped without closing it - also when it is reached by a
    hard link or a copy, which have no in-progress marker beside them."""
    return InputError("was not closed: its header says it is still being recorded (it is, or "
                      f"its recorder stopped); run `bbfeedback recover {path}`", path)


def read_layout(path: Path) -> tuple[int, int, int] | None:
    """(header bytes, bytes per data record, record count) from an EDF/BDF header, or None
    when the header does not parse."""
    with path.open("rb") as fh:
        head = fh.read(256)
        try:
            ns = int(head[252:256])
            head += fh.read(256 * ns)
            off = 256 + ns * 216
            samples = [int(head[off + 8 * i: off + 8 * i + 8]) for i in range(ns)]
            header_bytes, records = int(head[184:192]), int(head[236:244])
        except (ValueError, IndexError):
            return None
    if ns <= 0 or header_bytes != 256 * (ns + 1) or min(samples, default=0) < 1:
        return None
    return header_bytes, sum(samples) * (3 if head[0] == 0xFF else 2), records


def annotation_layout(head: bytes, ns: int) -> tuple[int, int, int, int] | None:
    """(header bytes, record bytes, offset and length of the annotation channel in a
    record), or None when the file has no annotation channel."""
    try:
        width = 3 if head[0] == 0xFF else 2
        labels = [head[256 + 16 * i: 272 + 16 * i].strip() for i in range(ns)]
        off = 256 + ns * 216
        samples = [int(head[off + 8 * i: off + 8 * i + 8]) for i in range(ns)]
    except ValueError:
        return None
    hits = [i for i, label in enumerate(labels) if label in LABELS]
    if not hits:
        return None
    k = hits[0]
    return 256 * (ns + 1), sum(samples) * width, sum(samples[:k]) * width, samples[k] * width


def _parse(chunk: bytes) -> tuple[list[tuple[float, float, str]], int]:
    out, damaged = [], 0
    for tal in chunk.split(b"\x14\x00"):
        tal = tal.strip(b"\x00")
        if not tal:
            continue
        m = _TAL.match(tal + b"\x14")
        if not m:
            damaged += 1
            continue
        onset, duration = float(m[1]), float(m[2] or 0)
        for text in m[3].split(b"\x14"):
            if text:
                try:
                    out.append((onset, duration, text.decode("utf-8")))
                except UnicodeDecodeError:
                    damaged += 1
    return out, damaged
