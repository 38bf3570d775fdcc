"""Lab Streaming Layer: the outlet sink and the inlet source, over loopback in this process.

Every test gives its streams a name of its own, so tests (and other processes on the machine)
do not see each other's streams. Waits are on data with deadlines, never a sleep then assert.
"""

from __future__ import annotations

import json
import threading
import time
import uuid

import numpy as np
import pytest
from bbfeedback.drivers import lsl_inlet
from bbfeedback.drivers.lsl_inlet import LslInletSource, channel_kind, lsl_library
from conftest import SAMPLES

from bbfeedback.app import cli
from bbfeedback.app.analyze import stream
from bbfeedback.app.lsl import LslOutlet, source_id
from bbfeedback.app.recorder import SessionRecorder
from bbfeedback.app.rescore_setup import recorded_protocol_itself
from bbfeedback.app.run import BlockList, Sink, run
from bbfeedback.app.sources import SIM_FULL_SCALE, open_source
from bbfeedback.exercise.session import Session
from bbfeedback.recording import read_recording
from bbfeedback.recording.annotations import cue_text, finite
from bbfeedback.signal.blocks import EMG, OTHER, PRESSURE, Block, Channel
from bbfeedback.signal.pipeline import Pipeline

A1 = SAMPLES / "a1_strength_emg.edf"
# a reader thread that dies is a failure, not a warning nobody reads
pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
pylsl = lsl_library()  # liblsl told to keep its INFO lines to itself before anything else


def unique(what: str) -> str:
    return f"bbf-test-{what}-{uuid.uuid4().hex[:10]}"


def first_work_cue_s(rec) -> float:
    """When the recorded protocol's first (non-calibration) work cue was."""
    return next(a.onset_s for a in rec.annotations if a.text.startswith("cue:work"))


def take(source, n_samples: int, timeout_s: float = 15.0) -> list:
    """Everything the source hands on until it has given ``n_samples`` samples."""
    items, got, deadline = [], 0, time.monotonic() + timeout_s
    while got < n_samples and time.monotonic() < deadline:
        item = source.get(timeout=0.1)
        if item is not None:
            items.append(item)
            got += item.n_samples if isinstance(item, Block) else 0
    return items


def pull_markers(inlet, n: int, timeout_s: float = 10.0) -> tuple[list[str], list[float]]:
    texts, stamps, deadline = [], [], time.monotonic() + timeout_s
    while len(texts) < n and time.monotonic() < deadline:
        data, ts = inlet.pull_chunk(timeout=0.1, max_samples=1000)
        texts += [d[0] for d in data]
        stamps += list(ts)
    return texts, stamps


class Keep(Sink):
    """What the run loop handed on: blocks and every event, in order."""

    def __init__(self):
        self.blocks: list[Block] = []
        self.events: list = []

    def block(self, block, events, session) -> None:
        self.blocks.append(block)
        self.events += events

    def finish(self, session, events, result) -> None:
        self.events += events


def channels_of(info) -> list[dict]:
    out, ch = [], info.desc().child("channels").child("channel")
    while not ch.empty():
        out.append({k: ch.child_value(k) for k in ("label", "unit", "type")})
        ch = ch.next_sibling("channel")
    return out


