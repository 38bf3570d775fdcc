"""Copies of EDF/BDF recordings to share: streamed, and with ``anonymise`` every free-text
field removed, with a list of what was kept and why.

Why streamed: a copy used to be the whole file in memory (3.9 GB for a 4 GB EDF, twice that
anonymised). Here the file goes through in chunks of about ``CHUNK`` bytes; only the header
and the annotation channel of each data record are rewritten, so the peak memory does not
depend on the file's size (``benchmarks/bench_export_memory.py``).

Why every field: blanking the patient and recording fields was not enough. Annotation texts
("Johanna deVries coughs"), a signal's transducer ("probe SN12345") and prefiltering
("Jansen") are free text a person typed, and a recorder's message may name a port. An
anonymised copy therefore keeps only what is known to be safe:

- header: patient ``X X X X`` (or ``CODE X X X``), recording ``Startdate X X X X``, start
  01.01.85 00.00.00 (EDF+ style); the reserved fields only when they are EDF+/BDF+ markers;
  signal labels and units (the file's structure: they are listed); a transducer reduced to
  generic words (``probe``); a prefiltering field only when it is a standard filter
  description (``HP:0.1Hz LP:500Hz N:50Hz``);
- annotations: bbfeedback's own (``annotations`` codec) are decoded, checked and re-encoded
  with only known fields (numbers, and strings that are one of the values bbfeedback writes
  there: a channel label, a unit, a device, a posture...); cues; ``BAD_ACQ_SKIP``. Any other
  text becomes ``annotation removed`` at the same time, so events stay where they were
  without their words. The protocol a session ran is kept as shipped when it is a bundled
  one; a therapist's own loses its names, descriptions and cue texts (its ids and section
  and cue names, needed to re-score, are kept and listed).

A recording still being written (or cut off by a crash) is refused: a copy of half a file
would look complete.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bbfeedback.errors import InputError
from bbfeedback.recording import edf_header
from bbfeedback.recording.annotations import _CUE, _PART, PREFIX, encode
from bbfeedback.recording.repair import marker_path, real_path, recording_now
from bbfeedback.recording.schemas import problem
from bbfeedback.recording.tal import not_closed

CHUNK = 1 << 20  # bytes read at a time: the copy's memory, whatever the file's size
REMOVED = "annotation removed"
SAFE_TEXTS = frozenset({"BAD_ACQ_SKIP"})  # fixed EDF+/MNE words bbfeedback writes
RESERVED_OK = frozenset({b"", b"EDF+C", b"EDF+D", b"BDF+C", b"BDF+D", b"24BIT"})
_TAL = re.compile(rb"^([+-]\d+(?:\.\d+)?)(\x15\d+(?:\.\d+)?)?\x14(.*)$", re.S)
# a standard EDF prefiltering description: "HP:0.1Hz LP:75Hz N:50Hz", "HP:DC", "none"
_FILTER = re.compile(r"^(?:(?:HP|LP|N|BP|NOTCH):\s?(?:[0-9]+(?:\.[0-9]+)?\s?k?Hz|DC)|none)$",
                     re.I)
# words a transducer field may keep: the kind of sensor, never a maker, a name or a number
GENERIC_TRANSDUCER = frozenset({
    "agagcl", "ag/agcl", "ag-agcl", "active", "anal", "balloon", "bipolar", "catheter",
    "cup", "disposable", "dry", "electrode", "electrodes", "emg", "gel", "intravaginal",
    "intra-anal", "needle", "perianal", "pressure", "probe", "rectal", "sensor", "surface",
    "transducer", "vaginal", "wet",
})
# the strings bbfeedback writes in its own annotations, by field name
UNITS = frozenset({"uV", "µV", "mV", "V", "nV", "cmH2O", "mmHg", "hPa", "mbar", "kPa", "Pa"})
POSTURES = frozenset({"lying", "sitting", "standing"})
PHASE_KINDS = frozenset({"work", "rest", "baseline"})
CALIBRATION_WORDS = frozenset({
    "max", "gentle", "none", "previous", "visit", "session", "session-gentle", "session-rest",
    "session-previous", "session-visit", "estimated", "recorded", "default",
})
_CODE_WORD = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")  # a flag: late_onset
_FIELD = re.compile(r"^[a-z][a-z0-9_]{0,40}$")  # the form of bbfeedback's field names
# the field names bbfeedback writes in its annotations' values besides the schemas' own
# (``schemas``): the session summary's and the scores' further measures
WRITTEN_FIELDS = frozenset({
    "baseline", "by_phase", "by_posture", "endurance_hold_s", "endurance_trend_s",
    "fatigue_by_section", "first_s", "floors_s", "hold_fatigue", "hold_fatigue_by_section",
    "hold_target_s", "holds", "holds_met", "incomplete", "kind", "last_s", "let_go_s",
    "level", "lift", "limit", "marks", "mvc_estimated", "one_more_asked",
    "one_more_confirmed", "pct_mvc", "phase", "planned_reps", "pressure_only",
    "quick_ended", "quick_faded", "quick_reps", "quick_skipped", "quick_skipped_between",
    "ratio", "rest", "rest_level", "rest_ratio", "rest_sd", "rests", "shorter",
    "signal_check", "slope_s_per_rep", "squeezes_agree", "tense", "tense_rests", "weak",
})
MESSAGES = frozenset({"connected", "disconnected", "reconnected", "warning", "error",
                      "stopped", "lost"})  # free-text recorder messages: kept blank
STRUCTURED = frozenset({"settings", "device", "calibration", "summary", "rep", "contraction",
                        "gap", "padding"})


def check_finished(path: str | Path) -> None:
    """One line when a recording is still being written, or was cut off by a crash (its
    in-progress marker is left): a copy of it would look complete and is not."""
    p = Path(path)
    pid = recording_now(p)
    if pid is not None:
        raise InputError(f"is still being recorded (process {pid}); export it when the "
                         "recording has ended", p)
    if marker_path(real_path(p)).exists():
        raise InputError(f"was cut off while being recorded: bbfeedback recover {p} first, "
                         "then export the recovered copy", p)


@dataclass(frozen=True)
class Layout:
    """Where things are in an EDF/BDF file."""

    header: edf_header.Header
    records: int

    @property
    def header_bytes(self) -> int:
        return self.header.header_bytes

    @property
    def record_bytes(self) -> int:
        return self.header.record_bytes

    @property
    def slots(self) -> tuple[tuple[int, int], ...]:  # each annotation signal in a record
        return self.header.slots()


def layout_of(path: Path) -> Layout:
    """The file's layout from its header, or one line: a header that does not describe the
    data records (cut off, or records the header does not count) would make a copy that
    shows a different recording than the file holds."""
    size = path.stat().st_size
    try:
        header = edf_header.read(path)
    except edf_header.HeaderError as exc:
        raise InputError(f"not an EDF/BDF file ({exc})", path) from None
    count = header.records
    records, tail = divmod(size - header.header_bytes, header.record_bytes)
    if count == edf_header.STILL_RECORDING:
        raise not_closed(path)
    if count != records or tail:
        raise InputError(f"its header counts {count} data records but the file holds "
                         f"{records}{' and part of one more' if tail else ''}: "
                         f"bbfeedback recover {path} first", path)
    return Layout(header, records)


@dataclass
class Report:
    """What an anonymised copy kept and why, and what it removed (never the removed
    values themselves: the list may be shared with the copy)."""

    kept: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    cue_names: set[str] = field(default_factory=set)
    dropped_fields: Counter = field(default_factory=Counter)  # "key.field" -> times

    def lines(self) -> list[str]:
        c = self.counts
        kept = list(self.kept)
        if c["bbfeedback"]:
            kept.append(f"{c['bbfeedback']} bbfeedback annotations (settings, device, "
                        "calibration, gaps, scores): decoded, checked and re-encoded with only "
                        "their known fields; needed to re-analyse the session")
        if c["cue"]:
            names = ", ".join(sorted(self.cue_names)) or "-"
            kept.append(f"{c['cue']} cue annotations (cues {names}): the protocol's timeline, "
                        "needed to score it")
        if c["safe"]:
            kept.append(f"{c['safe']} BAD_ACQ_SKIP annotations: the recorder's fill (for "
                        "lost samples, and after the signal's end; a fixed word)")
        removed = list(self.removed)
        if c["removed"]:
            removed.append(f"{c['removed']} annotation texts replaced by '{REMOVED}' (free "
                           "text, or not bbfeedback's known form)")
        if c["message"]:
            removed.append(f"{c['message']} recorder messages (connected, disconnected, ...) "
                           "blanked: free text that may name a port")
        if self.dropped_fields:
            names = ", ".join(f"{k} ({n})" for k, n in sorted(self.dropped_fields.items()))
            removed.append(f"fields of bbfeedback annotations left out: {names} (free text, "
                           "or not a value bbfeedback writes there)")
        if c["damaged"]:
            removed.append(f"{c['damaged']} damaged annotation lists dropped (unreadable)")
        return [f"kept: {k}" for k in kept] + [f"removed: {r}" for r in removed]


def copy_chunks(path: Path) -> Iterator[bytes]:
    """The file's bytes, ``CHUNK`` at a time."""
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            yield chunk


