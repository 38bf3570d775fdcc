"""The annotation codec: any length through our reader, edfio and MNE; damage never stops an
analysis (the signal is the source of truth), it is named in a warning."""

import json
import subprocess
from datetime import datetime

import edfio
import mne
import numpy as np
import pytest
from bbfeedback.drivers.simulated import SimulatedSource
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bbfeedback.app.recorder import SessionRecorder
from bbfeedback.app.run import BlockList, run
from bbfeedback.app.sources import SIM_FULL_SCALE
from bbfeedback.exercise import protocols
from bbfeedback.exercise.session import Session
from bbfeedback.recording import Annotation, read_recording
from bbfeedback.recording.annotations import PART_BYTES, decode, encode
from bbfeedback.recording.edf import write_edf
from bbfeedback.recording.edf_writer import EdfPlusWriter, SignalSpec

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
    write(path, [("rep", {"v": v}) for v in values])
    for meta in read_three_ways(path):
        assert meta.warnings == []
        assert meta.all("rep") == [json.loads(json.dumps({"v": v})) for v in values]


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
    return path, json.loads(json.dumps(end.result))


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
        "bbfeedback:settings") else t, "bbfeedback:settings holds a list"),
    ("calibration-json", lambda t: t[:-5] if t.startswith("bbfeedback:calibration") else t,
     "bbfeedback:calibration is not valid JSON"),
    ("rep-part", lambda t: "" if t.startswith("bbfeedback:part summary") and " 2/" in t
     else t, "bbfeedback:summary is incomplete"),
    ("calibration-shape", lambda t: 'bbfeedback:calibration {"pfm": {"mvc": "x"}}'
     if t.startswith("bbfeedback:calibration") else t, "calibration of 'pfm' is damaged"),
])
def test_a_damaged_annotation_still_analyses_with_a_warning(glazer_file, tmp_path, name, how,
                                                            needle):
    path, result = glazer_file
    out = tmp_path / f"{name}.edf"
    damage(path, out, how)
    got = subprocess.run(["bbfeedback", "analyze", str(out), "--protocol", "glazer", "--json"],
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
    got = subprocess.run(["bbfeedback", "analyze", str(path)], capture_output=True, text=True)
    warnings = [x for x in got.stderr.splitlines() if "warning" in x]
    assert len(warnings) == 6 and "and 5 more" in warnings[-1]