def test_round_trip_samples_timestamps_description_and_markers():
    """Outlet -> inlet: the same samples (float32), the same timestamp mapping, the channel
    description, and every cue, contraction on/offset and repetition score at its time."""
    rec = read_recording(A1)
    whole = rec.blocks()[0]
    fs = whole.fs_hz
    session = Session(recorded_protocol_itself(rec), whole.channels, fs,
                      start_s=first_work_cue_s(rec))
    name = unique("rt")
    outlet = LslOutlet(whole.channels, fs, "sim", patient="P-rt", session=session, name=name)
    raw_in = LslInletSource(name, wait_s=5.0)
    env_in = LslInletSource(f"{name}-envelope", wait_s=5.0)
    marker_info = pylsl.resolve_byprop("name", f"{name}-markers", timeout=5.0)[0]
    markers_in = pylsl.StreamInlet(marker_info)
    markers_in.open_stream(timeout=5.0)

    # the description, as LabRecorder would store it in the XDF header
    full = pylsl.StreamInlet(pylsl.resolve_byprop("name", name, timeout=5.0)[0]).info(5.0)
    assert full.type() == "EMG" and full.nominal_srate() == fs
    assert full.channel_format() == pylsl.cf_float32
    assert full.source_id() == source_id("sim", None, "P-rt", "raw")
    assert "P-rt" not in full.as_xml()  # the patient's code is not broadcast
    assert channels_of(full) == [{"label": "pfm", "unit": "microvolts", "type": "EMG"},
                                 {"label": "abdominal", "unit": "microvolts", "type": "EMG"}]
    acq = full.desc().child("acquisition")
    assert acq.child_value("model") == "sim" and acq.child_value("manufacturer")
    assert marker_info.type() == "Markers" and marker_info.nominal_srate() == 0
    assert marker_info.channel_format() == pylsl.cf_string
    assert raw_in.channels == whole.channels  # read back: names, kind EMG, unit µV
    assert env_in.channels == whole.channels

    keep = Keep()
    raw_in.start()
    env_in.start()
    t_push = time.perf_counter()
    end = run(BlockList(stream(whole, 0.04)), session, [keep, outlet])
    assert end.end_sample == whole.n_samples and end.result is not None
    raw_items = take(raw_in, whole.n_samples)
    raw_s = time.perf_counter() - t_push
    env_items = take(env_in, whole.n_samples)
    raw_in.stop()
    env_in.stop()

    raw = [b for b in raw_items if isinstance(b, Block)]
    assert raw_items[0].kind == "connected"
    got = np.concatenate([b.data for b in raw])
    assert got.shape == whole.data.shape
    np.testing.assert_array_equal(got, whole.data.astype(np.float32))  # float32, bit-exact
    assert [b.start_sample for b in raw] == list(np.cumsum([0] + [b.n_samples for b in raw])[:-1])
    assert sum(b.lost_before for b in raw) == 0
    # the mapping: sample k of the inlet is stamped t0 + k / fs by the outlet
    assert raw_in.t0_lsl == pytest.approx(outlet.t0_lsl, abs=1e-9)
    for b in raw:
        assert b.meta["lsl_t_s"] == pytest.approx(outlet.t0_lsl + b.start_sample / fs, abs=1e-6)

    env = np.concatenate([b.data for b in env_items if isinstance(b, Block)])
    offline = Pipeline(whole.channels, fs, session.pipeline.config).process(whole).data
    np.testing.assert_allclose(env, offline.astype(np.float32), rtol=1e-5, atol=1e-3)

    expected_n = outlet.markers_sent
    texts, stamps = pull_markers(markers_in, expected_n)
    assert len(texts) == expected_n
    t0 = outlet.t0_lsl
    cues = [(t, s) for t, s in zip(texts, stamps, strict=True)
            if t.startswith(("cue:", "calib:"))]
    assert [c[0] for c in cues] == [cue_text(c.calibration, c.kind, c.cue, c.rep)
                                    for c in session.cues]
    assert [c[1] for c in cues] == pytest.approx([t0 + c.t_s for c in session.cues], abs=1e-6)
    assert "cue:work:squeeze_max rep=3" in texts
    ons = [i for i, t in enumerate(texts) if t.startswith("contraction:on ")]
    assert len(ons) == len(session.contractions) > 0
    for i, c in zip(ons, session.contractions, strict=True):
        assert texts[i + 1].startswith("contraction:off ")  # each onset, then its offset
        assert json.loads(texts[i].split(" ", 1)[1]) == {"channel": c.channel}
        assert json.loads(texts[i + 1].split(" ", 1)[1]) == finite(c.to_dict())
        assert stamps[i] == pytest.approx(t0 + c.onset_s, abs=1e-6)  # its own time, in the
        assert stamps[i + 1] == pytest.approx(t0 + c.offset_s, abs=1e-6)  # past when sent
    reps = [(json.loads(t.split(" ", 1)[1]), s) for t, s in zip(texts, stamps, strict=True)
            if t.startswith("rep ")]
    assert [r for r, _ in reps] == [finite(r.to_dict()) for r in session.reps] and len(reps) == 5
    assert [s for _, s in reps] == pytest.approx([t0 + r.cue_s for r in session.reps],
                                                 abs=1e-6)
    markers_in.close_stream()
    assert texts[-1].startswith("summary ")
    assert json.loads(texts[-1].split(" ", 1)[1]) == finite(end.result.to_dict()["summary"])
    print(f"\nLSL round trip: {got.size} samples ({whole.n_samples} x {got.shape[1]} ch, "
          f"{whole.n_samples / fs:.0f} s) bit-equal in float32, {env.size} envelope values, "
          f"{len(texts)} markers ({len(cues)} cues, {len(ons)} contractions, {len(reps)} reps);"
          f" session + push + receive {raw_s:.2f} s")
    outlet.close(linger_s=0)