def exported(path: str | Path, anonymise: bool,
             code: str | None = None) -> tuple[Iterator[bytes], Report]:
    """The copy's bytes in chunks (for ``write_private``) and the report of what an
    anonymised copy kept. Checks everything before the first byte: a recording in progress,
    a header that does not describe the data. ``code`` (a pseudonymous code) goes into the
    anonymised patient field."""
    src = Path(path)
    check_finished(src)
    layout = layout_of(src)
    report = Report()
    if not anonymise:
        return copy_chunks(src), report
    header = anonymised_header(layout.header, code, report)
    context = _Context.of(layout.header)
    plan = _plan_parts(src, layout, context, report)
    return _anonymised_chunks(src, layout, header, context, plan, report), report


# --- the header --------------------------------------------------------------------------

def anonymised_header(header: edf_header.Header, code: str | None, report: Report) -> bytes:
    """The header with every free-text field blanked (or reduced), the rest as it was."""
    head, ns = header.raw, header.ns
    out = bytearray(head)

    def blank(where: slice) -> None:
        out[where] = b" " * (where.stop - where.start)

    edf_header.set_field(out, "patient", f"{code} X X X" if code else "X X X X")
    edf_header.set_field(out, "recording", "Startdate X X X X")
    edf_header.set_field(out, "startdate", "01.01.85")
    edf_header.set_field(out, "starttime", "00.00.00")
    report.removed.append("header: patient, recording (admin code, technician, equipment) "
                          "and start date and time blanked (EDF+ style 'X')"
                          + (f"; the patient field holds the code {code}" if code else ""))
    if header.text("reserved").encode("latin-1") not in RESERVED_OK:
        blank(edf_header.field_slice("reserved"))
        report.removed.append("header: reserved field blanked (not an EDF+/BDF+ marker)")

    def sig(name: str, i: int) -> slice:
        return edf_header.signal_slice(name, i, ns)

    labels = [s.label for s in header.signals]
    units = [s.unit if not s.is_annotations else "" for s in header.signals]
    report.kept.append("signal labels " + ", ".join(labels) + " and units "
                       + ", ".join(u or "-" for u in units)
                       + ": the file's structure, needed to read it")
    for i, s in enumerate(header.signals):
        label = s.label
        if s.is_annotations:  # EDF+: its other text fields are blank
            fields = [sig(name, i) for name in ("transducer", "unit", "prefilter", "reserved")]
            if any(head[f].strip() for f in fields):
                for f in fields:
                    blank(f)
                report.removed.append(f"{label}: its transducer, unit, prefiltering and "
                                      "reserved fields blanked (EDF+ leaves them blank)")
            continue
        transducer = s.transducer
        generic = " ".join(w for w in transducer.split() if w.lower() in GENERIC_TRANSDUCER)
        where = sig("transducer", i)
        out[where] = edf_header.encode(generic, where.stop - where.start)
        if generic and generic == transducer:
            report.kept.append(f"transducer of {label}: '{generic}' (generic words only)")
        elif generic:
            report.removed.append(f"transducer of {label} reduced to '{generic}' (only "
                                  "generic words kept)")
        elif transducer:
            report.removed.append(f"transducer of {label} blanked (free text)")
        prefilter = s.prefilter
        if prefilter and all(_FILTER.match(t) for t in _filter_terms(prefilter)):
            report.kept.append(f"prefiltering of {label}: '{prefilter}' (a standard filter "
                               "description)")
        elif prefilter:
            blank(sig("prefilter", i))
            report.removed.append(f"prefiltering of {label} blanked (not a standard filter "
                                  "description)")
        if head[sig("reserved", i)].strip():
            blank(sig("reserved", i))
            report.removed.append(f"reserved field of signal {label} blanked")
    return bytes(out)


