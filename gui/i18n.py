"""The window's language: the system locale picks the default; every word is in the one
catalogue, ``bbfeedback.texts`` (``GUI``)."""

from __future__ import annotations

import locale
import os

from bbfeedback import texts as words

POSTURES = ("lying", "sitting", "standing")  # a session's postures (words: texts.POSTURES)


def system_language() -> str:
    """'nl' when the system locale is Dutch, else 'en'."""
    for key in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(key)
        if value:
            return "nl" if value.lower().startswith("nl") else "en"
    code = (locale.getlocale()[0] or "").lower()
    return "nl" if code.startswith("nl") else "en"


def tr(key: str, lang: str) -> str:
    """A word of the window, from the one catalogue (``bbfeedback.texts``)."""
    return words.text(key, lang)


def posture(key: str, lang: str) -> str:
    return words.posture(key, lang)
