"""Exercise protocols as declarative TOML files, validated on load with named errors.

A protocol is a list of sections; a section repeats its phases. A phase is ``work``
(contract to a target), ``rest`` (relax) or ``baseline`` (long rest for assessments). A
*repetition* is a run of consecutive work phases (one hold, or the three floors of the lift).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from bbfeedback.errors import InputError

HERE = Path(__file__).parent
WORK, REST, BASELINE = "work", "rest", "baseline"
SCORINGS = ("holds", "endurance", "quick", "lift", "awareness", "glazer", "perfect")
DEFAULT_REACH_S = 1.0  # time a work phase allows to reach the target, before the hold counts
PARAMS = {  # protocol-level scoring parameters and their defaults
    "fatigue_fraction": 0.6,
    "max_pct_mvc": 70.0,
    "min_floor_step_pct": 8.0,
    "max_floor_cv_pct": 35.0,
    "release_quick_s": 1.5,
    "repeat_peak_fraction": 0.7,
    "fast_peak_pct_mvc": 50.0,
}
_TOP_KEYS = {"id", "name", "description", "source", "scoring", "lead_in_s", "section",
             "include", "sets_per_day", *PARAMS}
MAX_REPETITIONS = 1000  # a session is minutes to an hour, not days
MAX_SESSION_S = 4 * 3600.0
_SECTION_KEYS = {"name", "repetitions", "posture", "phase", "scoring"}
_PHASE_KEYS = {"kind", "cue", "cue_nl", "cue_en", "duration_s", "hold_s", "reach_s",
               "target_pct_mvc", "band_pct_mvc", "target_uV", "band_uV", "target_cmH2O",
               "band_cmH2O", "until_fail", "max_s"}


def _cues() -> dict[str, dict[str, str]]:
    with (HERE / "cues.toml").open("rb") as fh:
        return tomllib.load(fh)


CUES = _cues()


@dataclass(frozen=True)
class Phase:
    kind: str
    cue: str
    cue_nl: str
    cue_en: str
    duration_s: float  # planned length (for until_fail: the limit)
    hold_s: float = 0.0  # target time inside the band (work)
    reach_s: float = 0.0
    target_pct_mvc: float | None = None
    band_pct_mvc: tuple[float, float] | None = None
    target_abs: float | None = None  # absolute target in the channel's unit
    band_abs: tuple[float, float] | None = None
    abs_unit: str | None = None
    until_fail: bool = False


@dataclass(frozen=True)
class Section:
    name: str
    repetitions: int
    phases: tuple[Phase, ...]
    posture: str | None = None
    scoring: str = "holds"


@dataclass(frozen=True)
class Step:
    """One phase placed on the planned timeline."""

    index: int
    start_s: float
    phase: Phase
    section: str
    scoring: str
    rep: int | None  # 1-based repetition for work steps
    posture: str | None = None

    @property
    def end_s(self) -> float:
        return self.start_s + self.phase.duration_s


@dataclass(frozen=True)
class Protocol:
    id: str
    name: dict
    description: dict
    source: str
    scoring: str
    lead_in_s: float
    sections: tuple[Section, ...]
    params: dict = field(default_factory=dict)
    path: str = ""
    sets_per_day: tuple[int, int] | None = None

    def param(self, key: str) -> float:
        return float(self.params.get(key, PARAMS[key]))

    def timeline(self) -> list[Step]:
        """All phases on the planned clock (until-fail phases at their limit)."""
        lead = Phase(REST, "rest", CUES["rest"]["nl"], CUES["rest"]["en"], self.lead_in_s)
        steps = [Step(0, 0.0, lead, "lead-in", self.scoring, None)]
        t, rep, in_work = self.lead_in_s, 0, False
        for sec in self.sections:
            for _ in range(sec.repetitions):
                for ph in sec.phases:
                    if ph.kind == WORK and not in_work:
                        rep += 1
                    in_work = ph.kind == WORK
                    steps.append(Step(len(steps), t, ph, sec.name, sec.scoring,
                                      rep if ph.kind == WORK else None, sec.posture))
                    t += ph.duration_s
        return steps

    @property
    def duration_s(self) -> float:
        return self.timeline()[-1].end_s


class _Checker:
    """Reads fields with named, one-line errors: '<file>: <field>: <problem>'."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, where: str, problem: str):
        raise InputError(f"{where}: {problem}", self.path)

    def keys(self, table: dict, allowed: set, where: str) -> None:
        if not isinstance(table, dict):
            self.fail(where, "must be a table")
        for key in table:
            if key not in allowed:
                self.fail(f"{where}{key}", "unknown field")

    def number(self, table: dict, key: str, where: str, default=None, positive=False,
               allow_zero=False) -> float | None:
        if key not in table:
            if default is None:
                return None
            return default
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(f"{where}{key}", f"must be a number, got {value!r}")
        if positive and (value < 0 or (value == 0 and not allow_zero)):
            self.fail(f"{where}{key}", f"must be positive, got {value!r}")
        return float(value)

    def band(self, table: dict, key: str, where: str) -> tuple[float, float] | None:
        if key not in table:
            return None
        value = table[key]
        ok = isinstance(value, list) and len(value) == 2 and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        if not ok or value[0] >= value[1]:
            self.fail(f"{where}{key}", f"must be [low, high] with low < high, got {value!r}")
        return float(value[0]), float(value[1])


