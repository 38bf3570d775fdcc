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
# how a session calibrates before the protocol (``exercise.calibrator``): "max" rest and three
# maximal squeezes; "gentle" rest and three comfortable half squeezes, MVC estimated from them
# (leaflet B: "rustig ... bouw langzaam op"); "none" rest only, scores in µV, no % MVC
CALIBRATION_MODES = ("max", "gentle", "none")
DEFAULT_REACH_S = 1.0  # time a work phase allows to reach the target, before the hold counts
PARAMS = {  # protocol-level scoring parameters and their defaults
    "fatigue_fraction": 0.6,
    "max_pct_mvc": 70.0,
    "min_floor_step_pct": 8.0,
    "max_floor_cv_pct": 35.0,
    "release_quick_s": 1.5,
    "repeat_peak_fraction": 0.7,
    "fast_peak_pct_mvc": 50.0,
    "rest_limit_uV": 7.0,  # rest above this (EMG in µV, device-dependent) is tense_rest
    "stop_when_fading": 0.0,  # 1: say from which repetition control faded (leaflet B, b2)
}
BOOL_PARAMS = ("stop_when_fading",)  # written true/false, kept as 1.0/0.0
MAX_REPETITIONS = 1000  # a session is minutes to an hour, not days
MAX_SESSION_S = 4 * 3600.0
MAX_FILE_BYTES = 1_000_000  # a protocol is a few kB; more is not one


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
    accessory_allowed: bool = False  # the abdominal wall may draw in (b5 floor 2): no
    # co_contraction is flagged in this phase
    knack: bool = False  # a cough: the abdominals and the pressure rise with it (allowed);
    # scored is whether the pelvic floor was on before that rise (the Knack, Miller 1998)


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
    calibration: str = "max"  # one of CALIBRATION_MODES

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


def parse(raw: dict, path: Path, _chain: tuple[Path, ...] = (),
          builtin_includes_only: bool = False,
          _cache: dict[Path, Protocol] | None = None) -> Protocol:
    """A protocol from a TOML document, validated by ``schema`` (types, ranges, includes).
    ``_cache``: the files read so far in this load, by resolved path, so that a file
    included many times at several levels is read and validated once (it was re-read at
    every level: 8 includes over 6 levels took minutes before the size limit refused it)."""
    from bbfeedback.exercise.protocols import schema  # it imports the names above

    chain = (*_chain, _path_key(path))
    cache = {} if _cache is None else _cache
    includes = (schema.Includes(chain, _builtin_path, load, "a bundled protocol id", cache)
                if builtin_includes_only else schema.Includes(chain, _path, load, cache=cache))
    try:
        doc = schema.ProtocolDoc.model_validate(raw, context=includes)
    except schema.ValidationError as exc:
        raise _error(schema.explain(exc), path) from None
    return doc.protocol(path)


def _error(message: str, path: object) -> InputError:
    return InputError(message, f"protocol {path}")


def _path_key(path: Path) -> Path:
    """One name per file, for include cycles (a builtin by id and by path are the same)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError):  # a link loop, a NUL: it is read as written
        return path


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):  # ValueError: a NUL character in the name
        return False


def _builtin_path(id_or_path: str) -> Path | None:
    return _path_key(HERE / f"{id_or_path}.toml") if id_or_path in builtin_ids() else None


def _path(id_or_path: str) -> Path | None:
    """The file an include names (a bundled id first, as ``load`` reads it), if there is one."""
    builtin = _builtin_path(id_or_path)
    if builtin is not None:
        return builtin
    path = Path(id_or_path)
    return _path_key(path) if _exists(path) and not path.is_dir() else None


def _document(text: str, where: object) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _error(f"not valid TOML ({exc})", where) from None
    except RecursionError:
        raise _error("not valid TOML (nested too deeply)", where) from None


def builtin_ids() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.toml") if p.stem != "cues")


def display_name(pid: str | None, lang: str) -> str:
    """A bundled protocol's name in ``lang`` ("Liftoefening"); any other id as it is."""
    if pid in builtin_ids():
        return load(pid).name[lang]
    return pid or "-"


def load(id_or_path: str | Path, _chain: tuple[Path, ...] = (),
         _cache: dict[Path, Protocol] | None = None) -> Protocol:
    """A built-in protocol by id, or a therapist's own TOML file by path (``_chain`` and
    ``_cache``: the includes being read, and those read, in one load: see ``parse``)."""
    text = str(id_or_path)
    path = HERE / f"{text}.toml" if text in builtin_ids() else Path(text)
    if not _exists(path):
        raise InputError(f"no protocol with this id or path (built in: {', '.join(builtin_ids())})",
                         text)
    if not path.is_file():  # a FIFO or a device would be waited on for ever
        raise _error("not a regular file", path)
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise _error(f"larger than {MAX_FILE_BYTES // 1000} kB: not a protocol", path)
        raw = _document(data.decode("utf-8"), path)
    except (OSError, UnicodeDecodeError) as exc:
        raise _error(f"cannot read ({exc})", path) from None
    return parse(raw, path, _chain, _cache=_cache)


def loads(text: str, where: str | Path) -> Protocol:
    """A protocol from TOML text (as a recording carries the one it ran): it may include only
    bundled protocols, as a name from a file is never opened as a path."""
    return parse(_document(text, where), Path(str(where)), builtin_includes_only=True)


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


def to_toml(protocol: Protocol) -> str:
    """A protocol as a TOML file that ``load`` reads back as an equal protocol (all but its
    ``path``): a therapist's own copy. Included protocols are written out in full, each
    section with its own scoring where it differs from the protocol's. The tables are the
    reading models' own (``schema.document``), written by tomli-w."""
    import tomli_w

    from bbfeedback.exercise.protocols import schema

    return tomli_w.dumps(schema.document(protocol))


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