def _filter_terms(text: str) -> list[str]:
    """"HP:0.1Hz LP:75Hz" -> ["HP:0.1Hz", "LP:75Hz"] (a space after the colon allowed)."""
    return re.sub(r":\s+", ":", text).replace(",", " ").split()


# --- the annotations ---------------------------------------------------------------------

@dataclass
class _Context:
    """What strings in bbfeedback's annotations may be: this file's labels, the protocols'
    ids, sections and cues."""

    labels: set[str]
    protocol_ids: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)  # section, phase and cue names
    bundled: frozenset[str] = frozenset()  # the names bbfeedback's own protocols use
    # an own protocol's id, section and cue names (typed by a person) -> generic ones,
    # applied wherever bbfeedback's annotations name them
    renamed: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, header: edf_header.Header) -> _Context:
        from bbfeedback.exercise import protocols

        labels = {s.label for s in header.signals}
        ctx = cls(labels, set(protocols.builtin_ids()), set(protocols.CUES))
        for pid in protocols.builtin_ids():
            ctx.add_protocol(protocols.load(pid))
        ctx.bundled = frozenset(ctx.names)
        return ctx

    def generic(self, name: str, stem: str) -> str:
        """The generic name an own protocol's ``name`` gets (``stem-1``, ...), the same
        wherever it appears."""
        if name in self.bundled:
            return name
        if name not in self.renamed:
            taken = set(self.renamed.values()) | self.bundled
            k = 1
            while f"{stem}-{k}" in taken:
                k += 1
            self.renamed[name] = f"{stem}-{k}"
        return self.renamed[name]

    def add_protocol(self, proto: object) -> None:
        self.protocol_ids.add(proto.id)
        for s in proto.sections:
            self.names.add(s.name)
            self.names.update(ph.cue for ph in s.phases)
        self.names.update({"lead-in", "rest"})


