"""Text for the terminal: what a user or a file gave (a path, a channel name, an annotation)
is shown, never acted on. A file named ``"\\x1b]0;owned\\x07.edf"`` would otherwise set the
terminal's title (or worse) when a line names it."""

from __future__ import annotations

# shown as \u202e: they reorder what the terminal shows (a name that reads as another)
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _escaped(ch: str) -> str:
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8 (surrogateescape): as \xff
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x20 or 0x7F <= code <= 0x9F:  # C0, DEL, C1 controls: \x1b, \n, \t
        return repr(ch)[1:-1]
    if ch in _BIDI or 0xD800 <= code <= 0xDFFF:  # bidi controls, other lone surrogates
        return f"\\u{code:04x}"
    return ch


def shown(text: object, lines: bool = False) -> str:
    """``text`` as the terminal may show it: control characters (C0, DEL, C1: escape
    sequences, a newline in a file name), bidi controls and bytes that are not UTF-8 written
    out as ``\\x1b``, ``\\n``, ``\\u202e``, ``\\xff``. ``lines``: a text of several lines (a
    table) keeps its line breaks, each line shown so."""
    text = str(text)
    if lines:
        return "\n".join(shown(line) for line in text.split("\n"))
    if text.isprintable() and text.isascii():  # the usual case, at once
        return text
    return "".join(_escaped(ch) for ch in text)
