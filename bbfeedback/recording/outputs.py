"""Files we write: checked before any work starts, private (0600), never through a symlink,
never over an existing file unless asked (``--force``), and whole or not at all (written to a
temporary name beside the target, then renamed)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from bbfeedback.errors import InputError, WriteFailed


def check_output(out: str | Path, force: bool = False, inputs: tuple = ()) -> Path:
    """The output path, or one line saying why it cannot be written."""
    path = Path(out)
    if path.is_symlink():
        raise InputError("is a symbolic link; give the real path", path)
    if path.is_dir():
        raise InputError("is a folder; give a file name", path)
    parent = path.parent
    if not parent.is_dir():
        raise InputError("folder does not exist", parent)
    if not os.access(parent, os.W_OK):
        raise InputError("folder is not writable", parent)
    for src in inputs:
        if path.exists() and Path(src).exists() and os.path.samefile(path, src):
            raise InputError("is the input file; give a new name", path)
    if path.exists() and not force:
        raise InputError("exists already; give another name or --force", path)
    if path.exists() and not path.is_file():
        raise InputError("is not a regular file", path)
    if path.exists():
        _not_being_recorded(path)
    return path


def _not_being_recorded(path: Path) -> None:
    """``--force`` never replaces a recording still being written (by any of its names: the
    writer's lock) or its in-progress marker: the recorder would go on writing into a file
    no name leads to, and say it saved it."""
    from bbfeedback.recording.edf_writer import held
    from bbfeedback.recording.repair import MARKER_SUFFIX, recording_now

    if held(path) or recording_now(path) is not None:
        raise InputError("is a recording still being made; give another name", path)
    if path.name.endswith(MARKER_SUFFIX):
        raise InputError("is the in-progress marker of a recording; give another name", path)


def check_folder(folder: str | Path) -> Path:
    """A folder outputs go into, made if missing, or one line saying why it cannot be."""
    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise InputError("is not a folder", path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot make the folder ({exc.strerror or exc})", path) from None
    if not os.access(path, os.W_OK):
        raise InputError("folder is not writable", path)
    return path


def write_private(out: str | Path, data: bytes | str | Iterable[bytes], force: bool = False,
                  inputs: tuple = ()) -> Path:
    """Write a whole file (0600) via a temporary name; the target appears complete or not.
    ``data`` may be an iterable of byte chunks, so a large copy is never held in memory."""
    path = check_output(out, force, inputs)
    if isinstance(data, str):
        data = data.encode("utf-8")
    chunks = (data,) if isinstance(data, bytes | bytearray) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)  # replaces a link itself, never writes through it
    except OSError as exc:  # the disk refused it (full, a quota): exit 4, nothing half
        Path(tmp).unlink(missing_ok=True)
        raise WriteFailed(f"cannot write ({exc.strerror or exc}); nothing was written",
                          path) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def create_exclusive(path: str | Path, force: bool = False) -> int:
    """A file descriptor for a new private file (incremental writers): O_EXCL unless
    ``force``, never following a symlink."""
    path = check_output(path, force)
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | (os.O_TRUNC if force else os.O_EXCL)
    try:
        return os.open(path, flags, 0o600)
    except OSError as exc:
        raise InputError(f"cannot create ({exc.strerror or exc})", path) from None