def _strings(ctx: _Context) -> dict[str, Callable[[str], bool]]:
    """Per field name: whether a string there is one bbfeedback writes."""
    from bbfeedback.drivers.names import DEVICE_NAMES

    def label(s: str) -> bool:
        return s in ctx.labels

    def name(s: str) -> bool:
        return s in ctx.names

    return {
        "protocol": lambda s: s in ctx.protocol_ids, "id": lambda s: s in ctx.protocol_ids,
        "calibration": lambda s: s in CALIBRATION_WORDS,
        "source": lambda s: s in CALIBRATION_WORDS, "main": label, "accessory": label,
        "channel": label, "unit": lambda s: s in UNITS,
        "name": lambda s: s in DEVICE_NAMES, "posture": lambda s: s in POSTURES,
        "section": name, "phase": name, "cue": name, "kind": lambda s: s in PHASE_KINDS,
        "flags": lambda s: bool(_CODE_WORD.match(s)),
        "marks": lambda s: bool(_CODE_WORD.match(s)),
        "scoring": lambda s: bool(_CODE_WORD.match(s)),
        "quick_ended": lambda s: bool(_CODE_WORD.match(s)),  # how the quick count ended
    }


def _clean(value: object, where: str, ctx: _Context, report: Report, rules: dict,
           key: str) -> object:
    """A JSON value with only what is known: numbers, booleans and null anywhere; strings
    only where bbfeedback writes them and only with a value it writes; object keys that are
    field names (or this file's channel and section names). What is left out is counted."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        check = rules.get(where)
        if check is not None and check(value):
            return ctx.renamed.get(value, value) if where in NAMING else value
        report.dropped_fields[f"{key}.{where}"] += 1
        return _DROP
    if isinstance(value, list):
        items = [_clean(v, where, ctx, report, rules, key) for v in value]
        return [v for v in items if v is not _DROP]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            field_name = k in KNOWN_FIELDS
            if not (field_name or k in ctx.labels or k in ctx.names):
                report.dropped_fields[f"{key}.{k if _FIELD.match(k) else '(a name)'}"] += 1
                continue
            got = _clean(v, k if field_name else where, ctx, report, rules, key)
            if got is not _DROP:
                out[k if field_name else ctx.renamed.get(k, k)] = got
        return out
    return _DROP


_DROP = object()
NAMING = frozenset({"protocol", "id", "section", "phase", "cue"})  # fields that name one
OWN_ID = "own-protocol"  # a therapist's own protocol's id in an anonymised copy


def _model_fields() -> frozenset[str]:
    """Every field name of the annotation models (``schemas``), nested ones included."""
    from pydantic import BaseModel

    from bbfeedback.recording import schemas

    names: set[str] = set()
    for obj in vars(schemas).values():
        if isinstance(obj, type) and issubclass(obj, BaseModel) and obj is not BaseModel:
            names.update(obj.model_fields)
    return frozenset(names)


KNOWN_FIELDS = _model_fields() | WRITTEN_FIELDS


def clean_value(key: str, value: object, ctx: _Context, report: Report) -> object:
    """The value of a ``bbfeedback:<key>`` annotation as an anonymised copy keeps it, or
    ``_DROP``."""
    if key in MESSAGES:
        report.counts["message"] += 1
        return ""
    if key == "posture":
        return value if value in POSTURES else _DROP
    if key == "protocol":
        return _clean_protocol(value, ctx, report) if isinstance(value, str) else _DROP
    if key not in STRUCTURED:
        return _DROP
    got = _clean(value, "", ctx, report, _strings(ctx), key)
    return got if got is not _DROP and problem(key, got) is None else _DROP


def _clean_protocol(text: str, ctx: _Context, report: Report) -> object:
    """A bundled protocol's text as shipped; a therapist's own without its words (names,
    description, source, cue texts: a therapist may have written anything there), re-read
    to be sure it still is a protocol."""
    from dataclasses import replace

    from bbfeedback.exercise import protocols

    try:
        proto = protocols.loads(text, "recorded protocol")
    except InputError:
        report.removed.append("the recorded protocol text (it does not read as a protocol)")
        return _DROP
    if proto.id in protocols.builtin_ids() and replace(proto, path="") == replace(
            protocols.load(proto.id), path=""):  # as shipped, in whichever writer's format
        report.kept.append(f"protocol {proto.id}: bundled with bbfeedback, as shipped")
        return text
    blank = {"nl": "", "en": ""}
    bundled_id = proto.id in protocols.builtin_ids()  # (changed by a therapist)
    ctx.protocol_ids.add(proto.id)  # other annotations name it: renamed there too
    if not bundled_id:
        ctx.renamed[proto.id] = OWN_ID
    postures = 0

    def phase(ph: object) -> object:
        cue = ph.cue if ph.cue in protocols.CUES else ctx.generic(ph.cue, "cue")
        words = protocols.CUES.get(cue, {"nl": cue, "en": cue})
        return replace(ph, cue=cue, cue_nl=words["nl"], cue_en=words["en"])

    def section(s: object) -> object:
        nonlocal postures
        posture = s.posture if s.posture in POSTURES or s.posture is None else None
        postures += posture != s.posture
        return replace(s, name=ctx.generic(s.name, "section"), posture=posture,
                       phases=tuple(phase(p) for p in s.phases))

    for s in proto.sections:  # the originals, so that other annotations naming them pass
        ctx.names.add(s.name)
        ctx.names.update(ph.cue for ph in s.phases)
    sections = tuple(section(s) for s in proto.sections)
    own = replace(proto, id=proto.id if bundled_id else OWN_ID, name=blank,
                  description=blank, source="", sections=sections)
    out = protocols.to_toml(own)
    try:
        protocols.loads(out, "recorded protocol")
    except InputError:
        report.removed.append("the recorded protocol text (it cannot be kept without its "
                              "words)")
        return _DROP
    ctx.add_protocol(own)
    names = sorted({s.name for s in own.sections} | {p.cue for s in own.sections
                                                     for p in s.phases})
    what = f"protocol {own.id}" if bundled_id else f"own protocol (id now {OWN_ID})"
    report.kept.append(f"{what}: its timing, targets and section and cue names ("
                       + ", ".join(names) + "), needed to re-score (names bbfeedback's "
                       "protocols use kept, others replaced by generic ones)")
    report.removed.append("protocol texts: " + ("" if bundled_id else "its id, ")
                          + "names, description, source and cue texts"
                          + (f", {len(ctx.renamed) - (not bundled_id)} section and cue "
                             "names of its own" if len(ctx.renamed) > (not bundled_id) else "")
                          + (f", {postures} posture texts (not lying, sitting or standing)"
                             if postures else "")
                          + " (free text a person wrote)")
    return out


def _tals(slot: bytes) -> tuple[list[tuple[bytes, bytes, list[bytes]]], int]:
    """(onset, duration part, texts) of each TAL in an annotation slot; damaged ones
    counted."""
    out, damaged = [], 0
    for piece in slot.split(b"\x00"):
        if not piece:
            continue
        m = _TAL.match(piece)
        if not m or not m[3].endswith(b"\x14"):
            damaged += 1
            continue
        out.append((m[1], m[2] or b"", m[3][:-1].split(b"\x14")))
    return out, damaged


def _decoded(text: bytes) -> str | None:
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _slots(path: Path, layout: Layout) -> Iterator[bytes]:
    """Each record's annotation slots, read on their own (a few kB at a time)."""
    with path.open("rb") as fh:
        for r in range(layout.records):
            for offset, length in layout.slots:
                fh.seek(layout.header_bytes + r * layout.record_bytes + offset)
                yield fh.read(length)


