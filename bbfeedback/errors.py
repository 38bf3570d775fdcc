"""Errors a user can cause; the CLI turns them into one line and exit status 2."""


class InputError(Exception):
    """Bad input (file, unit, option): shown to the user as one line, never a traceback."""

    def __init__(self, message: str, path: object | None = None):
        self.path = path
        super().__init__(f"{path}: {message}" if path is not None else message)
