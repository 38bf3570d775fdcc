"""The one codec for bbfeedback's EDF+ annotations: every writer and reader goes through here.

Texts:
- ``bbfeedback:<key> <json>`` for settings, device, calibration, posture, gap, contraction,
  rep, summary, padding and connection events (``disconnected``, ``reconnected``, ...);
- ``bbfeedback:gaps <json>``: the lost samples the recorder filled in one data record, in
  the record itself (``encode_gaps``): ``{"fs_hz", "from", "lost", "runs": [[offset,
  count], ...]}`` or, shorter for many, ``{..., "n", "mask"}`` (base64 of one bit per sample
  of the record, least significant bit first). Read back as the ``gap`` values
  ``{"t_s", "lost_samples"}`` that older files carry one annotation each (still read), runs
  that continue across records joined;
- ``cue:<kind>:<cue> rep=N`` for the protocol's cues (``calib:`` during the calibration);
- a long one is cut into ``bbfeedback:part <key> <crc> <i>/<n> <chunk>`` annotations at the
  same onset: EDFlib (pyedflib) returns at most 512 bytes of an annotation, so no part is
  longer than ``PART_BYTES``; edfio and MNE read any length. The CRC-32 of the whole text
  checks the parts fit together.

Reading never fails on a damaged annotation: the signal is the source of truth, so a text
that does not decode, or whose value breaks its key's model (``schemas``), is ignored and
named in ``Meta.warnings``; what ``Meta`` holds is checked, and readers trust it.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from bbfeedback.recording.schemas import MAX_RATE_HZ, problem

PREFIX = "bbfeedback:"
PART_BYTES = 400  # EDFlib cuts annotations at 512 bytes
_PART = re.compile(r"^bbfeedback:part (\w+) ([0-9a-f]{8}) (\d{1,9})/(\d{1,9}) (.*)$", re.S)
_CUE = re.compile(r"^(cue|calib):(\w+):([\w-]+)(?: rep=(\d{1,9}))?$")


def finite(value: object) -> object:
    """The value with NaN and infinities as null: JSON has no NaN."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def encode(key: str, value: object) -> list[str]:
    """The annotation texts carrying one value (one text, or its numbered parts)."""
    text = f"{PREFIX}{key} " + json.dumps(finite(value), ensure_ascii=False, allow_nan=False)
    if len(text.encode("utf-8")) <= PART_BYTES:
        return [text]
    body = text[len(PREFIX) + len(key) + 1:]
    crc = f"{zlib.crc32(body.encode('utf-8')):08x}"
    chunks = _chunks(body, PART_BYTES - 40 - len(key))
    return [f"{PREFIX}part {key} {crc} {i}/{len(chunks)} {c}"
            for i, c in enumerate(chunks, start=1)]


def encode_gaps(fs_hz: float, first: int, n: int, runs: list[list[int]]) -> list[str]:
    """The ``bbfeedback:gaps`` texts of one data record of ``n`` samples from sample
    ``first``: ``runs`` of filled samples as [offset in the record, count], in order. The
    shorter of a run list and a bit mask, so that its size has a bound (every other sample
    lost) for which the writer keeps room in every record."""
    lost = sum(c for _, c in runs)
    head = {"fs_hz": fs_hz, "from": first, "lost": lost}
    listed = {**head, "runs": runs}
    bits = np.zeros(n, dtype=bool)
    for at, count in runs:
        bits[at:at + count] = True
    mask = base64.b64encode(np.packbits(bits, bitorder="little").tobytes()).decode()
    masked = {**head, "n": n, "mask": mask}
    short = min((listed, masked), key=lambda v: len(json.dumps(v)))
    return encode("gaps", short)