def _plan_parts(path: Path, layout: Layout, ctx: _Context,
                report: Report) -> dict[tuple[str, str], list[str]]:
    """First pass: the values written in parts (a long value is cut into numbered parts,
    maybe over several records), joined and cleaned; their new texts by (key, crc).
    The protocol first, as its section and cue names are what other values may name."""
    import zlib

    parts: dict[tuple[str, str], dict[int, str]] = {}
    protocol_texts: list[str] = []
    for slot in _slots(path, layout):
        for _, _, texts in _tals(slot)[0]:
            for raw in texts:
                text = _decoded(raw)
                if text is None:
                    continue
                if (m := _PART.match(text)) and 1 <= int(m[3]) <= int(m[4]):
                    parts.setdefault((m[1], m[2]), {"n": int(m[4])})[int(m[3])] = m[5]
                elif text.startswith(f"{PREFIX}protocol "):
                    protocol_texts.append(text)
    whole: dict[tuple[str, str], object] = {}
    for (key, crc), got in parts.items():
        n = got.pop("n")
        body = "".join(got.get(i, "") for i in range(1, n + 1))
        if len(got) != n or f"{zlib.crc32(body.encode('utf-8')):08x}" != crc:
            continue
        try:
            whole[(key, crc)] = json.loads(body)
        except (ValueError, RecursionError):
            continue
    plan: dict[tuple[str, str], list[str]] = {}
    for text in protocol_texts:  # a short protocol in one annotation
        plan[("", text)] = _single(text, ctx, report)
    for kc in sorted(whole, key=lambda kc: kc[0] != "protocol"):  # the protocol first
        plan[kc] = _texts(kc[0], whole[kc], ctx, report)
    return plan


