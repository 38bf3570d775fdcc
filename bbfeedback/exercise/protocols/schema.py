"""The protocol TOML document as pydantic models, so that a wrong file fails on load with one
named error, never later with a traceback: strict types ("no" is not false, a list is not a
cue), finite numbers in sane ranges, texts without control characters (they would act on
the terminal that prints them: ``_no_control``), work phases that can be met, no include
cycles, each included file read once, and a session that has work in it and ends within
``MAX_SESSION_S``.

Imported by ``protocols.parse`` only (it needs the names that package defines first).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    StrictStr,
    ValidationError,
    ValidationInfo,
    WrapValidator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from bbfeedback.exercise.protocols import (
    BASELINE,
    BOOL_PARAMS,
    CALIBRATION_MODES,
    CUES,
    DEFAULT_REACH_S,
    MAX_REPETITIONS,
    MAX_SESSION_S,
    PARAMS,
    REST,
    SCORINGS,
    WORK,
    Phase,
    Protocol,
    Section,
)

MAX_PCT_MVC = 1000.0  # bands reach 300 % MVC; ten times a maximum is no target
MAX_ABS = 1e6  # µV or cmH2O: far above any pelvic-floor level, far below overflow
MAX_STEPS = 100_000  # phases on the timeline: a 4 h session of 0.1 s phases
MAX_SETS_PER_DAY = 100
WORK_ONLY = ("hold_s", "reach_s", "target_pct_mvc", "band_pct_mvc", "target_uV", "band_uV",
             "target_cmH2O", "band_cmH2O", "until_fail", "max_s", "accessory_allowed", "knack")
ABS_UNITS = ("uV", "cmH2O")


def _shown(value: object) -> str:
    return f"{value!r:.40}"


def _fail(message: str, field: str | None = None) -> PydanticCustomError:
    """A rule's error; ``field`` names the key of the model it is about (a model validator's
    own errors carry only the model's place). The message goes in last, so that no "{field}"
    in a user's text is filled in."""
    return PydanticCustomError("protocol", "{message}", {"field": field, "message": message})


def _explained(what: str, too_big: str | None = None) -> WrapValidator:
    """Pydantic's checks of a value, with one message saying what the value must be (instead
    of one per internal check: type, finiteness, each bound)."""
    def wrap(value: Any, handler: Callable[[Any], Any]) -> Any:
        try:
            return handler(value)
        except ValidationError as exc:
            big = exc.errors()[0]["type"] in ("less_than", "less_than_equal")
            wanted = too_big if big and too_big else what
            raise _fail(f"must be {wanted} (got {_shown(value)})") from None
    return WrapValidator(wrap)


def _number(low: float, high: float, what: str, low_open: bool = True,
            too_big: str | None = None) -> Any:
    """A finite real number (an int reads as a float; a bool does not) in a range."""
    bounds = {"gt": low} if low_open else {"ge": low}
    return Annotated[float, Field(strict=True, le=high, allow_inf_nan=False, **bounds),
                     _explained(what, too_big)]


def _ascending(pair: list) -> list:
    if not pair[0] < pair[1]:
        raise ValueError("not ascending")
    return pair


def _ordered(pair: list) -> list:
    if not pair[0] <= pair[1]:
        raise ValueError("not ordered")
    return pair


def _bilingual(texts: dict) -> dict:
    if not {"nl", "en"} <= texts.keys():
        raise ValueError("nl or en missing")
    return texts


def _no_control(text: str) -> str:
    """A text without control characters (an escape sequence, a bell, a carriage return)
    but tab and newline (a cue may be two lines: "Los\nlaten"): a protocol's texts are
    printed on terminals (``protocols show``, ``analyze``), drawn in the window, written
    into reports and recordings, where such a character acts instead of showing
    (``ESC ] 0 ; ... BEL`` set the terminal's title). Refused on load, so that no place
    that shows a protocol's text has to escape it."""
    return _no_control_at(text)


ALLOWED_CONTROLS = "\t\n"


def _no_control_at(text: str, field: str | None = None) -> str:
    for i, ch in enumerate(text):
        if unicodedata.category(ch) == "Cc" and ch not in ALLOWED_CONTROLS:
            raise _fail(f"contains a control character ({ch!r} at {i}), which a protocol's "
                        "texts may not", field)
    return text


def _no_control_in(texts: dict) -> dict:
    """``_no_control`` for a table's keys and texts (the place named: ``name.en``)."""
    for key, value in texts.items():
        _no_control_at(key)  # the key itself: its name would print it
        _no_control_at(value, key)
    return texts


