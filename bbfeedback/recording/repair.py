"""Recovering a recording cut off by a crash, and anonymised copies of EDF files.

A recording in progress has a marker file ``FILE.edf.recording`` beside it (removed when the
file is closed properly). After a crash the header's record count may be stale and the last
record partial: ``recover`` counts the complete records on disk, drops the partial tail and
writes the right count, so every sample up to the crash (within the last record) is kept.
By default the repair goes to a copy (the original stays as the crash left it); a file that
a live recorder still writes is refused. A full disk has no room for a copy, but the repair
itself needs none: the header's record count is rewritten where it is and a partial record
is cut, so there ``recover`` repairs the file in place (``Recovered.in_place``), which keeps
exactly what the copy would have kept.
"""

from __future__ import annotations

import errno
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bbfeedback.errors import InputError, WriteFailed  # noqa: F401 (re-exported)
from bbfeedback.recording import edf_header
from bbfeedback.recording.edf_writer import held
from bbfeedback.recording.outputs import write_private

MARKER_SUFFIX = ".recording"
NO_ROOM = (errno.ENOSPC, errno.EDQUOT)
COPY_MARGIN = 64 * 1024  # a copy is tried only when it leaves this much free beside it



@dataclass(frozen=True)
class Recovered:
    """What ``recover_or_in_place`` did."""

    records: int  # complete data records kept
    cut: int  # bytes of a partial record dropped
    crashed: bool  # anything to recover (a stale header, a partial record, the marker)
    in_place: bool  # repaired in the file itself (asked, or no room for a copy)
    no_room: str = ""  # why a copy could not be made ("" when none was refused)


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
        full = exc.errno in (errno.ENOSPC, errno.EDQUOT)  # the disk refused it: exit 4
        raise (WriteFailed if full else InputError)(f"cannot create ({exc.strerror})",
                                                    marker) from None


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


def real_path(path: str | Path) -> Path:
    """The recording a name stands for: through symbolic links, where its marker is (a
    recording in progress opened by a link to it must be known as in progress)."""
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError):  # a loop of links: as given
        return Path(path)


def recording_now(path: str | Path) -> int | None:
    """The process still writing this recording, if one is (its marker names a live one)."""
    p = real_path(path)
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
    if held(p):  # by a name without the marker beside it (a hard link): the lock says so
        raise InputError("is still being recorded (a recorder holds it open, maybe under "
                         "another name); stop that recording first", p)
    size = p.stat().st_size
    header = _read_header(p)
    header_bytes, record_bytes, count = header.header_bytes, header.record_bytes, header.records
    records = (size - header_bytes) // record_bytes
    tail = size - header_bytes - records * record_bytes
    crashed = marker_path(p).exists() or records != count or tail != 0
    if records == 0 and crashed:
        raise InputError("no complete data record on disk: nothing to recover", p)
    if crashed:
        _check_records(p, header, records)
    if out is not None:
        if crashed:
            write_private(out, _repaired(p, header_bytes, records * record_bytes, records),
                          force, (p,))
        return records, tail, crashed
    if records != count or tail:
        try:  # the count first: should the cut fail, the file reads as its records already
            with p.open("r+b") as fh:
                edf_header.write_record_count(fh, records)
                fh.flush()
                fh.truncate(header_bytes + records * record_bytes)
        except OSError as exc:
            raise WriteFailed(f"cannot repair it in place ({exc.strerror or exc})", p) from None
    remove_marker(p)
    return records, tail, crashed


def recover_or_in_place(path: str | Path, out: str | Path | None, force: bool = False,
                        fall_back: bool = True) -> Recovered:
    """``recover`` to ``out`` (None: in place); when the disk has no room for the copy
    (``COPY_MARGIN`` free after it, or the write fails for lack of space) and ``fall_back``,
    the file is repaired in place instead: that needs no new space and keeps every record the
    copy would have kept. Without ``fall_back`` an ``InputError`` says to use --in-place."""
    if out is None:
        return Recovered(*recover(path, None, force), True)
    p = Path(path)
    no_room = ""
    if p.is_file() and recording_now(p) is None:
        no_room = _no_room_for_copy(p, Path(out))
        if not no_room:
            try:
                return Recovered(*recover(p, out, force), False)
            except InputError as exc:
                cause = exc.__context__
                if not (isinstance(cause, OSError) and cause.errno in NO_ROOM):
                    raise
                no_room = cause.strerror or os.strerror(cause.errno)
    if not no_room:  # (a file that is not there or is still recorded: said by recover)
        return Recovered(*recover(p, out, force), False)
    if not fall_back:
        raise WriteFailed(f"no room for the repaired copy ({no_room}); nothing changed: "
                          "repair the file itself with --in-place, which needs no new space",
                          out)
    records, cut, crashed = recover(p, None, force)
    return Recovered(records, cut, crashed, True, no_room)


def _no_room_for_copy(p: Path, out: Path) -> str:
    """Why the disk holding ``out`` cannot take a copy of ``p`` ("" when it can, as far as
    the file system tells: a quota shows only when written)."""
    try:
        st = os.statvfs(out.parent if str(out.parent) else ".")
        need = p.stat().st_size + COPY_MARGIN
    except OSError:
        return ""
    free = st.f_bavail * st.f_frsize
    if free >= need:
        return ""
    return f"{free // 1024} kB free, the copy needs {need // 1024} kB"


def _check_records(p: Path, header: edf_header.Header, records: int) -> None:
    """Refuse to cut a file whose header does not describe its records: in an EDF+ file,
    the first and the last record kept must each start with their own time stamp."""
    slot = header.annotation_slot()
    if slot is None:
        return  # plain EDF: nothing to check against
    onsets = []
    with p.open("rb") as fh:
        for r in (0, records - 1):
            fh.seek(header.header_bytes + r * header.record_bytes + slot[0])
            m = re.match(rb"[+-](\d+(?:\.\d+)?)\x14\x14", fh.read(32))
            onsets.append(float(m[1]) if m else None)
    if None in onsets or abs(onsets[1] - onsets[0] - (records - 1) * header.record_s) > 1e-3:
        raise InputError("the header does not describe the data records (a record has no "
                         "time stamp where it should); left unchanged", p)


def _read_header(p: Path) -> edf_header.Header:
    try:
        return edf_header.read(p)  # every signal has samples: a record has bytes
    except edf_header.TooShort:
        raise InputError("too short to be an EDF file: nothing to recover", p) from None
    except edf_header.HeaderError as exc:
        raise InputError(f"not an EDF/BDF file ({exc})", p) from None


def _repaired(p: Path, header_bytes: int, data_bytes: int, records: int) -> Iterator[bytes]:
    """The file's complete records, in chunks, behind a header with their true count."""
    with p.open("rb") as fh:
        yield edf_header.with_record_count(fh.read(header_bytes), records)
        left = data_bytes
        while left > 0:
            chunk = fh.read(min(left, 1 << 20))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk

