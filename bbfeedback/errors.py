"""Errors a user can cause; the CLI turns them into one line and exit status 2 (4 for a
disk that refused a write)."""


class InputError(Exception):
    """Bad input (file, unit, option): shown to the user as one line, never a traceback."""

    def __init__(self, message: str, path: object | None = None):
        self.path = path
        self.message = message  # without the path: what ``texts.message`` translates
        super().__init__(f"{path}: {message}" if path is not None else message)


class WriteFailed(InputError):
    """The disk refused a write (full, a quota, an I/O error): one line and exit status 4,
    everything written before kept (``record``, ``recover``, ``history rebuild``; a whole
    file written via a temporary name - ``export``, ``report``, tables - is not left half)."""

    exit_status = 4