_HOURS = f"at most {MAX_SESSION_S / 3600:g} h"
Seconds = _number(0.0, MAX_SESSION_S, "a finite number > 0", too_big=_HOURS)
SecondsOrZero = _number(0.0, MAX_SESSION_S, "a finite number >= 0", False, _HOURS)
Pct = _number(0.0, MAX_PCT_MVC, "a finite number > 0", too_big=f"at most {MAX_PCT_MVC:g}")
Abs = _number(0.0, MAX_ABS, "a finite number > 0", too_big=f"at most {MAX_ABS:g}")
Fraction = _number(0.0, 1.0, "a finite number > 0 and at most 1")


def _band(high: float) -> Any:
    """[low, high]: two finite numbers from 0 to ``high``, low < high."""
    bound = Annotated[float, Field(strict=True, ge=0.0, le=high, allow_inf_nan=False)]
    return Annotated[list[bound], Field(min_length=2, max_length=2), AfterValidator(_ascending),
                     _explained(f"[low, high] with low < high, from 0 to {high:g}")]


PctBand = _band(MAX_PCT_MVC)
AbsBand = _band(MAX_ABS)
Name = Annotated[StrictStr, Field(min_length=1), _explained("a text, not empty")]
Text = Annotated[Name, AfterValidator(_no_control)]  # Name: an include, only shown as repr
CueName = Annotated[StrictStr, Field(min_length=1), _explained("a cue name as text"),
                    AfterValidator(_no_control)]
Texts = Annotated[dict[StrictStr, StrictStr], AfterValidator(_bilingual),
                  _explained("a table with nl and en texts"), AfterValidator(_no_control_in)]
Flag = Annotated[bool, Field(strict=True), _explained("true or false")]
Repetitions = Annotated[int, Field(strict=True, ge=1, le=MAX_REPETITIONS),
                        _explained(f"a whole number from 1 to {MAX_REPETITIONS}")]
SetsPerDay = Annotated[list[Annotated[int, Field(strict=True, ge=1, le=MAX_SETS_PER_DAY)]],
                       Field(min_length=2, max_length=2), AfterValidator(_ordered),
                       _explained(f"[fewest, most] whole numbers from 1 to {MAX_SETS_PER_DAY}")]
Kind = Annotated[Literal[WORK, REST, BASELINE], _explained("work, rest or baseline")]
Scoring = Annotated[Literal[SCORINGS], _explained(f"one of {', '.join(SCORINGS)}")]
CalibrationMode = Annotated[Literal[CALIBRATION_MODES],
                            _explained(f"one of {', '.join(CALIBRATION_MODES)}")]


class _Doc(BaseModel):
    """A TOML table: no key it does not know, no value read as another type."""

    model_config = ConfigDict(extra="forbid", strict=True)


