"""Command-line option types and messages: every value is checked by a pydantic type
(finite, positive, in range) and every wrong one is one line, exit status 2."""

from __future__ import annotations

import argparse
import functools
import logging
import sys
from collections.abc import Callable
from typing import Annotated, Any

from bbfeedback import texts
from bbfeedback.app.terminal import shown
from bbfeedback.errors import InputError

DAY_S = 24 * 3600.0


class Parser(argparse.ArgumentParser):
    """argparse that reports a wrong option in one line (no usage dump), worded as every
    other user mistake: ``bbfeedback: error: ...``, in the language of the command line
    (``lang``: set by the CLI before it parses, as options are read before ``--lang`` is)."""

    lang = "en"

    def error(self, message: str) -> None:  # type: ignore[override]
        from bbfeedback import texts

        see = texts.pick(texts.SEE_HELP, self.lang)
        line = texts.error_line(texts.message(message, self.lang), self.lang)
        self.exit(2, f"{shown(line)} ({see}: {self.prog} --help)\n")


@functools.cache
def _adapter(kind: type, limits: tuple) -> Any:
    """A pydantic validator for one option type (built on first use: pydantic is not
    imported by commands that take no such option)."""
    from pydantic import Field, TypeAdapter

    return TypeAdapter(Annotated[kind, Field(allow_inf_nan=False, **dict(limits))])


def _check(text: str, kind: type, wrong: str, **limits: float) -> Any:
    """``text`` converted and checked by pydantic, or one line: ``wrong: 'text'``."""
    from pydantic import ValidationError

    try:
        return _adapter(kind, tuple(sorted(limits.items()))).validate_python(text.strip())
    except ValidationError as exc:
        err = exc.errors()[0]["type"]
        if err in ("float_parsing", "int_parsing", "float_type", "int_type"):
            wrong = "must be a whole number" if kind is int else "not a number"
        shown = text if len(text) <= 40 else f"{text[:40]}…"  # one short line
        raise argparse.ArgumentTypeError(f"{wrong}: {shown!r}") from None


def finite(text: str) -> float:
    return _check(text, float, "must be a finite number")


def positive(text: str) -> float:
    return _check(text, float, "must be a positive number", gt=0)


def within(lo: float, hi: float) -> Callable[[str], float]:
    """An argparse type: a finite number from ``lo`` to ``hi`` (bounds that keep memory and
    time sane: a 1e12 s window or a 1e7 Hz rate is a typo, not a wish)."""
    def parse(text: str) -> float:
        return _check(text, float, f"must be a finite number from {lo:g} to {hi:g}", ge=lo,
                      le=hi)
    return parse


def count(lo: int, hi: int) -> Callable[[str], int]:
    """An argparse type: a whole number from ``lo`` to ``hi``."""
    def parse(text: str) -> int:
        return _check(text, int, f"must be a whole number from {lo} to {hi}", ge=lo, le=hi)
    return parse


def seed(text: str) -> int:
    """A random seed: a whole number from 0 to 2**32 - 1."""
    return _check(text, int, f"must be from 0 to {2**32 - 1}", ge=0, lt=2**32)


def fraction(text: str) -> float:
    return _check(text, float, "must be a fraction between 0 and 1", ge=0, le=1)


def kinds(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, kind = item.partition("=")
        if not sep or kind not in ("emg", "pressure"):
            raise InputError(f"--kind wants NAME=emg or NAME=pressure, got {item!r}")
        out[name] = kind
    return out


class _OneLine(logging.Formatter):
    """A logged line in the command's language (``lang``, set by ``log_to_stderr``)."""

    lang = "en"

    def format(self, record: logging.LogRecord) -> str:
        return shown(texts.level_line(record.levelname.lower(), record.getMessage(),
                                      self.lang))


class _Stderr(logging.StreamHandler):
    """Writes to the ``sys.stderr`` of the moment: the handler stays installed across calls
    of ``main`` (tests, a program embedding the CLI), whose stderr may change."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def log_to_stderr(lang: str = "en") -> None:
    """Warnings (a damaged annotation, ...) as one line each on stderr, in ``lang``."""
    _OneLine.lang = lang
    logger = logging.getLogger("bbfeedback")
    if not logger.handlers:
        handler = _Stderr()
        handler.setFormatter(_OneLine())
        logger.addHandler(handler)
        logger.propagate = False