def _texts(key: str, value: object, ctx: _Context, report: Report) -> list[str]:
    """The annotation texts an anonymised copy writes for one value."""
    if problem(key, value) is not None:
        report.counts["removed"] += 1
        return [REMOVED]
    got = clean_value(key, value, ctx, report)
    if got is _DROP:
        report.counts["removed"] += 1
        return [REMOVED]
    if key not in MESSAGES:
        report.counts["bbfeedback"] += 1
    return encode(key, got)


def _single(text: str, ctx: _Context, report: Report) -> list[str]:
    key, _, body = text[len(PREFIX):].partition(" ")
    try:
        value = json.loads(body) if body else {}
    except (ValueError, RecursionError):
        report.counts["removed"] += 1
        return [REMOVED]
    return _texts(key, value, ctx, report)


def _new_texts(text: str, plan: dict, ctx: _Context, report: Report) -> list[str]:
    """What one annotation text becomes in the anonymised copy (none, one or several)."""
    if text in SAFE_TEXTS:
        report.counts["safe"] += 1
        return [text]
    if m := _CUE.match(text):
        if m[2] in PHASE_KINDS and m[3] in ctx.names:
            cue = ctx.renamed.get(m[3], m[3])  # an own protocol's cue: its generic name
            report.counts["cue"] += 1
            report.cue_names.add(cue)
            return [f"{m[1]}:{m[2]}:{cue}" + (f" rep={m[4]}" if m[4] else "")]
        report.counts["removed"] += 1
        return [REMOVED]
    if (m := _PART.match(text)) and 1 <= int(m[3]) <= int(m[4]):
        new = plan.get((m[1], m[2]))
        i, n = int(m[3]), int(m[4])
        if new is None:  # incomplete or damaged: its words go, once
            if i == 1:
                report.counts["removed"] += 1
            return [REMOVED] if i == 1 else []
        return new[i - 1:i] if i < n else new[n - 1:]
    if text.startswith(f"{PREFIX}protocol "):
        return plan.get(("", text), [REMOVED])
    if text.startswith(PREFIX):
        return _single(text, ctx, report)
    report.counts["removed"] += 1
    return [REMOVED]