class PhaseDoc(_Doc):
    """One ``[[section.phase]]``: a work phase with a hold and a target it can meet, or a rest
    or baseline phase with a length and nothing of work."""

    kind: Kind
    cue: CueName | None = None
    cue_nl: Text | None = None
    cue_en: Text | None = None
    duration_s: Seconds | None = None
    hold_s: Seconds | None = None
    reach_s: SecondsOrZero | None = None
    target_pct_mvc: Pct | None = None
    band_pct_mvc: PctBand | None = None
    target_uV: Abs | None = None
    band_uV: AbsBand | None = None
    target_cmH2O: Abs | None = None
    band_cmH2O: AbsBand | None = None
    until_fail: Flag = False
    max_s: Seconds | None = None
    accessory_allowed: Flag = False  # the abdominal wall may draw in: no co_contraction
    knack: Flag = False  # a cough phase: the pelvic floor must be on before the cough's rise

    @model_validator(mode="after")
    def _consistent(self) -> PhaseDoc:
        self._words()
        if self.kind == WORK:
            self._check_work()
        else:
            self._check_rest()
        return self

    @property
    def cue_name(self) -> str:
        return self.cue or ("contract" if self.kind == WORK else "relax")

    def _words(self) -> tuple[str, str]:
        """The Dutch and English cue: given, else the named cue's from cues.toml."""
        words = CUES.get(self.cue_name, {})
        nl, en = self.cue_nl or words.get("nl"), self.cue_en or words.get("en")
        if not nl or not en:
            raise _fail(f"unknown cue {self.cue_name!r}: use one of {sorted(CUES)} or give "
                        "cue_nl and cue_en", "cue")
        return nl, en

    def _check_rest(self) -> None:
        for key in WORK_ONLY:
            if key in self.model_fields_set:
                raise _fail(f"only for work phases (this one is {self.kind})", key)
        if self.duration_s is None:
            raise _fail("missing (rest and baseline phases need one)", "duration_s")

    def _check_work(self) -> None:
        if self.hold_s is None and not self.until_fail:
            raise _fail("missing (work phases need a target hold time; only an until_fail "
                        "phase may have none: its score is the time held)", "hold_s")
        if self.target_pct_mvc is None and self._abs()[1] is None:
            raise _fail("missing (or give target_uV / target_cmH2O)", "target_pct_mvc")
        if "max_s" in self.model_fields_set and not self.until_fail:
            raise _fail("only with until_fail = true", "max_s")
        needed_s = self.hold + self.reach
        if self.planned_s < needed_s:
            raise _fail(f"shorter than hold_s + reach_s ({needed_s:g} s): the hold could never "
                        "be met", "max_s" if self.until_fail else "duration_s")
        self._check_target("target_pct_mvc", self.target_pct_mvc, self.band_pct_mvc)
        unit, target, band = self._abs()
        if unit is not None:
            self._check_target(f"target_{unit}", target, band)

    @staticmethod
    def _check_target(key: str, target: float | None, band: list | None) -> None:
        if target is not None and band is not None and not band[0] <= target <= band[1]:
            raise _fail(f"{target:g} is outside its band [{band[0]:g}, {band[1]:g}]", key)

    def _abs(self) -> tuple[str | None, float | None, list | None]:
        """The absolute target's unit, target and band (at most one unit per phase)."""
        given = [u for u in ABS_UNITS if {f"target_{u}", f"band_{u}"} & self.model_fields_set]
        if len(given) > 1:
            raise _fail("give an absolute target in one unit only (uV or cmH2O)", "target_uV")
        if not given:
            return None, None, None
        unit = given[0]
        return unit, getattr(self, f"target_{unit}"), getattr(self, f"band_{unit}")

    @property
    def hold(self) -> float:
        """The target hold; 0 for an until_fail phase without one ("as long as you can":
        leaflet A exercise 2 — the time held is the score, nothing is met or missed)."""
        return 0.0 if self.hold_s is None else self.hold_s

    @property
    def reach(self) -> float:
        if self.kind != WORK:
            return 0.0
        return DEFAULT_REACH_S if self.reach_s is None else self.reach_s

    @property
    def planned_s(self) -> float:
        """Its length on the timeline (an until-fail phase: its limit)."""
        if self.kind != WORK:
            return self.duration_s
        own_s = self.duration_s if self.duration_s is not None else self.hold + self.reach
        if not self.until_fail:
            return own_s
        return self.max_s if self.max_s is not None else max(60.0, own_s)

    def phase(self) -> Phase:
        nl, en = self._words()
        if self.kind != WORK:
            return Phase(self.kind, self.cue_name, nl, en, self.planned_s)
        target, band = self.target_pct_mvc, self.band_pct_mvc
        if target is not None and band is None:
            band = (0.6 * target, max(300.0, 1.5 * target))
        unit, target_abs, band_abs = self._abs()
        if target_abs is not None and band_abs is None:
            band_abs = (0.6 * target_abs, 10 * target_abs)
        return Phase(self.kind, self.cue_name, nl, en, self.planned_s, self.hold, self.reach,
                     target, _pair(band), target_abs, _pair(band_abs), unit, self.until_fail,
                     self.accessory_allowed or self.knack, self.knack)


def _pair(band: list | tuple | None) -> tuple[float, float] | None:
    return None if band is None else (float(band[0]), float(band[1]))


class SectionDoc(_Doc):
    """One ``[[section]]``: its phases, repeated."""

    name: Text | None = None
    repetitions: Repetitions = 1
    posture: Text | None = None
    scoring: Scoring | None = None
    phase: Annotated[list[PhaseDoc], Field(min_length=1)]

    def section(self, default_name: str, scoring: str) -> Section:
        return Section(self.name or default_name, self.repetitions,
                       tuple(p.phase() for p in self.phase), self.posture,
                       self.scoring or scoring)


@dataclass(frozen=True)
class Includes:
    """How a protocol's ``include`` names are read: ``resolve`` gives the file a name means
    (None: no such file, or not ``allowed``), ``read`` loads it; ``chain`` holds the files
    being read, this one last, so that a name leading back into it is a cycle, not endless
    recursion; ``cache`` the files already read in this load, by the path ``resolve`` gave,
    so that each file is read once however often it is included, at however many levels
    (a file in ``chain`` is never in ``cache``: it is not finished)."""

    chain: tuple[Path, ...]
    resolve: Callable[[str], Path | None]
    read: Callable[..., Protocol]  # (name, chain, cache) -> the included protocol
    allowed: str = "a protocol id or the path of a protocol file"
    cache: dict[Path, Protocol] = field(default_factory=dict)


