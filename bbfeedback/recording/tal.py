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
from bbfeedback.recording import edf_header

_TAL = re.compile(rb"^([+-]\d+(?:\.\d+)?)(?:\x15(\d+(?:\.\d+)?))?\x14(.*)\x14$", re.S)


def read_tals(path: Path) -> tuple[list[tuple[float, float, str]], int]:
    """((onset_s, duration_s, text) of every TAL that parses, number of damaged TALs)."""
    with path.open("rb") as fh:
        try:
            header = edf_header.read(fh)
        except edf_header.HeaderError as exc:
            raise InputError(str(exc), path) from None
        slot = header.annotation_slot()
        if slot is None:
            return [], 0
        start, length = slot
        found, damaged = [], 0
        for r in range(max(header.records, 0)):
            fh.seek(header.header_bytes + r * header.record_bytes + start)
            chunk = fh.read(length)
            if len(chunk) < length:
                break
            got, bad = _parse(chunk)
            found += got
            damaged += bad
    return found, damaged


def not_closed(path: Path) -> InputError:
    """The one line for a file whose header still says "still recording" (record count -1):
    its recorder is writing it, or stopped without closing it - also when it is reached by a
    hard link or a copy, which have no in-progress marker beside them."""
    return InputError("was not closed: its header says it is still being recorded (it is, or "
                      f"its recorder stopped); run `bbfeedback recover {path}`", path)


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
