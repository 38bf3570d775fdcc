"""Command-line option types and messages: every wrong value is one line, exit status 2."""

from __future__ import annotations

import argparse
import logging
import math
import sys

from bbfeedback.errors import InputError

DAY_S = 24 * 3600.0


class Parser(argparse.ArgumentParser):
    """argparse that reports a wrong option in one line (no usage dump), worded as every
    other user mistake: ``bbfeedback: error: ...``."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"bbfeedback: error: {message} (see: {self.prog} --help)\n")


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def finite(text: str) -> float:
    value = _number(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number: {text!r}")
    return value


def positive(text: str) -> float:
    value = _number(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number: {text!r}")
    return value


def within(lo: float, hi: float):
    """An argparse type: a finite number from ``lo`` to ``hi`` (bounds that keep memory and
    time sane: a 1e12 s window or a 1e7 Hz rate is a typo, not a wish)."""
    def parse(text: str) -> float:
        value = positive(text) if lo > 0 else finite(text)
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"must be from {lo:g} to {hi:g}: {text!r}")
        return value
    return parse


def seed(text: str) -> int:
    """A random seed: a whole number from 0 to 2**32 - 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number: {text!r}") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must be from 0 to {2**32 - 1}: {text!r}")
    return value


def fraction(text: str) -> float:
    value = finite(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be a fraction between 0 and 1: {text!r}")
    return value


def kinds(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, kind = item.partition("=")
        if not sep or kind not in ("emg", "pressure"):
            raise InputError(f"--kind wants NAME=emg or NAME=pressure, got {item!r}")
        out[name] = kind
    return out


class _OneLine(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"bbfeedback: {record.levelname.lower()}: {record.getMessage()}"


def log_to_stderr() -> None:
    """Warnings (a damaged annotation, ...) as one line each on stderr."""
    logger = logging.getLogger("bbfeedback")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_OneLine())
        logger.addHandler(handler)
        logger.propagate = False
