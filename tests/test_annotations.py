"""The annotation codec: any length through our reader, edfio and MNE; damage never stops an
analysis (the signal is the source of truth), it is named in a warning."""

import json
import logging
import subprocess
from datetime import datetime

import edfio
import mne
import numpy as np
import pytest
from conftest import BB
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bbfeedback.app.analyze import AnalysisOptions, analyze
from bbfeedback.app.history import session_info
from bbfeedback.app.recorder import SessionRecorder
from bbfeedback.app.report import session_report
from bbfeedback.app.run import BlockList, run
from bbfeedback.app.simulated import SimulatedSource
from bbfeedback.app.sources import SIM_FULL_SCALE
from bbfeedback.errors import InputError
from bbfeedback.exercise import protocols
from bbfeedback.exercise.session import Session
from bbfeedback.recording import Annotation, Recording, log, read_recording
from bbfeedback.recording.annotations import PART_BYTES, decode, encode
from bbfeedback.recording.edf import write_edf
from bbfeedback.recording.edf_writer import EdfPlusWriter, SignalSpec
from bbfeedback.recording.schemas import (
    SCHEMAS,
    CalibrationEntry,
    ContractionValue,
    Device,
    Gap,
    Padding,
    Rep,
    Settings,
    Summary,
    problem,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**9, 10**9)
    | st.floats(allow_nan=False, allow_infinity=False, width=32) | st.text(max_size=300),
    lambda inner: st.lists(inner, max_size=8) | st.dictionaries(st.text(max_size=12), inner,
                                                                 max_size=8),
    max_leaves=60)


def write(path, items: list[tuple[str, object]]) -> None:
    with EdfPlusWriter(path, [SignalSpec("pfm", "uV", 100.0, -100, 100)],
                       datetime(2020, 1, 1)) as w:
        for i, (key, value) in enumerate(items):
            for text in encode(key, value):
                w.annotate(0.5 * i, text)
        w.write([np.zeros(100 * max(2, len(items)))])


def read_three_ways(path) -> list:
    """The decoded values as our reader (EDFlib), edfio and MNE give them back."""
    ours = read_recording(path).meta
    theirs = decode((a.onset, a.text) for a in edfio.read_edf(path).annotations)
    raw = mne.io.read_raw_edf(path, verbose="error")
    mnes = decode(zip(raw.annotations.onset, raw.annotations.description, strict=True))
    return [ours, theirs, mnes]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(values=st.lists(json_values, min_size=1, max_size=4))
def test_any_value_of_any_length_round_trips_through_three_readers(values, tmp_path):
    path = tmp_path / "a.edf"
    reps = [{"index": i, "met": True, "v": v} for i, v in enumerate(values)]
    write(path, [("rep", r) for r in reps])
    for meta in read_three_ways(path):
        assert meta.warnings == []
        assert meta.all("rep") == [json.loads(json.dumps(r)) for r in reps]


def test_long_texts_are_cut_in_parts_each_readable_by_edflib():
    value = {"text_nl": "Hield 4 van 5 keer 5 s vast. Na herhaling 3 onvolledig ontspannen. "
                        * 40, "ë": "é" * 900}
    texts = encode("summary", value)
    assert len(texts) > 5
    assert all(len(t.encode("utf-8")) <= PART_BYTES for t in texts)
    assert decode((0.0, t) for t in texts).last("summary") == value
    assert encode("settings", {"a": float("nan")}) == ['bbfeedback:settings {"a": null}']


def test_a_missing_or_damaged_part_is_ignored_with_a_warning():
    texts = encode("summary", {"x": "y" * 2000})
    meta = decode((0.0, t) for t in texts[:-1])
    assert meta.last("summary") is None and "incomplete" in meta.warnings[0]
    broken = texts[:1] + [texts[1][:-3] + "zzz"] + texts[2:]  # same length, other text
    meta = decode((0.0, t) for t in broken)
    assert meta.last("summary") is None and "damaged" in meta.warnings[0]


@pytest.fixture(scope="module")
def glazer_file(tmp_path_factory):
    """A Glazer session (its summary is the longest annotation) recorded as ``record`` does."""
    src = SimulatedSource("glazer", 500.0, seed=2)
    session = Session(protocols.load("glazer"), src.channels, src.fs_hz, start_s=src.start_s)
    path = tmp_path_factory.mktemp("glazer") / "glazer.edf"
    rec = SessionRecorder(path, src.channels, src.fs_hz, SIM_FULL_SCALE, session)
    end = run(BlockList(src.blocks), session, [rec])
    return path, json.loads(json.dumps(end.result.to_dict()))


def test_glazer_summary_comes_back_whole_from_three_readers(glazer_file):
    path, result = glazer_file
    assert len(json.dumps(result["summary"])) > 512  # longer than EDFlib returns
    for meta in read_three_ways(path):
        assert meta.last("summary") == result["summary"]
        assert meta.all("rep") == result["reps"]


