"""The window's language: the system locale picks the default; every word is in the one
catalogue, ``bbfeedback.texts`` (``GUI``)."""

from __future__ import annotations

from bbfeedback import texts as words
from bbfeedback.texts import system_language  # noqa: F401  (the window's default)

POSTURES = ("lying", "sitting", "standing")  # a session's postures (words: texts.POSTURES)


def tr(key: str, lang: str) -> str:
    """A word of the window, from the one catalogue (``bbfeedback.texts``)."""
    return words.text(key, lang)


def posture(key: str, lang: str) -> str:
    return words.posture(key, lang)