def _phase(chk: _Checker, raw: dict, where: str) -> Phase:
    chk.keys(raw, _PHASE_KEYS, where)
    kind = raw.get("kind")
    if kind not in (WORK, REST, BASELINE):
        chk.fail(f"{where}kind", f"must be work, rest or baseline, got {kind!r}")
    cue = raw.get("cue", "contract" if kind == WORK else "relax")
    if not isinstance(cue, str):
        chk.fail(f"{where}cue", f"must be a cue name (text), got {cue!r:.40}")
    words = CUES.get(cue, {})
    cue_nl, cue_en = raw.get("cue_nl", words.get("nl")), raw.get("cue_en", words.get("en"))
    if not cue_nl or not cue_en:
        chk.fail(f"{where}cue", f"unknown cue {cue!r}: use one of {sorted(CUES)} or give "
                                "cue_nl and cue_en")
    until_fail = raw.get("until_fail", False)
    if not isinstance(until_fail, bool):  # "no" is not false: say it
        chk.fail(f"{where}until_fail", f"must be true or false, got {until_fail!r:.40}")
    if kind != WORK:
        if "duration_s" not in raw:
            chk.fail(f"{where}duration_s", "missing (rest and baseline phases need one)")
        duration = chk.number(raw, "duration_s", where, positive=True)
        return Phase(kind, cue, cue_nl, cue_en, duration)
    hold = chk.number(raw, "hold_s", where, positive=True)
    if hold is None:
        chk.fail(f"{where}hold_s", "missing (work phases need a target hold time)")
    reach = chk.number(raw, "reach_s", where, DEFAULT_REACH_S, positive=True, allow_zero=True)
    duration = chk.number(raw, "duration_s", where, hold + reach, positive=True)
    if until_fail:
        duration = chk.number(raw, "max_s", where, max(60.0, duration), positive=True)
    target_pct = chk.number(raw, "target_pct_mvc", where, positive=True)
    band_pct = chk.band(raw, "band_pct_mvc", where)
    target_abs = band_abs = unit = None
    for key_unit in ("uV", "cmH2O"):
        if f"target_{key_unit}" in raw or f"band_{key_unit}" in raw:
            unit = key_unit
            target_abs = chk.number(raw, f"target_{key_unit}", where, positive=True)
            band_abs = chk.band(raw, f"band_{key_unit}", where)
    if target_pct is None and target_abs is None:
        chk.fail(f"{where}target_pct_mvc", "missing (or give target_uV / target_cmH2O)")
    if target_pct is not None and band_pct is None:
        band_pct = (0.6 * target_pct, max(300.0, 1.5 * target_pct))
    if target_abs is not None and band_abs is None:
        band_abs = (0.6 * target_abs, 10 * target_abs)
    return Phase(kind, cue, cue_nl, cue_en, duration, hold, reach, target_pct, band_pct,
                 target_abs, band_abs, unit, until_fail)


def _section(chk: _Checker, raw: dict, where: str, scoring: str) -> Section:
    chk.keys(raw, _SECTION_KEYS, where)
    reps = raw.get("repetitions", 1)
    if isinstance(reps, bool) or not isinstance(reps, int) or not 1 <= reps <= MAX_REPETITIONS:
        chk.fail(f"{where}repetitions",
                 f"must be a whole number from 1 to {MAX_REPETITIONS}, got {reps!r:.40}")
    phases = raw.get("phase")
    if not isinstance(phases, list) or not phases:
        chk.fail(f"{where}phase", "missing: a section needs at least one [[section.phase]]")
    parsed = tuple(_phase(chk, p, f"{where}phase[{k}].") for k, p in enumerate(phases))
    scoring = raw.get("scoring", scoring)  # a section of another kind (as in the daily set)
    if scoring not in SCORINGS:
        chk.fail(f"{where}scoring", f"must be one of {', '.join(SCORINGS)}, got {scoring!r}")
    return Section(str(raw.get("name", where.rstrip("."))), reps, parsed, raw.get("posture"),
                   scoring)