def damage(path, out, how) -> None:
    rec = read_recording(path)
    notes = [Annotation(a.onset_s, a.duration_s, how(a.text)) for a in rec.annotations
             if not a.text.startswith("bbfeedback:padding")]
    write_edf(out, rec.signals, notes)


@pytest.mark.parametrize(("name", "how", "needle"), [
    ("settings-list", lambda t: 'bbfeedback:settings [1, 2]' if t.startswith(
        "bbfeedback:settings") else t, "bbfeedback:settings is damaged (holds a list"),
    ("calibration-json", lambda t: t[:-5] if t.startswith("bbfeedback:calibration") else t,
     "bbfeedback:calibration is not valid JSON"),
    ("rep-part", lambda t: "" if t.startswith("bbfeedback:part summary") and " 2/" in t
     else t, "bbfeedback:summary is incomplete"),
    ("calibration-shape", lambda t: 'bbfeedback:calibration {"pfm": {"mvc": "x"}}'
     if t.startswith("bbfeedback:calibration") else t,
     "bbfeedback:calibration is damaged (pfm.baseline_mean: Field required)"),
])
def test_a_damaged_annotation_still_analyses_with_a_warning(glazer_file, tmp_path, name, how,
                                                            needle):
    path, result = glazer_file
    out = tmp_path / f"{name}.edf"
    damage(path, out, how)
    got = subprocess.run([*BB, "analyze", str(out), "--protocol", "glazer", "--json"],
                         capture_output=True, text=True)
    assert got.returncode == 0, got.stderr
    assert "Traceback" not in got.stderr and needle in got.stderr
    assert got.stderr.startswith("bbfeedback: warning: ")
    doc = json.loads(got.stdout)
    assert doc["summary"]["reps"] == result["summary"]["reps"]  # scored from the signal


def test_repeated_values_are_kept_and_warning_floods_stay_quiet(tmp_path):
    texts = encode("summary", {"x": "y" * 1500})
    twice = decode((0.0, t) for t in texts + texts)  # the same long value noted twice
    assert twice.warnings == [] and twice.all("summary") == [{"x": "y" * 1500}] * 2
    flood = [(0.0, f"bbfeedback:part rep 0000000{k % 10} 1/2 x{k}") for k in range(200)]
    path = tmp_path / "flood.edf"
    with EdfPlusWriter(path, [SignalSpec("pfm", "uV", 100.0, -100, 100)],
                       datetime(2020, 1, 1)) as w:
        for onset, text in flood:
            w.annotate(onset, text)
        w.write([np.zeros(200)])
    got = subprocess.run([*BB, "analyze", str(path)], capture_output=True, text=True)
    warnings = [x for x in got.stderr.splitlines() if "warning" in x]
    assert len(warnings) == 6 and "and 5 more" in warnings[-1]


