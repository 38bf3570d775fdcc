"""What each ``bbfeedback:<key>`` annotation may hold: one pydantic model per key, checked at
the edge (``annotations.decode``) so that every reader can trust what it gets.

The rules: numbers are real numbers (no strings, no booleans, no NaN or infinity) in a sane
range; counts are integers; lists have sane lengths. A value that breaks one is left out of
the recording's meta with a warning naming its first failing field (the signal is the source
of truth). Fields the readers do not need are optional, and keys a model does not know are
kept (files of older or newer versions may carry them) as long as they are plain JSON with
finite numbers. What only the signal can tell (a notch below the Nyquist frequency of its
channel, a gap inside the file) is checked where the signal is at hand.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    TypeAdapter,
    ValidationError,
    model_validator,
)

MAX_WINDOW_S = 2.0  # an RMS window longer than this is not a setting we ever wrote
MAX_RATE_HZ = 100_000.0  # a faster 'sample rate' is a header or time-column mistake
PLAUSIBLE_MAX = 1e6  # µV or cmH2O: a recorded level beyond this is damage, not a body
MAX_TIME_S = 1e7  # about four months: a time on the recording clock beyond this is damage

Number = Annotated[float, Field(allow_inf_nan=False)]
Level = Annotated[float, Field(gt=-PLAUSIBLE_MAX, lt=PLAUSIBLE_MAX)]
Time = Annotated[float, Field(gt=-MAX_TIME_S, lt=MAX_TIME_S)]
Duration = Annotated[float, Field(ge=0, lt=MAX_TIME_S)]
Count = Annotated[int, Field(ge=0)]
Text = Annotated[str, Field(max_length=100_000)]  # a protocol's TOML is a few kB


class Value(BaseModel):
    """Strict (no "5" for 5, no true for 1), finite, other keys kept if plain JSON."""

    model_config = ConfigDict(strict=True, allow_inf_nan=False, extra="allow")
    __pydantic_extra__: dict[str, JsonValue]


class Targets(Value):
    hold_s: Annotated[list[Duration], Field(max_length=1000)] = []
    target_pct_mvc: Annotated[list[Number], Field(max_length=1000)] = []
    rest_s: Annotated[list[Duration], Field(max_length=1000)] = []
    repetitions: Count | None = None


class Settings(Value):
    """``Session.settings()``: the protocol, its targets and the filters a session ran with."""

    protocol: str | None = None
    targets: Targets | None = None
    notch_hz: Annotated[list[Annotated[float, Field(gt=0, lt=MAX_RATE_HZ / 2)]],
                        Field(max_length=64)] | None = None
    window_s: Annotated[float, Field(gt=0, le=MAX_WINDOW_S)] | None = None
    main: str | None = None
    accessory: str | None = None
    calibration: str | None = None  # the calibration mode: max, gentle, none, previous


class Device(Value):
    """The device a session was recorded from; other keys are shown and kept as plain text or
    numbers, so no nested values."""

    __pydantic_extra__: dict[str, str | bool | int | Number | None]
    name: str | None = None
    port: str | None = None
    fs_hz: Annotated[float, Field(gt=0, le=MAX_RATE_HZ)] | None = None
    posture: str | None = None


class CalibrationEntry(Value):
    """``Calibration.to_dict()`` of one channel: resting baseline and MVC in its unit."""

    baseline_mean: Level
    baseline_sd: Annotated[Level, Field(ge=0)]
    mvc: Level | None = None
    unit: str = "uV"
    source: str = "recorded"
    squeezes: list[Level] | None = None
    one_more: bool | None = None  # a 4th squeeze asked for: did it confirm one of the three?


class RestingTone(Value):
    mean: Level | None = None
    pct_mvc: Number | None = None
    cv_pct: Number | None = None
    unit: str | None = None


class Summary(Value):
    """The session summary: the numbers the history and progress read; the rest as JSON."""

    reps: Count = 0
    reps_met: Count = 0
    quick_count: Count | None = None
    fatigue_ratio: Number | None = None
    resting_tone: RestingTone | None = None
    text_nl: str | None = None
    text_en: str | None = None

    @model_validator(mode="after")
    def _met_of_done(self) -> Summary:
        if self.reps_met > self.reps:
            raise ValueError("reps_met is more than reps")
        return self


class Rep(Value):
    """``RepScore.to_dict()``: a repetition's index and whether it met its target; the
    measures (null where not measurable)."""

    index: Count
    met: bool
    cue_s: Time | None = None
    onset_s: Time | None = None
    offset_s: Time | None = None
    target_hold_s: Duration | None = None
    hold_s: Duration | None = None
    step_holds_s: Annotated[list[Duration | None], Field(max_length=1000)] = []
    rise_s: Time | None = None
    release_s: Time | None = None
    peak: Level | None = None
    peak_pct_mvc: Number | None = None
    mean: Level | None = None
    mean_pct_mvc: Number | None = None
    rest_residual_pct: Number | None = None
    unit: str | None = None
    flags: Annotated[list[str], Field(max_length=100)] = []
    section: str | None = None
    posture: str | None = None
    floors_pct_mvc: Annotated[list[Number | None], Field(max_length=100)] = []
    floors_cv_pct: Annotated[list[Number | None], Field(max_length=100)] = []
    floors_distinct: bool | None = None
    release_quick: bool | None = None


class ContractionValue(Value):
    """``Contraction.to_dict()``: one detected contraction of one channel."""

    channel: str
    onset_s: Time
    offset_s: Time
    peak: Level | None = None
    mean: Level | None = None
    unit: str | None = None
    rise_s: Time | None = None
    release_s: Time | None = None
    onset_sample: Count | None = None
    offset_sample: Count | None = None
    peak_pct_mvc: Number | None = None
    mean_pct_mvc: Number | None = None

    @model_validator(mode="after")
    def _ends_after_onset(self) -> ContractionValue:
        if self.offset_s < self.onset_s:
            raise ValueError("offset_s is before onset_s")
        return self


class Gap(Value):
    """Samples the device lost, filled by the recorder from ``t_s`` on."""

    t_s: Annotated[float, Field(ge=0, lt=MAX_TIME_S)]
    lost_samples: Annotated[int, Field(gt=0)]


class Padding(Value):
    """Where the writer's fill after the signal's true end starts."""

    from_s: Annotated[float, Field(ge=0, lt=MAX_TIME_S)]


_TEXT = TypeAdapter(Text, config=ConfigDict(strict=True))

# the model of each key's value; a key not named here (a newer version's) is kept unchecked
SCHEMAS: dict[str, TypeAdapter] = {
    "settings": TypeAdapter(Settings), "device": TypeAdapter(Device),
    "calibration": TypeAdapter(dict[str, CalibrationEntry], config=ConfigDict(strict=True)),
    "summary": TypeAdapter(Summary), "rep": TypeAdapter(Rep),
    "contraction": TypeAdapter(ContractionValue), "gap": TypeAdapter(Gap),
    "padding": TypeAdapter(Padding),
    **{key: _TEXT for key in ("posture", "protocol", "connected", "disconnected",
                              "reconnected", "warning", "error", "stopped", "lost")},
}

_WANTED = {"model_type": "an object", "dict_type": "an object", "string_type": "a string"}
_TAGS = {"list", "dict", "str", "int", "float", "bool"}  # JsonValue's union tags in a path


def problem(key: str, value: Any) -> str | None:
    """Why ``value`` cannot be a ``bbfeedback:<key>`` annotation's value (its first failing
    field and what is wrong with it), or None when it can."""
    schema = SCHEMAS.get(key)
    if schema is None:
        return None
    try:
        schema.validate_python(value)
    except ValidationError as exc:
        err = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in err["loc"] if p not in _TAGS)
        where = where if len(where) <= 60 else where[:57] + "..."
        where = where if where.isprintable() else repr(where)
        if not where and err["type"] in _WANTED:
            return f"holds {_kind(value)}, not {_WANTED[err['type']]}"
        return f"{where or 'the value'}: {err['msg'][:100]}"
    except RecursionError:
        return "nested too deeply"
    return None


def _kind(value: Any) -> str:
    """What a JSON value is, in words."""
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "a list", dict: "an object"}.get(type(value), type(value).__name__)