def parse(raw: dict, path: Path, _seen: tuple[str, ...] = ()) -> Protocol:
    chk = _Checker(path)
    chk.keys(raw, _TOP_KEYS, "")
    pid = raw.get("id")
    if not isinstance(pid, str) or not pid:
        chk.fail("id", "missing or not a string")
    scoring = raw.get("scoring", "holds")
    if scoring not in SCORINGS:
        chk.fail("scoring", f"must be one of {', '.join(SCORINGS)}, got {scoring!r}")
    params = {k: chk.number(raw, k, "", positive=True) for k in PARAMS if k in raw}
    sections: list[Section] = []
    for inc in raw.get("include", []):
        if inc in _seen or inc == pid:
            chk.fail("include", f"{inc!r} includes itself")
        sub = load(inc, _seen + (pid,))
        sections += sub.sections
        params = {**sub.params, **params}
    sections += [_section(chk, s, f"section[{k}].", scoring)
                 for k, s in enumerate(raw.get("section", []))]
    if not sections:
        chk.fail("section", "missing: a protocol needs [[section]] entries or include")
    name = raw.get("name", {"nl": pid, "en": pid})
    desc = raw.get("description", {"nl": "", "en": ""})
    for key, value in (("name", name), ("description", desc)):
        if not isinstance(value, dict) or not {"nl", "en"} <= value.keys():
            chk.fail(key, "must be a table with nl and en texts")
    lead = chk.number(raw, "lead_in_s", "", 5.0, positive=True, allow_zero=True)
    spd = raw.get("sets_per_day")
    if spd is not None:
        ok = isinstance(spd, list) and len(spd) == 2 and all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in spd)
        if not ok or spd[0] > spd[1]:
            chk.fail("sets_per_day", f"must be [fewest, most] whole numbers >= 1, got {spd!r}")
    planned_s = lead + sum(s.repetitions * sum(ph.duration_s for ph in s.phases)
                           for s in sections)  # without building the timeline
    if not planned_s <= MAX_SESSION_S:
        chk.fail("section", f"the session would last {planned_s / 3600:.1f} h; at most "
                            f"{MAX_SESSION_S / 3600:g} h")
    if not any(ph.kind == WORK for s in sections for ph in s.phases):
        chk.fail("section", "no work phase: a protocol needs something to do")
    return Protocol(pid, name, desc, str(raw.get("source", "")), scoring, lead,
                    tuple(sections), params, str(path), tuple(spd) if spd else None)


def builtin_ids() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.toml") if p.stem != "cues")


def load(id_or_path: str | Path, _seen: tuple[str, ...] = ()) -> Protocol:
    """A built-in protocol by id, or a therapist's own TOML file by path."""
    text = str(id_or_path)
    path = HERE / f"{text}.toml" if text in builtin_ids() else Path(text)
    if not path.exists():
        raise InputError(f"no protocol with this id or path (built in: {', '.join(builtin_ids())})",
                         text)
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML ({exc})", path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read ({exc})", path) from None
    return parse(raw, path, _seen)


def loads(text: str, where: str | Path) -> Protocol:
    """A protocol from TOML text (as a recording carries the one it ran)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML ({exc})", where) from None
    return parse(raw, Path(str(where)))


def customise(protocol: Protocol, hold_s: float | None = None, rest_s: float | None = None,
              repetitions: int | None = None, target_pct_mvc: float | None = None) -> Protocol:
    """A copy with the therapist's parameters: every work phase's hold and target (its band
    moved along, keeping its width relative to the target), every rest phase's length, and
    every repeated section's repetitions."""
    from dataclasses import replace

    def phase(ph: Phase) -> Phase:
        if ph.kind == WORK and not ph.until_fail:
            hold = hold_s if hold_s is not None else ph.hold_s
            ph = replace(ph, hold_s=hold, duration_s=hold + ph.reach_s)
        elif ph.kind == REST and rest_s is not None:
            ph = replace(ph, duration_s=rest_s)
        if ph.kind == WORK and target_pct_mvc is not None and ph.target_pct_mvc:
            k = target_pct_mvc / ph.target_pct_mvc
            lo, hi = ph.band_pct_mvc
            ph = replace(ph, target_pct_mvc=target_pct_mvc, band_pct_mvc=(lo * k, hi * k))
        return ph

    sections = tuple(
        replace(s, phases=tuple(phase(p) for p in s.phases),
                repetitions=repetitions if repetitions and s.repetitions > 1 else s.repetitions)
        for s in protocol.sections)
    return replace(protocol, sections=sections)