def _gap_runs(value: object) -> list[tuple[int, int]] | str:
    """[(first sample, count)] of a ``bbfeedback:gaps`` value, or why it is damaged."""
    if not isinstance(value, dict):
        return "holds no object"
    fs, first, lost = value.get("fs_hz"), value.get("from"), value.get("lost")
    if isinstance(fs, bool) or not isinstance(fs, int | float) or not (
            math.isfinite(fs) and 0 < fs <= MAX_RATE_HZ):
        return "fs_hz: not a sample rate"
    if not _count(first, 0) or not _count(lost, 1):
        return "from, lost: not counts"
    if "mask" in value:
        n, mask = value.get("n"), value.get("mask")
        if not _count(n, 1) or not isinstance(mask, str):
            return "n, mask: not a count and a text"
        try:
            raw = base64.b64decode(mask, validate=True)
        except (binascii.Error, ValueError):
            return "mask: not base64"
        if len(raw) != -(-n // 8):
            return "mask: not n bits long"
        bits = np.unpackbits(np.frombuffer(raw, np.uint8), count=n, bitorder="little")
        edges = np.flatnonzero(np.diff(np.r_[0, bits, 0]))
        runs = [(int(a), int(b - a)) for a, b in zip(edges[::2], edges[1::2], strict=True)]
    else:
        got = value.get("runs")
        if not isinstance(got, list) or not all(
                isinstance(r, list) and len(r) == 2 and _count(r[0], 0) and _count(r[1], 1)
                for r in got):
            return "runs: not a list of [offset, count]"
        runs = [(r[0], r[1]) for r in got]
        if any(b[0] < a[0] + a[1] for a, b in zip(runs, runs[1:], strict=False)):
            return "runs: overlap or out of order"
    if sum(c for _, c in runs) != lost:
        return "lost: not the sum of its runs"
    return [(first + at, count) for at, count in runs]


def _count(value: object, least: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and least <= value < 2**53


def _chunks(text: str, max_bytes: int) -> list[str]:
    out, cur, size = [], [], 0
    for ch in text:
        n = len(ch.encode("utf-8"))
        if size + n > max_bytes:
            out.append("".join(cur))
            cur, size = [], 0
        cur.append(ch)
        size += n
    out.append("".join(cur))
    return out


def cue_text(calibration: bool, kind: str, cue: str, rep: int | None) -> str:
    """A cue: ``cue:work:squeeze_max rep=1`` (``calib:`` while calibrating, so re-scoring
    aligns on the protocol's own cues)."""
    tag = "calib" if calibration else "cue"
    return f"{tag}:{kind}:{cue}" + (f" rep={rep}" if rep else "")


@dataclass(frozen=True)
class Cue:
    onset_s: float
    calibration: bool
    kind: str
    cue: str
    rep: int | None


@dataclass
class Meta:
    """What a recording's annotations say about its session."""

    values: dict[str, list] = field(default_factory=dict)  # key -> values in file order
    cues: list[Cue] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    damaged: set[str] = field(default_factory=set)  # keys with a value left out
    _gap_end: tuple[float, int] | None = None  # (rate, sample) where the last ``gaps`` run ended

    def last(self, key: str, default: object = None) -> object:
        got = self.values.get(key)
        return got[-1] if got else default

    def all(self, key: str) -> list:
        return list(self.values.get(key, []))

    @property
    def settings(self) -> dict:
        return self.last("settings") or {}

    def first_work_cue_s(self) -> float | None:
        work = [c.onset_s for c in self.cues if not c.calibration and c.kind == "work"]
        return min(work) if work else None


def decode(annotations: Iterable[tuple[float, str]]) -> Meta:
    """Every bbfeedback annotation of (onset_s, text) pairs, parts joined, each value checked
    against its key's model; the values kept as they were written (plain JSON)."""
    meta = Meta()
    parts: dict[tuple[str, str], dict] = {}
    for onset_s, text in annotations:
        m = _CUE.match(text)
        if m:
            meta.cues.append(Cue(float(onset_s), m[1] == "calib", m[2], m[3],
                                 int(m[4]) if m[4] else None))
        elif (m := _PART.match(text)) and 1 <= int(m[3]) <= int(m[4]):
            got = parts.setdefault((m[1], m[2]), {"n": int(m[4]), "chunks": {}})
            got["chunks"][int(m[3])] = m[5]
            if len(got["chunks"]) == got["n"]:  # complete: in file order of its last part
                _join(meta, m[1], m[2], parts.pop((m[1], m[2])))
        elif text.startswith(PREFIX):
            key, _, body = text[len(PREFIX):].partition(" ")
            _add(meta, key, body)
    for (key, _), got in parts.items():
        _ignore(meta, key, f"is incomplete ({len(got['chunks'])} of {got['n']} parts)")
    return meta


def _ignore(meta: Meta, key: str, why: str) -> None:
    meta.warnings.append(f"annotation {PREFIX}{key} {why}; ignored")
    meta.damaged.add(key)


def _join(meta: Meta, key: str, crc: str, got: dict) -> None:
    body = "".join(got["chunks"].get(i, "") for i in range(1, got["n"] + 1))
    if f"{zlib.crc32(body.encode('utf-8')):08x}" != crc:
        _ignore(meta, key, "is damaged (its parts do not fit together)")
        return
    _add(meta, key, body)


def _add(meta: Meta, key: str, body: str) -> None:
    try:
        value = json.loads(body) if body else {}
    except (ValueError, RecursionError):  # ValueError: also an integer of 5000 digits
        _ignore(meta, key, "is not valid JSON")
        return
    if key == "gaps":
        _add_gaps(meta, value)
        return
    why = problem(key, value)
    if why is not None:
        _ignore(meta, key, f"is damaged ({why})")
        return
    meta.values.setdefault(key, []).append(value)


def _add_gaps(meta: Meta, value: object) -> None:
    """A record's ``gaps`` as ``gap`` values (what readers of every version use), a run that
    goes on from the previous record's last one joined to it (one gap, as it was lost)."""
    runs = _gap_runs(value)
    if isinstance(runs, str):
        _ignore(meta, "gaps", f"is damaged ({runs})")
        return
    fs = float(value["fs_hz"])
    gaps = meta.values.setdefault("gap", [])
    for at, count in runs:
        if meta._gap_end == (fs, at) and gaps:
            gaps[-1]["lost_samples"] += count
        else:
            gaps.append({"t_s": round(at / fs, 6), "lost_samples": count})
        meta._gap_end = (fs, at + count)