# --- every key's value checked against its model (recording.schemas) ------------------------
DEEP = json.loads("[" * 400 + "]" * 400)  # JSON reads it; deeper than any value we write
DAMAGED = [  # (key, value, what the warning says)
    ("settings", [1, 2], "holds a list, not an object"),
    ("settings", {"protocol": "glazer", "notch_hz": [0]}, "notch_hz.0: Input should be greater"),
    ("settings", {"notch_hz": 50}, "notch_hz: Input should be a valid list"),
    ("settings", {"window_s": 1e12}, "window_s: Input should be less than or equal to 2"),
    ("settings", {"window_s": float("nan")}, "window_s: Input should be a finite number"),
    ("settings", {"window_s": "0.15"}, "window_s: Input should be a valid number"),
    ("settings", {"targets": {"hold_s": [5, -1]}}, "targets.hold_s.1"),
    ("settings", {"main": ["pfm"]}, "main: Input should be a valid string"),
    ("device", ["sim"], "holds a list, not an object"),
    ("device", {"name": "sim", "fs_hz": float("inf")}, "fs_hz: Input should be a finite"),
    ("device", {"name": "sim", "fs_hz": "500"}, "fs_hz: Input should be a valid number"),
    ("device", {"name": "sim", "extra": {"nested": 1}}, "extra: Input should be"),
    ("calibration", {"pfm": [1, 2]}, "pfm: Input should be a valid dictionary"),
    ("calibration", {"pfm": {"baseline_mean": "3", "baseline_sd": 1, "mvc": 50}},
     "pfm.baseline_mean: Input should be a valid number"),
    ("calibration", {"pfm": {"baseline_mean": 3, "baseline_sd": -1, "mvc": 50}},
     "pfm.baseline_sd: Input should be greater than or equal to 0"),
    ("calibration", {"pfm": {"baseline_mean": 3, "baseline_sd": 1, "mvc": float("-inf")}},
     "pfm.mvc: Input should be a finite number"),
    ("calibration", {"pfm": {"baseline_mean": 3, "baseline_sd": 1, "mvc": 1e300}},
     "pfm.mvc: Input should be less than"),
    ("summary", "Held 4 of 5", "holds a string, not an object"),
    ("summary", {"reps": -3}, "reps: Input should be greater than or equal to 0"),
    ("summary", {"reps": 5, "reps_met": 7}, "reps_met is more than reps"),
    ("summary", {"reps": 5, "resting_tone": {"pct_mvc": "high"}}, "resting_tone.pct_mvc"),
    ("summary", {"reps": 5, "glazer": {"tonic": {"mean": float("nan")}}},
     "glazer.tonic.mean: Input should be a finite number"),
    ("rep", {"met": True, "hold_s": 5.0}, "index: Field required"),
    ("rep", {"index": 1, "met": "yes"}, "met: Input should be a valid boolean"),
    ("rep", {"index": True, "met": True}, "index: Input should be a valid integer"),
    ("rep", {"index": 1, "met": True, "hold_s": float("inf")}, "hold_s: Input should be a finite"),
    ("rep", {"index": 1, "met": True, "flags": "late"}, "flags: Input should be a valid list"),
    ("rep", {"index": 1, "met": True, "deep": DEEP}, "deep.0.0.0"),
    ("contraction", {"channel": "pfm", "onset_s": 9.0, "offset_s": 4.0},
     "offset_s is before onset_s"),
    ("contraction", {"channel": "pfm", "onset_s": "9", "offset_s": 10.0}, "onset_s"),
    ("gap", {"t_s": 12.0, "lost_samples": -40}, "lost_samples: Input should be greater than 0"),
    ("gap", {"t_s": 12.0, "lost_samples": 40.5}, "lost_samples: Input should be a valid integer"),
    ("gap", {"t_s": -1.0, "lost_samples": 40}, "t_s: Input should be greater than or equal to 0"),
    ("gap", {"lost_samples": 40}, "t_s: Field required"),
    ("padding", {}, "from_s: Field required"),
    ("padding", {"from_s": float("nan")}, "from_s: Input should be a finite number"),
    ("padding", [3.0], "holds a list, not an object"),
    ("posture", {"name": "supine"}, "holds an object, not a string"),
    ("protocol", 7, "holds a number, not a string"),
    ("disconnected", None, "holds null, not a string"),
]


def damaged_texts(key: str, value: object) -> list[str]:
    """A value as a damaged file holds it: NaN and infinities as JSON never has them (our
    writer cannot), long texts cut into parts as the codec cuts them."""
    text = json.dumps(value)
    if any(word in text for word in ("NaN", "Infinity")):
        return [f"bbfeedback:{key} {text}"]
    return encode(key, value)


def with_value(path, out, key: str, value: object, header: dict | None = None) -> None:
    """A copy of a recording whose ``key`` annotations are replaced by one holding ``value``."""
    rec = read_recording(path)
    notes = [a for a in rec.annotations if not a.text.startswith((
        "bbfeedback:padding", f"bbfeedback:{key} ", f"bbfeedback:part {key} "))]
    notes += [Annotation(1.0, 0.0, t) for t in damaged_texts(key, value)]
    write_edf(out, rec.signals, notes, header)


def analyse_glazer(path) -> tuple[Recording, dict, str]:
    """The recording, its analysis with the Glazer protocol and the warnings logged."""
    handler = _Collect()
    log.addHandler(handler)
    try:
        rec = read_recording(path)
        doc = analyze(rec, AnalysisOptions(), protocols.load("glazer"))
    finally:
        log.removeHandler(handler)
    return rec, doc, "\n".join(handler.lines)


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.mark.parametrize(("key", "value", "needle"), DAMAGED,
                         ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(DAMAGED)])
def test_a_damaged_value_is_left_out_with_one_warning_and_analysis_runs_from_the_signal(
        glazer_file, tmp_path, key, value, needle):
    path, result = glazer_file
    out = tmp_path / "damaged.edf"
    with_value(path, out, key, value)
    rec, doc, logged = analyse_glazer(out)
    named = [w for w in rec.meta.warnings if f"bbfeedback:{key} " in w]
    assert len(named) == 1, rec.meta.warnings
    assert named[0].startswith(f"annotation bbfeedback:{key} is damaged (") and \
        named[0].endswith("; ignored") and needle in named[0], named[0]
    assert named[0] in logged and key in rec.meta.damaged
    if key != "padding":  # the copy's writer notes its own padding
        assert rec.meta.all(key) == []
    assert rec.duration_s == pytest.approx(read_recording(path).duration_s)
    assert doc["summary"]["reps"] == result["summary"]["reps"]  # scored from the signal