def _toml_string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    special = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n",
               "\f": "\\f", "\r": "\\r"}
    out = []
    for ch in text:
        if ch in special:
            out.append(special[ch])
        elif ord(ch) < 0x20 or ch == "\x7f":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return _toml_string(v)
    if isinstance(v, tuple | list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, float):
        return repr(v)  # shortest text that reads back as the same float (inf, nan included)
    if isinstance(v, int):
        return str(v)
    raise TypeError(f"cannot write {v!r} to TOML")


def _toml_key(key: str) -> str:
    bare = key and all(c.isascii() and (c.isalnum() or c in "_-") for c in key)
    return key if bare else _toml_string(key)


def to_toml(protocol: Protocol) -> str:
    """A protocol as a TOML file that ``load`` reads back as an equal protocol (all but its
    ``path``): a therapist's own copy. Included protocols are written out in full, each
    section with its own scoring where it differs from the protocol's."""
    val = _toml_value
    lines = [f"id = {val(protocol.id)}", f"name = {val(protocol.name)}",
             f"description = {val(protocol.description)}",
             f"source = {val(protocol.source)}", f"scoring = {val(protocol.scoring)}",
             f"lead_in_s = {val(protocol.lead_in_s)}"]
    if protocol.sets_per_day is not None:
        lines.append(f"sets_per_day = {val(list(protocol.sets_per_day))}")
    lines += [f"{k} = {val(v)}" for k, v in protocol.params.items()]
    for s in protocol.sections:
        lines += ["", "[[section]]", f"name = {val(s.name)}", f"repetitions = {s.repetitions}"]
        if s.scoring != protocol.scoring:
            lines.append(f"scoring = {val(s.scoring)}")
        if s.posture is not None:
            lines.append(f"posture = {val(s.posture)}")
        for ph in s.phases:
            lines += ["  [[section.phase]]", f"  kind = {val(ph.kind)}", f"  cue = {val(ph.cue)}",
                      f"  cue_nl = {val(ph.cue_nl)}", f"  cue_en = {val(ph.cue_en)}"]
            if ph.kind != WORK:
                lines.append(f"  duration_s = {val(ph.duration_s)}")
                continue
            lines += [f"  hold_s = {val(ph.hold_s)}", f"  reach_s = {val(ph.reach_s)}"]
            if ph.until_fail:
                lines += ["  until_fail = true", f"  max_s = {val(ph.duration_s)}"]
            else:
                lines.append(f"  duration_s = {val(ph.duration_s)}")
            if ph.target_pct_mvc is not None:
                lines.append(f"  target_pct_mvc = {val(ph.target_pct_mvc)}")
            if ph.band_pct_mvc is not None:
                lines.append(f"  band_pct_mvc = {val(ph.band_pct_mvc)}")
            if ph.target_abs is not None:
                lines.append(f"  target_{ph.abs_unit} = {val(ph.target_abs)}")
            if ph.band_abs is not None:
                lines.append(f"  band_{ph.abs_unit} = {val(ph.band_abs)}")
    return "\n".join(lines) + "\n"


def targets(protocol: Protocol) -> dict:
    """The targets a session ran with (kept with the recording and in the history)."""
    work = [ph for s in protocol.sections for ph in s.phases if ph.kind == WORK]
    rest = [ph for s in protocol.sections for ph in s.phases if ph.kind == REST]
    return {"hold_s": sorted({ph.hold_s for ph in work}),
            "target_pct_mvc": sorted({ph.target_pct_mvc for ph in work
                                      if ph.target_pct_mvc is not None}),
            "rest_s": sorted({ph.duration_s for ph in rest}),
            "repetitions": sum(1 for s in protocol.timeline() if s.rep is not None
                               and s.phase.kind == WORK)}
