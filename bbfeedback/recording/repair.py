"""Recovering a recording cut off by a crash, and anonymised copies of EDF files.

A recording in progress has a marker file ``FILE.edf.recording`` beside it (removed when the
file is closed properly). After a crash the header's record count may be stale and the last
record partial: ``recover`` counts the complete records on disk, drops the partial tail and
writes the right count, so every sample up to the crash (within the last record) is kept.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from bbfeedback.errors import InputError
from bbfeedback.recording.edf_writer import RECORD_COUNT_OFFSET

MARKER_SUFFIX = ".recording"


def marker_path(path: str | Path) -> Path:
    return Path(str(path) + MARKER_SUFFIX)


def write_marker(path: str | Path) -> None:
    try:  # never through a planted link
        fd = os.open(marker_path(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW,
                     0o600)
    except OSError as exc:
        raise InputError(f"cannot create ({exc.strerror})", marker_path(path)) from None
    with os.fdopen(fd, "w") as fh:
        json.dump({"pid": os.getpid()}, fh)


def remove_marker(path: str | Path) -> None:
    try:
        marker_path(path).unlink()
    except FileNotFoundError:
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def unfinished(folder: str | Path) -> list[Path]:
    """Recordings in a folder whose recorder died before closing them."""
    found = []
    for m in sorted(Path(folder).glob(f"*{MARKER_SUFFIX}")):
        try:
            pid = int(json.loads(m.read_text()).get("pid", -1))
        except (OSError, ValueError, AttributeError):
            pid = -1
        if pid <= 0 or not _alive(pid):
            found.append(Path(str(m)[: -len(MARKER_SUFFIX)]))
    return found


def _layout(head: bytes, path: Path) -> tuple[int, int, int]:
    """(header bytes, bytes per data record, record count in the header)."""
    try:
        header_bytes = int(head[184:192])
        ns = int(head[252:256])
        count = int(head[236:244])
        bdf = head[0] == 0xFF
        off = 256 + ns * (16 + 80 + 8 * 5 + 80)  # label .. prefilter, then samples/record
        samples = [int(head[off + 8 * i: off + 8 * i + 8]) for i in range(ns)]
    except ValueError:
        raise InputError("not an EDF/BDF file (header unreadable)", path) from None
    if header_bytes != 256 * (ns + 1) or len(head) < header_bytes:
        raise InputError("not an EDF/BDF file (header size wrong)", path)
    return header_bytes, sum(samples) * (3 if bdf else 2), count


def recover(path: str | Path) -> tuple[int, int, bool]:
    """Make a crashed recording valid: (records kept, bytes of a partial record cut, whether
    anything was left to recover - a stale header or the in-progress marker)."""
    p = Path(path)
    if not p.exists():
        raise InputError("no such file", p)
    size = p.stat().st_size
    with p.open("rb") as fh:
        head = fh.read(256)
        if len(head) < 256:
            raise InputError("too short to be an EDF file: nothing to recover", p)
        ns = int(head[252:256]) if head[252:256].strip().isdigit() else 0
        head += fh.read(256 * ns)
    header_bytes, record_bytes, count = _layout(head, p)
    if record_bytes <= 0:
        raise InputError("no data records in this file: nothing to recover", p)
    records = (size - header_bytes) // record_bytes
    tail = size - header_bytes - records * record_bytes
    if records == count and tail == 0:
        crashed = marker_path(p).exists()
        remove_marker(p)
        return records, 0, crashed
    if records == 0:
        raise InputError("no complete data record on disk: nothing to recover", p)
    with p.open("r+b") as fh:
        fh.truncate(header_bytes + records * record_bytes)
        fh.seek(RECORD_COUNT_OFFSET)
        fh.write(str(records).encode().ljust(8))
    remove_marker(p)
    return records, tail, True


def anonymised(path: str | Path) -> bytes:
    """An EDF/EDF+/BDF's bytes with the identifying header fields blanked (EDF+ style):
    patient 'X X X X', recording 'Startdate X X X X', start date 01.01.85 00.00.00."""
    src = Path(path)
    if not src.is_file():
        raise InputError("no such file" if not src.exists() else "not a regular file", src)
    data = bytearray(src.read_bytes())
    if len(data) < 256:
        raise InputError("too short to be an EDF file", src)
    ns = int(data[252:256]) if data[252:256].strip().isdigit() else -1
    if ns < 0:
        raise InputError("not an EDF/BDF file (header unreadable)", src)
    fields = {8: b"X X X X".ljust(80), 88: b"Startdate X X X X".ljust(80),
              168: b"01.01.85", 176: b"00.00.00"}
    for offset, value in fields.items():
        data[offset:offset + len(value)] = value
    return bytes(data)
