"""Test only: a disk that fills up, without root (``tests/test_full_disk.py``).

Put this folder first on a child process's ``PYTHONPATH``; Python imports it at start-up. Files
under ``BBFEEDBACK_TEST_FULL_DIR`` that are opened for writing through ``open``/``io.open``/
``os.fdopen``/``Path.open`` (every writer of bbfeedback) get a raw file whose writes may grow
the files of that folder by at most ``BBFEEDBACK_TEST_FULL_BYTES`` bytes in all (this process).
As on a real full disk: a write that does not fit is cut where the space ends (a short write),
the next one raises ``OSError(ENOSPC)``; overwriting bytes already in a file and truncating
need no space (truncating gives it back). ``BBFEEDBACK_TEST_FULL_DB_PAGES`` caps SQLite
databases under the folder at that many pages (``PRAGMA max_page_count``), so SQLite says
"database or disk is full" (SQLITE_FULL) as on a full disk.
"""

from __future__ import annotations

import errno
import io
import os
import sqlite3

_DIR = os.environ.get("BBFEEDBACK_TEST_FULL_DIR")
_left = [int(os.environ.get("BBFEEDBACK_TEST_FULL_BYTES", "0"))]
_PAGES = os.environ.get("BBFEEDBACK_TEST_FULL_DB_PAGES")
_open = io.open
_connect = sqlite3.connect


def _under(path: object) -> bool:
    """Whether ``path`` (a name or a file descriptor) is a file in the full folder."""
    try:
        if isinstance(path, int):
            path = os.readlink(f"/proc/self/fd/{path}")
        real = os.path.realpath(os.fsdecode(path))
    except (OSError, TypeError, ValueError):
        return False
    return real.startswith(os.path.realpath(_DIR) + os.sep)


class _FullRaw(io.RawIOBase):
    """A raw file whose growth is taken from the folder's space left."""

    def __init__(self, raw: io.FileIO):
        super().__init__()
        self._raw = raw
        self.name = raw.name
        self.mode = raw.mode

    def readable(self) -> bool:
        return self._raw.readable()

    def writable(self) -> bool:
        return self._raw.writable()

    def seekable(self) -> bool:
        return self._raw.seekable()

    def fileno(self) -> int:
        return self._raw.fileno()

    def isatty(self) -> bool:
        return False

    def readinto(self, buffer) -> int:
        return self._raw.readinto(buffer)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()

    def truncate(self, size: int | None = None) -> int:
        before = os.fstat(self.fileno()).st_size
        got = self._raw.truncate(size)
        _left[0] += max(0, before - got)
        return got

    def write(self, data) -> int:
        data = memoryview(data).cast("B")
        pos = self._raw.tell()
        if "a" in self.mode:
            pos = os.fstat(self.fileno()).st_size
        size = os.fstat(self.fileno()).st_size
        growth = max(0, pos + len(data) - size)
        fits = len(data) - max(0, growth - _left[0])
        if fits <= 0 and len(data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        done = self._raw.write(data[:fits])
        _left[0] -= max(0, pos + done - size)
        return done

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


def _full_open(file, mode="r", buffering=-1, encoding=None, errors=None, newline=None,
               closefd=True, opener=None):
    writing = any(c in mode for c in "wax+")
    if not writing or not _under(file):
        return _open(file, mode, buffering, encoding, errors, newline, closefd, opener)
    binary = mode.replace("t", "") + ("b" if "b" not in mode else "")
    raw = _FullRaw(_open(file, binary, 0, None, None, None, closefd, opener))
    if "+" in mode:
        buffered = io.BufferedRandom(raw)
    elif "r" in mode:
        buffered = io.BufferedReader(raw)
    else:
        buffered = io.BufferedWriter(raw)
    if "b" in mode:
        return buffered
    return io.TextIOWrapper(buffered, encoding, errors, newline)


def _full_connect(database, *args, **kwargs):
    con = _connect(database, *args, **kwargs)
    if _PAGES is not None and _under(database):
        con.execute(f"PRAGMA max_page_count = {int(_PAGES)}")
    return con


if _DIR:
    import builtins

    io.open = builtins.open = _full_open
    sqlite3.connect = _full_connect
