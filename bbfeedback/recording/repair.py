"""Recovering a recording cut off by a crash, and anonymised copies of EDF files.

A recording in progress has a marker file ``FILE.edf.recording`` beside it (removed when the
file is closed properly). After a crash the header's record count may be stale and the last
record partial: ``recover`` counts the complete records on disk, drops the partial tail and
writes the right count, so every sample up to the crash (within the last record) is kept.
By default the repair goes to a copy (the original stays as the crash left it); a file that
a live recorder still writes is refused.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

from bbfeedback.errors import InputError
from bbfeedback.recording.edf_writer import RECORD_COUNT_OFFSET
from bbfeedback.recording.outputs import write_private
from bbfeedback.recording.tal import annotation_layout

MARKER_SUFFIX = ".recording"


def marker_path(path: str | Path) -> Path:
    return Path(str(path) + MARKER_SUFFIX)


def write_marker(path: str | Path) -> None:
    """The in-progress marker, whole at once (a temporary name, then renamed): a recorder
    next door must never see it empty, without its pid, and call it a crash."""
    marker = marker_path(path)
    tmp = marker.with_name(f".{marker.name}.{os.getpid()}.tmp")
    try:  # never through a planted link (O_NOFOLLOW; the rename replaces a link itself)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump({"pid": os.getpid()}, fh)
        os.replace(tmp, marker)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot create ({exc.strerror})", marker) from None


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


def _marker_pid(path: Path) -> int:
    """The recorder's process id in a marker (-1 when unreadable)."""
    try:
        return int(json.loads(marker_path(path).read_text()).get("pid", -1))
    except (OSError, ValueError, AttributeError, TypeError):
        return -1


def recording_now(path: str | Path) -> int | None:
    """The process still writing this recording, if one is (its marker names a live one)."""
    p = Path(path)
    if not marker_path(p).exists():
        return None
    pid = _marker_pid(p)
    return pid if pid > 0 and pid != os.getpid() and _alive(pid) else None


def recovered_path(path: str | Path) -> Path:
    """Where ``recover`` puts its copy by default: ``NAME-recovered.edf`` beside it."""
    p = Path(path)
    return p.with_name(f"{p.stem}-recovered{p.suffix}")


def unfinished(folder: str | Path) -> list[Path]:
    """Recordings in a folder whose recorder died before closing them (and that have no
    recovered copy yet). A marker that vanishes while it is looked at belonged to a recorder
    next door that just finished (or gave up): not a crash."""
    found = []
    for m in sorted(Path(folder).glob(f"*{MARKER_SUFFIX}")):
        rec = Path(str(m)[: -len(MARKER_SUFFIX)])
        pid = _marker_pid(rec)
        dead = pid <= 0 or not _alive(pid)
        if dead and m.exists() and not recovered_path(rec).exists():
            found.append(rec)
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
    if min(samples, default=0) < 1:
        raise InputError("not an EDF/BDF file (a signal has no samples per record)", path)
    return header_bytes, sum(samples) * (3 if bdf else 2), count


def recover(path: str | Path, out: str | Path | None = None,
            force: bool = False) -> tuple[int, int, bool]:
    """Make a crashed recording valid: (records kept, bytes of a partial record cut, whether
    anything was left to recover - a stale header or the in-progress marker).

    With ``out`` the repaired recording is written there (0600, whole or not at all) and the
    original is left as it was; without, the file itself is repaired. A recording that a
    live process is still writing is refused."""
    p = Path(path)
    if not p.is_file():
        raise InputError("no such file" if not p.exists() else "not a regular file", p)
    pid = recording_now(p)
    if pid is not None:
        raise InputError(f"is still being recorded (process {pid}); stop that recording "
                         "first", p)
    size = p.stat().st_size
    header_bytes, record_bytes, count = _read_layout(p)
    records = (size - header_bytes) // record_bytes
    tail = size - header_bytes - records * record_bytes
    crashed = marker_path(p).exists() or records != count or tail != 0
    if records == 0 and crashed:
        raise InputError("no complete data record on disk: nothing to recover", p)
    if crashed:
        _check_records(p, records)
    if out is not None:
        if crashed:
            write_private(out, _repaired(p, header_bytes, records * record_bytes, records),
                          force, (p,))
        return records, tail, crashed
    if records != count or tail:
        with p.open("r+b") as fh:
            fh.truncate(header_bytes + records * record_bytes)
            fh.seek(RECORD_COUNT_OFFSET)
            fh.write(str(records).encode().ljust(8))
    remove_marker(p)
    return records, tail, crashed


def _check_records(p: Path, records: int) -> None:
    """Refuse to cut a file whose header does not describe its records: in an EDF+ file,
    the first and the last record kept must each start with their own time stamp."""
    with p.open("rb") as fh:
        head = fh.read(256)
        ns = int(head[252:256])
        duration_s = float(head[244:252])
        layout = annotation_layout(head + fh.read(256 * ns), ns)
        if layout is None:
            return  # plain EDF: nothing to check against
        header_bytes, record_bytes, start, _ = layout
        onsets = []
        for r in (0, records - 1):
            fh.seek(header_bytes + r * record_bytes + start)
            m = re.match(rb"[+-](\d+(?:\.\d+)?)\x14\x14", fh.read(32))
            onsets.append(float(m[1]) if m else None)
    if None in onsets or abs(onsets[1] - onsets[0] - (records - 1) * duration_s) > 1e-3:
        raise InputError("the header does not describe the data records (a record has no "
                         "time stamp where it should); left unchanged", p)


def _read_layout(p: Path) -> tuple[int, int, int]:
    with p.open("rb") as fh:
        head = fh.read(256)
        if len(head) < 256:
            raise InputError("too short to be an EDF file: nothing to recover", p)
        ns = int(head[252:256]) if head[252:256].strip().isdigit() else 0
        head += fh.read(256 * ns)
    header_bytes, record_bytes, count = _layout(head, p)
    if record_bytes <= 0:
        raise InputError("no data records in this file: nothing to recover", p)
    return header_bytes, record_bytes, count


def _repaired(p: Path, header_bytes: int, data_bytes: int, records: int) -> Iterator[bytes]:
    """The file's complete records, in chunks, behind a header with their true count."""
    with p.open("rb") as fh:
        head = bytearray(fh.read(header_bytes))
        head[RECORD_COUNT_OFFSET:RECORD_COUNT_OFFSET + 8] = str(records).encode().ljust(8)
        yield bytes(head)
        left = data_bytes
        while left > 0:
            chunk = fh.read(min(left, 1 << 20))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk


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