class ProtocolDoc(_Doc):
    """The whole file; once valid, it holds its sections (included ones first) and params."""

    id: Text
    name: Texts | None = None
    description: Texts | None = None
    source: Annotated[StrictStr, _explained("a text"), AfterValidator(_no_control)] = ""
    scoring: Scoring = "holds"
    lead_in_s: SecondsOrZero = 5.0
    include: Annotated[list[Name], _explained("a list of protocol ids or paths")] = []
    section: list[SectionDoc] = []
    sets_per_day: SetsPerDay | None = None
    calibration: CalibrationMode = "max"
    fatigue_fraction: Fraction | None = None  # the scoring parameters: see PARAMS
    max_pct_mvc: Pct | None = None
    min_floor_step_pct: Pct | None = None
    max_floor_cv_pct: Pct | None = None
    release_quick_s: Seconds | None = None
    repeat_peak_fraction: Fraction | None = None
    fast_peak_pct_mvc: Pct | None = None
    rest_limit_uV: Abs | None = None
    stop_when_fading: StrictBool | None = None
    _sections: tuple[Section, ...] = PrivateAttr(())
    _params: dict[str, float] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _whole(self, info: ValidationInfo) -> ProtocolDoc:
        params = {k: float(getattr(self, k)) for k in PARAMS if k in self.model_fields_set}
        sections: list[Section] = []
        modes = [self.calibration]
        size = _Size(self.lead_in_s)
        for k, name in enumerate(self.include):
            sub = self._read_include(k, name, info.context)
            size.add(sub.sections, f"include[{k}]")  # before the list grows past the limits
            sections += sub.sections
            modes.append(sub.calibration)
            params = {**sub.params, **params}  # the protocol's own, then the first include's
        sections += [s.section(f"section[{k}]", self.scoring) for k, s in enumerate(self.section)]
        _check_plan(sections, self.lead_in_s)
        self._sections, self._params = tuple(sections), params
        if "calibration" not in self.model_fields_set:  # an included gentle exercise stays
            self.calibration = max(modes, key=CALIBRATION_MODES.index)  # gentle: the gentlest
        return self

    @staticmethod
    def _read_include(k: int, name: str, includes: Includes | None) -> Protocol:
        where = f"include[{k}]"
        path = includes.resolve(name) if includes else None
        if path is None:
            allowed = includes.allowed if includes else "allowed here"
            raise _fail(f"{name!r} is not {allowed}", where)
        if path in includes.chain:
            loop = includes.chain[includes.chain.index(path):]
            raise _fail(f"{name!r} includes itself (" + " -> ".join(p.stem for p in loop)
                        + f" -> {path.stem})", where)
        if path not in includes.cache:
            includes.cache[path] = includes.read(name, includes.chain, includes.cache)
        return includes.cache[path]

    def protocol(self, path: Path) -> Protocol:
        name = self.name or {"nl": self.id, "en": self.id}
        description = self.description or {"nl": "", "en": ""}
        spd = tuple(self.sets_per_day) if self.sets_per_day else None
        return Protocol(self.id, name, description, self.source, self.scoring, self.lead_in_s,
                        self._sections, self._params, str(path), spd, self.calibration)


class _Size:
    """The phases and planned seconds of the included protocols so far: a file that includes
    a large protocol many times is refused at the include that passes a limit, before its
    sections (up to ``MAX_STEPS`` per include, any number of includes) are all put in one
    list."""

    def __init__(self, lead_in_s: float):
        self.steps, self.planned_s = 0, lead_in_s

    def add(self, sections: tuple[Section, ...], where: str) -> None:
        self.steps += sum(s.repetitions * len(s.phases) for s in sections)
        self.planned_s += sum(s.repetitions * sum(ph.duration_s for ph in s.phases)
                              for s in sections)
        if self.steps > MAX_STEPS:
            raise _fail(f"with this include the session would have {self.steps} phases; at "
                        f"most {MAX_STEPS}", where)
        if not self.planned_s <= MAX_SESSION_S:
            raise _fail(f"with this include the session would last {self.planned_s / 3600:.1f}"
                        f" h; {_HOURS}", where)