def _tal(onset: bytes, duration: bytes, texts: list[str]) -> bytes:
    return onset + duration + b"\x14" + b"".join(t.encode("utf-8") + b"\x14"
                                               for t in texts) + b"\x00"


def _anonymised_chunks(path: Path, layout: Layout, header: bytes, ctx: _Context,
                       plan: dict, report: Report) -> Iterator[bytes]:
    """Second pass: the header, then the data records a batch at a time with each
    annotation slot rewritten. A slot whose new texts are longer than the old ones hands
    what does not fit to the next record (an EDF+ annotation may sit in any record)."""
    yield header
    per_batch = max(1, CHUNK // layout.record_bytes)
    waiting: list[list[bytes]] = [[] for _ in layout.slots]
    with path.open("rb") as fh:
        fh.seek(layout.header_bytes)
        done = 0
        while done < layout.records:
            n = min(per_batch, layout.records - done)
            buf = bytearray(fh.read(n * layout.record_bytes))
            if len(buf) < n * layout.record_bytes:
                raise InputError("was cut off while being copied", path)
            for r in range(n):
                base = r * layout.record_bytes
                for k, (offset, length) in enumerate(layout.slots):
                    a = base + offset
                    buf[a:a + length] = _rewrite(bytes(buf[a:a + length]), waiting[k], plan,
                                                 ctx, report)
            done += n
            yield buf
    if any(waiting):
        raise InputError("the anonymised annotations do not fit in the file's annotation "
                         "channel; nothing was written", path)


def _rewrite(slot: bytes, waiting: list[bytes], plan: dict, ctx: _Context,
             report: Report) -> bytes:
    """One record's annotation slot: its time-keeping TAL first, then the TALs waiting from
    earlier records and its own, as many as fit; the rest waits."""
    tals, damaged = _tals(slot)
    report.counts["damaged"] += damaged
    out = b""
    for j, (onset, duration, texts) in enumerate(tals):
        own = texts
        if j == 0 and texts[0] == b"":  # the record's time-keeping TAL stays first
            out, own = _tal(onset, duration, [""]), texts[1:]
        new: list[str] = []
        for raw in own:
            if not raw:
                continue
            text = _decoded(raw)
            if text is None:
                report.counts["removed"] += 1
                new.append(REMOVED)
                continue
            new += _new_texts(text, plan, ctx, report)
        waiting += [_tal(onset, duration, [t]) for t in new]
    while waiting and len(out) + len(waiting[0]) <= len(slot):
        out += waiting.pop(0)
    return out.ljust(len(slot), b"\x00")


def export_file(path: str | Path, out: str | Path, anonymise: bool = False,
                force: bool = False) -> Report:
    """``bbfeedback export``: a copy of a recording (anonymised if asked), checked before
    any work starts, streamed, written whole or not at all (private, never over a file
    without ``force``). The report lists what an anonymised copy kept and removed."""
    from bbfeedback.recording import recording_file
    from bbfeedback.recording.outputs import check_output, write_private

    src = recording_file(path)
    check_output(out, force, (src,))
    if Path(out).suffix.lower() != src.suffix.lower():  # a copy, not a conversion
        raise InputError(f"--out {out}: a copy keeps its type; name it "
                         f"*{src.suffix.lower()}", src)
    check_finished(src)
    if src.suffix.lower() == ".csv":
        if anonymise:
            raise InputError("a CSV recording has no header fields to blank; copy it without "
                             "--anonymise", src)
        from bbfeedback.recording import check_rates, read_recording

        check_rates(read_recording(src))  # the checks ``analyze`` makes (a 1 Hz file)
        write_private(out, copy_chunks(src), force, (src,))
        return Report()
    from bbfeedback.recording.edf import check_header

    check_header(src)  # a copy of a file no reader can open would promise too much
    chunks, report = exported(src, anonymise)
    write_private(out, chunks, force, (src,))
    return report