@pytest.mark.parametrize(("key", "value", "needle"), [
    ("settings", {"notch_hz": [50.0, 400.0], "window_s": 0.15}, "does not fit 500 Hz"),
    ("gap", {"t_s": 9e6, "lost_samples": 40}, "does not fit the signal"),
    ("gap", {"t_s": 12.0, "lost_samples": 10**12}, "does not fit the signal"),
    ("padding", {"from_s": 9e6}, "does not fit the signal's end"),
    ("calibration", {"pfm": {"baseline_mean": 5.0, "baseline_sd": 1.0, "mvc": 2.0}},
     "has no MVC above rest"),
    # attack: a channel the file lacks made the file unreadable ("no channel named 'nochan'")
    ("settings", {"protocol": "glazer", "main": "nochan"},
     "the recorded main channel 'nochan' is not in the file; ignored"),
    ("settings", {"protocol": "glazer", "main": "pfm", "accessory": "nochan"},
     "the recorded accessory channel 'nochan' is not in the file; ignored"),
])
def test_a_sound_value_that_does_not_fit_the_signal_is_ignored_with_a_warning(
        glazer_file, tmp_path, key, value, needle):
    """What only the signal can tell is checked where it is at hand."""
    path, result = glazer_file
    out = tmp_path / "unfit.edf"
    with_value(path, out, key, value)
    rec, doc, logged = analyse_glazer(out)
    assert rec.meta.all(key)[-1] == value and key not in rec.meta.damaged
    assert needle in logged
    assert doc["summary"]["reps"] == result["summary"]["reps"]


def test_history_and_report_keep_a_session_whose_side_facts_are_damaged(glazer_file,
                                                                          tmp_path):
    """A damaged device, posture or summary costs only itself; damaged scores the file."""
    path, _ = glazer_file
    header = {"patient": "P-1", "start": datetime(2026, 11, 1, 9, 0)}
    step = tmp_path / "step.edf"
    with_value(path, step, "device", {"name": "sim", "fs_hz": "fast"}, header)
    with_value(step, tmp_path / "step2.edf", "posture", ["supine"], header)
    out = tmp_path / "side.edf"
    with_value(tmp_path / "step2.edf", out, "summary", {"reps": -1}, header)
    info = session_info(read_recording(out))
    assert info["device"] == {} and info["posture"] is None and info["summary"] == {}
    assert info["protocol"] == "glazer" and len(info["reps"]) > 0
    assert "<td>– (– Hz)</td>" in session_report(out)
    bad = tmp_path / "bad-rep.edf"
    rec = read_recording(out)
    notes = [a for a in rec.annotations if not a.text.startswith("bbfeedback:padding")]
    notes.append(Annotation(2.0, 0.0, 'bbfeedback:rep {"index": 99, "met": "yes"}'))
    write_edf(bad, rec.signals, notes, header)
    with pytest.raises(InputError, match="damaged repetition scores"):
        session_info(read_recording(bad))


FIELDS = sorted({name for model in (Settings, Device, CalibrationEntry, Summary, Rep,
                                    ContractionValue, Gap, Padding)
                 for name in model.model_fields} | {"pfm"})
any_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5)
    | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), inner, max_size=6),
    max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(key=st.sampled_from(sorted(SCHEMAS)) | st.text(max_size=12), value=any_json)
def test_any_json_value_under_any_key_never_raises_from_decode(key, value):
    texts = [f"bbfeedback:{key} {json.dumps(value)}"]  # NaN and infinities as Python writes
    if not any(w in texts[0] for w in ("NaN", "Infinity")):
        texts += encode(key, value)  # and as the codec writes: in parts if long
    meta = decode((0.0, t) for t in texts)
    if key in SCHEMAS:  # each value either kept or named in one warning
        written = 1 + (len(texts) > 1)
        assert len(meta.all(key)) + len(meta.warnings) == written
        assert all(problem(key, v) is None for v in meta.all(key))


@pytest.mark.parametrize("text", [
    'bbfeedback:settings {"window_s": ' + "9" * 5000 + "}",  # beyond Python's int digits
    "bbfeedback:rep " + "[" * 5000 + "]" * 5000,  # beyond Python's recursion
    "bbfeedback:summary " + '{"a": ' * 300 + "1" + "}" * 300,  # beyond pydantic's
    "bbfeedback:part rep 00000000 " + "9" * 5000 + "/" + "9" * 5000 + " x",
    "cue:work:squeeze rep=" + "9" * 5000,
    'bbfeedback:gap {"t_s": 1e400, "lost_samples": 3}',
    "bbfeedback:padding",
    "bbfeedback:",
])
def test_extreme_texts_never_raise(text):
    meta = decode([(0.0, text)])
    assert not any(meta.values.get(k) for k in SCHEMAS)