def _check_plan(sections: list[Section], lead_in_s: float) -> None:
    """Something to do, and a timeline that fits in a session (and in memory)."""
    if not sections:
        raise _fail("missing: a protocol needs [[section]] entries or include", "section")
    if not any(ph.kind == WORK for s in sections for ph in s.phases):
        raise _fail("no work phase: a protocol needs something to do", "section")
    steps = sum(s.repetitions * len(s.phases) for s in sections)
    if steps > MAX_STEPS:
        raise _fail(f"the session would have {steps} phases; at most {MAX_STEPS}", "section")
    planned_s = lead_in_s + sum(s.repetitions * sum(ph.duration_s for ph in s.phases)
                                for s in sections)  # without building the timeline
    if not planned_s <= MAX_SESSION_S:
        raise _fail(f"the session would last {planned_s / 3600:.1f} h; {_HOURS}", "section")


def explain(exc: ValidationError) -> str:
    """Pydantic's errors as one line: the first one's field path and problem, and a count of
    the others (fix one, and the next is named)."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    field = (first.get("ctx") or {}).get("field")
    where = _where((*first["loc"], *([field] if field else [])))
    text = f"{where}: {_problem(first)}" if where else _problem(first)
    return text + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else "")


def _where(loc: tuple) -> str:
    """('section', 0, 'phase', 1, 'hold_s') -> 'section[0].phase[1].hold_s'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_PROBLEMS = {"missing": "missing", "extra_forbidden": "unknown field",
             "too_short": "must not be empty"}


def _problem(error: dict) -> str:
    kind = error["type"]
    if kind == "protocol":
        return error["msg"]
    if kind in _PROBLEMS:
        return _PROBLEMS[kind]
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"must be a table (got {_shown(error['input'])})"
    if kind == "list_type":
        return f"must be a list (got {_shown(error['input'])})"
    msg = error["msg"]
    return msg[:1].lower() + msg[1:]


# --- writing: the same models describe a protocol file both ways -------------------------

def _table(model: type[_Doc], values: dict[str, Any]) -> dict[str, Any]:
    """A TOML table of ``model``'s keys: writing a key the model would refuse on reading
    is a programming error, caught here rather than in a therapist's file."""
    unknown = set(values) - set(model.model_fields)
    if unknown:
        raise ValueError(f"{model.__name__} has no field {sorted(unknown)}")
    return values


def phase_table(ph: Phase) -> dict[str, Any]:
    """One ``[[section.phase]]`` that ``PhaseDoc.phase`` reads back as ``ph``."""
    out: dict[str, Any] = {"kind": ph.kind, "cue": ph.cue, "cue_nl": ph.cue_nl,
                           "cue_en": ph.cue_en}
    if ph.kind != WORK:
        return _table(PhaseDoc, {**out, "duration_s": ph.duration_s})
    if ph.hold_s > 0 or not ph.until_fail:  # an until_fail phase may have no target hold
        out["hold_s"] = ph.hold_s
    out["reach_s"] = ph.reach_s
    if ph.until_fail:
        out.update(until_fail=True, max_s=ph.duration_s)
    else:
        out["duration_s"] = ph.duration_s
    if ph.target_pct_mvc is not None:
        out["target_pct_mvc"] = ph.target_pct_mvc
    if ph.band_pct_mvc is not None:
        out["band_pct_mvc"] = list(ph.band_pct_mvc)
    if ph.target_abs is not None:
        out[f"target_{ph.abs_unit}"] = ph.target_abs
    if ph.band_abs is not None:
        out[f"band_{ph.abs_unit}"] = list(ph.band_abs)
    if ph.knack:
        out["knack"] = True
    elif ph.accessory_allowed:
        out["accessory_allowed"] = True
    return _table(PhaseDoc, out)


def section_table(s: Section, scoring: str) -> dict[str, Any]:
    """One ``[[section]]``, its scoring written only where it differs from the protocol's."""
    out: dict[str, Any] = {"name": s.name, "repetitions": s.repetitions}
    if s.scoring != scoring:
        out["scoring"] = s.scoring
    if s.posture is not None:
        out["posture"] = s.posture
    out["phase"] = [phase_table(ph) for ph in s.phases]
    return _table(SectionDoc, out)


def document(protocol: Protocol) -> dict[str, Any]:
    """The whole file of a protocol, included protocols written out as its own sections."""
    out: dict[str, Any] = {"id": protocol.id, "name": dict(protocol.name),
                           "description": dict(protocol.description),
                           "source": protocol.source, "scoring": protocol.scoring,
                           "lead_in_s": protocol.lead_in_s}
    if protocol.sets_per_day is not None:
        out["sets_per_day"] = list(protocol.sets_per_day)
    if protocol.calibration != "max":
        out["calibration"] = protocol.calibration
    out.update({k: bool(v) if k in BOOL_PARAMS else v for k, v in protocol.params.items()})
    out["section"] = [section_table(s, protocol.scoring) for s in protocol.sections]
    return _table(ProtocolDoc, out)