def test_live_latency():
    """A live-paced block reaches the inlet's consumer within a few milliseconds."""
    ch = (Channel("pfm", EMG, "uV"),)
    name = unique("lat")
    outlet = LslOutlet(ch, 1000.0, "sim", name=name)
    src = LslInletSource(name, wait_s=5.0).start()
    assert src.get(timeout=2.0).kind == "connected"
    delays = []
    for k in range(20):
        block = Block(np.full((20, 1), float(k)), 1000.0, ch, 20 * k)
        t = time.perf_counter()
        outlet.block(block, [], None)
        got = take(src, 20, timeout_s=2.0)
        delays.append(time.perf_counter() - t)
        assert np.all(np.concatenate([b.data for b in got if isinstance(b, Block)]) == k)
    src.stop()
    outlet.close(linger_s=0)
    median_ms = 1000 * float(np.median(delays))
    print(f"\nLSL push -> inlet source get: median {median_ms:.1f} ms, "
          f"max {1000 * max(delays):.1f} ms (20 blocks of 20 samples)")
    assert median_ms < 200


def push_recording(outlet, data: np.ndarray, fs: float, chunk: int, t0: float) -> None:
    for a in range(0, data.shape[0], chunk):
        part = data[a:a + chunk]
        outlet.push_chunk(np.ascontiguousarray(part), t0 + (a + part.shape[0] - 1) / fs)


def emg_outlet(name: str, labels: list[str], unit: str, fs: float, fmt=None,
               stream_type: str = "EMG", source_id: str | None = None):
    info = pylsl.StreamInfo(name, stream_type, len(labels), fs, fmt or pylsl.cf_float32,
                            source_id or name + "-sid")
    chans = info.desc().append_child("channels")
    for label in labels:
        c = chans.append_child("channel")
        c.append_child_value("label", label)
        c.append_child_value("unit", unit)
        c.append_child_value("type", stream_type)
    return pylsl.StreamOutlet(info)


def nested_approx(value: object) -> object:
    """``value`` with every float compared to 1e-12 relative."""
    if isinstance(value, float):
        return pytest.approx(value, rel=1e-12, abs=1e-12, nan_ok=True)
    if isinstance(value, dict):
        return {k: nested_approx(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [nested_approx(v) for v in value]
    return value


def analyzed(path) -> dict:
    rec = read_recording(path)
    from bbfeedback.app.analyze import analyze

    out = analyze(rec, None, recorded_protocol_itself(rec))
    return {k: out[k] for k in ("reps", "summary", "calibration", "contractions", "gaps")}


def test_inlet_session_scores_equal_to_the_file(tmp_path):
    """A recording played into an LSL stream (another program's outlet, in mV) and recorded
    from it with ``--device lsl``'s source, session and recorder: the same file signal, the
    same live scores as the file through the same run loop, the same analysis."""
    rec = read_recording(A1)
    whole = rec.blocks()[0]
    fs = whole.fs_hz
    proto = recorded_protocol_itself(rec)
    start_s = first_work_cue_s(rec)
    name = unique("a1")
    out = emg_outlet(name, [c.name for c in whole.channels], "mV", fs)
    src = open_source("lsl", None, stream=name)
    assert (src.name, src.fs_hz, src.channels) == ("lsl", fs, whole.channels)
    t0 = pylsl.local_clock()
    push_recording(out, (whole.data / 1000.0).astype(np.float32), fs, 37, t0)

    path = tmp_path / "via-lsl.edf"
    session = Session(proto, src.channels, fs, start_s=start_s)
    recorder = SessionRecorder(path, src.channels, fs, SIM_FULL_SCALE, session,
                               {"name": "lsl", "port": name, "fs_hz": fs}, "SAMPLE-01")
    try:
        end = run(src.stream, session, [recorder], until_sample=whole.n_samples)
    finally:
        src.stream.stop()
    assert end.reason == "limit" and end.lost_samples == 0
    assert src.stream.t0_lsl == pytest.approx(t0, abs=1e-6)

    # the same signal from the file, through the same live path
    direct = Session(proto, whole.channels, fs, start_s=start_s)
    direct_rec = SessionRecorder(tmp_path / "direct.edf", whole.channels, fs, SIM_FULL_SCALE,
                                 direct, {"name": "sim", "fs_hz": fs}, "SAMPLE-01")
    direct_end = run(BlockList(stream(whole, 0.04)), direct, [direct_rec])
    # equal: to the last bit but for sums over blocks of other sizes (the baseline's mean)
    assert end.result.to_dict() == nested_approx(direct_end.result.to_dict())
    assert end.result.to_dict()["reps"] == direct_end.result.to_dict()["reps"]
    assert len(end.result.to_dict()["reps"]) == 5

    again = read_recording(path).blocks()[0]
    np.testing.assert_array_equal(again.data, whole.data)  # the file holds the same samples
    a, b = analyzed(path), analyzed(A1)
    assert a == nested_approx(b)  # the live calibration is recorded: its mean to 1e-15
    assert [r["flags"] for r in a["reps"]] == [r["flags"] for r in b["reps"]]
    print(f"\nLSL inlet session: {whole.n_samples} samples x {len(whole.channels)} ch, "
          f"{len(a['reps'])} reps, {len(a['contractions'])} contractions: live result and "
          "analysis equal to the file's")


def test_timestamp_gap_is_a_gap_on_the_sample_clock():
    """A jump of the timestamps (lost samples) becomes ``lost_before`` and a jump of
    ``start_sample``; timestamps jittered by up to a fifth of a period are no gap."""
    fs = 500.0
    name = unique("gap")
    out = emg_outlet(name, ["pfm"], "uV", fs, pylsl.cf_double64)
    src = open_source("lsl", name)  # the GUI gives the stream's name as the port
    x = np.arange(1300, dtype=float)[:, None]
    keep_idx = np.r_[0:600, 900:1300]  # 300 samples never sent
    t0 = pylsl.local_clock()
    jitter = np.random.default_rng(1).uniform(-0.2, 0.2, x.shape[0]) / fs
    stamps = t0 + np.arange(x.shape[0]) / fs + jitter
    for a in range(0, keep_idx.size, 50):
        idx = keep_idx[a:a + 50]
        out.push_chunk(np.ascontiguousarray(x[idx]), list(stamps[idx]))
    keep = Keep()
    try:
        end = run(src.stream, None, [keep], until_sample=1300)
    finally:
        src.stream.stop()
    assert end.reason == "limit" and end.lost_samples == 300
    gaps = [b for b in keep.blocks if b.lost_before]
    assert [(b.start_sample, b.lost_before) for b in gaps] == [(900, 300)]
    got = np.concatenate([b.data for b in keep.blocks])[:, 0]
    np.testing.assert_array_equal(got, x[keep_idx, 0])  # each sample at its own index:
    starts = np.concatenate([np.arange(b.start_sample, b.end_sample) for b in keep.blocks])
    np.testing.assert_array_equal(starts, keep_idx)  # value k is sample k


def test_to_blocks_units_and_gaps_without_a_network():
    """The timestamp -> sample clock conversion alone: a chunk split at a gap."""
    src = LslInletSource.__new__(LslInletSource)
    src.fs_hz, src.t0_lsl, src.samples, src.lost_samples, src._next_ts = 100.0, None, 0, 0, 0.0
    src.channels = (Channel("p", PRESSURE, "cmH2O"),)
    src._columns, src._factors = [1], np.array([1.3595])
    ts = 10.0 + np.r_[0:5, 8:10] / 100.0
    data = np.column_stack([np.zeros(7), np.arange(7.0)])
    blocks = src.to_blocks(data, ts)
    assert [(b.start_sample, b.n_samples, b.lost_before) for b in blocks] == [(0, 5, 0),
                                                                           (8, 2, 3)]
    np.testing.assert_allclose(blocks[1].data[:, 0], [5 * 1.3595, 6 * 1.3595])
    more = src.to_blocks(data[:2], 10.0 + np.array([0.10, 0.11]))  # carries on across chunks
    assert [(b.start_sample, b.lost_before) for b in more] == [(10, 0)]
    # attacker finding: a clock that jumps by hours is reset, not an hour of fill
    later = src.to_blocks(data[:2], 10.0 + 36000 + np.array([0.0, 0.01]))
    assert [(b.start_sample, b.lost_before) for b in later] == [(12, 0)]


@pytest.mark.parametrize(("label", "unit", "ctype", "stype", "kind", "factor"), [
    ("pfm", "microvolts", "EMG", "EMG", EMG, 1.0),
    ("pfm", "mV", "", "", EMG, 1000.0),
    ("ch1", "", "", "EMG", EMG, 1.0),
    ("probe", "mmHg", "", "Pressure", PRESSURE, 1.3595),
    ("probe", "", "Pressure", "EMG", PRESSURE, 1.0),
    ("ECG", "uV", "", "ExG", OTHER, 1.0),
    ("acc_x", "g", "Accelerometer", "EMG", OTHER, 1.0),
])
def test_channel_kind_from_the_description(label, unit, ctype, stype, kind, factor):
    assert channel_kind(label, unit, ctype, stype) == (kind, pytest.approx(factor))


def one_line_exit_2(capfd, argv: list[str], words: str) -> None:
    assert cli.main(argv) == 2
    out, err = capfd.readouterr()
    assert err.count("\n") == 1 and words in err and "Traceback" not in err, err


def test_user_mistakes_are_one_line_and_exit_2(capfd, tmp_path, monkeypatch):
    monkeypatch.setattr(lsl_inlet, "RESOLVE_S", 0.5)
    out = str(tmp_path / "x.edf")
    base = ["record", "--seconds", "1", "--out", out]
    one_line_exit_2(capfd, base + ["--device", "lsl", "--stream", unique("none")],
                    "no LSL stream named")
    one_line_exit_2(capfd, base + ["--stream", "EMG"], "--stream is for --device lsl")
    one_line_exit_2(capfd, base + ["--device", "lsl"], "--device lsl needs --stream")
    one_line_exit_2(capfd, ["gui", "--device", "sim", "--stream", "EMG"],
                    "--stream is for --device lsl")
    name = unique("markers")
    markers = pylsl.StreamOutlet(pylsl.StreamInfo(name, "Markers", 1, pylsl.IRREGULAR_RATE,
                                                  pylsl.cf_string, name))
    one_line_exit_2(capfd, base + ["--device", "lsl", "--stream", name], "carries text")
    name = unique("irregular")
    irregular = pylsl.StreamOutlet(pylsl.StreamInfo(name, "EMG", 1, pylsl.IRREGULAR_RATE,
                                                    pylsl.cf_float32, name))
    one_line_exit_2(capfd, base + ["--device", "lsl", "--stream", name], "no regular")
    name = unique("acc")
    acc = emg_outlet(name, ["x", "y", "z"], "g", 100.0, stream_type="Accelerometer")
    one_line_exit_2(capfd, base + ["--device", "lsl", "--stream", name],
                    "has no EMG or pressure channel")
    assert not (tmp_path / "x.edf").exists()
    del markers, irregular, acc


def test_record_lsl_publishes_what_it_records(tmp_path):
    """``bbfeedback record --lsl``: the streams appear (found by their source id, which only
    device, port and patient decide) and carry the recording's samples on the sample clock."""
    patient = f"T{uuid.uuid4().hex[:8]}"
    sid = source_id("sim", None, patient, "raw")
    path = tmp_path / "sim.edf"
    codes = []
    worker = threading.Thread(target=lambda: codes.append(cli.main(
        ["record", "--device", "sim", "--seconds", "3", "--out", str(path), "--patient",
         patient, "--lsl"])))
    worker.start()
    try:
        info = pylsl.resolve_byprop("source_id", sid, timeout=5.0)
        assert info, "the raw stream of record --lsl was not found"
        inlet = pylsl.StreamInlet(info[0])
        inlet.open_stream(timeout=5.0)
        values, stamps = [], []
        deadline = time.monotonic() + 8.0
        while worker.is_alive() and time.monotonic() < deadline:
            data, ts = inlet.pull_chunk(timeout=0.1, max_samples=1000, as_numpy=True)
            if len(ts):
                values.append(data)
                stamps.append(ts)
    finally:
        worker.join(10.0)
    data, ts = inlet.pull_chunk(timeout=0.2, max_samples=10000, as_numpy=True)
    values.append(data)  # what arrived while the worker finished
    stamps.append(ts)
    assert codes == [0]
    fs = 1000.0
    ts = np.concatenate(stamps)
    assert ts.size > 500
    np.testing.assert_allclose(np.diff(ts), 1 / fs, atol=1e-6)  # on the sample clock
    assert channels_of(inlet.info(2.0))[0]["unit"] == "microvolts"
    written = read_recording(path).blocks()[0]
    got = np.concatenate(values)
    k = int(round((ts[0] - ts[-1]) * fs)) + written.n_samples - 1  # index of the first
    np.testing.assert_array_equal(got, written.data[k:k + got.shape[0]].astype(np.float32))


def test_gui_controller_publishes_with_lsl():
    """``bbfeedback gui --lsl``: the live session's worker feeds the outlets too."""
    from bbfeedback.gui.controller import LiveController

    from bbfeedback.exercise import protocols

    patient = f"G{uuid.uuid4().hex[:8]}"
    controller = LiveController()
    controller.lsl = True
    controller.start_live("sim", None, protocols.load("a1-strength"), None, patient, speed=4.0)
    try:
        info = pylsl.resolve_byprop("source_id", source_id("sim", None, patient, "markers"),
                                    timeout=5.0)
        assert info and info[0].name() == "bbfeedback-markers"
        inlet = pylsl.StreamInlet(info[0])
        texts, _ = pull_markers(inlet, 1)
        assert texts and texts[0].startswith(("calib:", "cue:"))
        inlet.close_stream()
    finally:
        controller.stop()
    assert controller.outlet is None  # closed with the session


def test_pressure_only_device_is_a_pressure_stream():
    """A pressure probe alone: stream type "Pressure", unit cmH2O, read back as pressure."""
    ch = (Channel("probe", PRESSURE, "cmH2O"),)
    name = unique("p")
    outlet = LslOutlet(ch, 100.0, "ascii", port="/dev/ttyUSB0", name=name)
    src = LslInletSource(name, wait_s=5.0)
    full = pylsl.StreamInlet(pylsl.resolve_byprop("name", name, timeout=5.0)[0]).info(5.0)
    assert full.type() == "Pressure"
    assert channels_of(full) == [{"label": "probe", "unit": "cmH2O", "type": "Pressure"}]
    assert src.channels == ch
    src.start()
    outlet.block(Block(np.linspace(20.0, 60.0, 50)[:, None], 100.0, ch, 0), [], None)
    got = [b for b in take(src, 50, 5.0) if isinstance(b, Block)]
    src.stop()
    outlet.close(linger_s=0)
    np.testing.assert_allclose(np.concatenate([b.data for b in got])[:, 0],
                               np.linspace(20.0, 60.0, 50), rtol=1e-6)


def test_two_streams_of_one_name_are_named_not_mixed_up(tmp_path, monkeypatch):
    """Walkthrough finding: two stations publishing "bbfeedback" were joined silently to one
    of them. Now one line names their source ids, and a source id picks one."""
    from bbfeedback.drivers.lsl_inlet import resolve

    from bbfeedback.errors import InputError

    name = unique("twin")
    a = emg_outlet(name, ["pfm"], "uV", 500.0, source_id=unique("station-a"))
    b = emg_outlet(name, ["pfm"], "uV", 500.0, source_id=unique("station-b"))
    with pytest.raises(InputError, match="2 LSL streams are named .*give --stream SOURCE_ID"):
        resolve(name, 5.0)
    assert resolve(b.get_info().source_id(), 5.0).source_id() == b.get_info().source_id()
    src = LslInletSource(a.get_info().source_id(), 5.0)
    assert src.channels[0].name == "pfm"
    src.stop()


def test_the_source_id_hides_the_patient_code(tmp_path, monkeypatch):
    """Walkthrough finding: an unsalted hash of 'P-7' can be found by trying codes. The id
    is keyed with this computer's own key (kept private), stable between runs."""
    import hashlib

    from bbfeedback.app import lsl

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    lsl._salt.cache_clear()
    first = source_id("sim", None, "P-7", "raw")
    plain = hashlib.sha256(b"sim||P-7").hexdigest()[:16]
    assert plain not in first
    key = tmp_path / "bbfeedback" / "lsl-key"
    assert key.stat().st_mode & 0o777 == 0o600
    lsl._salt.cache_clear()
    assert source_id("sim", None, "P-7", "raw") == first  # the same after a restart
    lsl._salt.cache_clear()
