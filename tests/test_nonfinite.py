"""Every stage survives samples that are not numbers and empty blocks (issue 11): NaN,
infinities, absurd values, empty blocks and all-lost jumps never raise in the detector,
calibration or scoring, and the result is valid JSON (no NaN)."""

import dataclasses
import json
from functools import cache

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bbfeedback.app.run import BlockList, run
from bbfeedback.app.simulated import SimulatedSource
from bbfeedback.exercise import protocols
from bbfeedback.exercise.session import Session
from bbfeedback.signal.blocks import Block, Channel, SampleGuard

BAD = [np.nan, np.inf, -np.inf, 1e300, -1e12]


@cache
def _source(pid: str) -> SimulatedSource:
    return SimulatedSource(pid, 250.0, seed=3)


damage = st.lists(st.tuples(st.floats(0, 1), st.sampled_from(["value", "run", "empty", "jump"]),
                            st.sampled_from(BAD), st.integers(0, 10_000)),
                  min_size=1, max_size=12)


def _damaged(blocks: list[Block], ops: list) -> list[Block]:
    out = list(blocks)
    for where, kind, value, k in ops:
        i = min(int(where * len(out)), len(out) - 1)
        b = out[i]
        data = b.data.copy()
        if not len(data):
            continue
        if kind == "value":
            data[k % len(data), k % data.shape[1]] = value
        elif kind == "run":  # a stretch of one channel, or the whole block
            data[k % len(data):, k % data.shape[1]] = value
        elif kind == "empty":
            data = data[:0]
        else:  # the block vanishes: its samples are lost, the next one jumps
            out[i] = dataclasses.replace(b, data=data[:0])
            continue
        out[i] = dataclasses.replace(b, data=data)
    return out


@pytest.mark.parametrize("pid", protocols.builtin_ids())
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=damage)
def test_no_stage_raises_on_bad_samples_or_empty_blocks(pid, ops):
    src = _source(pid)
    blocks = _damaged(src.blocks, ops)
    session = Session(protocols.load(pid), src.channels, src.fs_hz, start_s=src.start_s)
    end = run(BlockList(blocks), session, [])
    json.dumps(end.result.to_dict(), allow_nan=False)
    assert np.isfinite(session.trace().values).all()  # the trace the patient sees


def test_a_session_fed_directly_holds_bad_samples_too():
    src = _source("a1-strength")
    blocks = _damaged(src.blocks, [(0.5, "run", np.nan, 7), (0.1, "empty", 0, 0),
                                   (0.0, "value", np.inf, 3)])
    session = Session(protocols.load("a1-strength"), src.channels, src.fs_hz,
                      start_s=src.start_s)
    for b in blocks:
        session.process(b)
    session.finish()
    json.dumps(session.result(), allow_nan=False)


def test_the_guard_holds_the_last_good_value():
    ch = (Channel.of_kind("pfm", "emg"), Channel.of_kind("p", "pressure"))
    guard = SampleGuard()
    a = guard.check(Block(np.array([[1.0, 2.0], [3.0, 4.0]]), 100.0, ch))
    assert guard.replaced == 0 and a.data[-1].tolist() == [3.0, 4.0]
    b = guard.check(Block(np.array([[np.nan, 5.0], [6.0, np.inf], [1e300, 2e4], [7.0, 8.0]]),
                          100.0, ch, start_sample=2))
    assert b.data.tolist() == [[3.0, 5.0], [6.0, 5.0], [6.0, 5.0], [7.0, 8.0]]
    assert guard.replaced == 4 and b.start_sample == 2


@pytest.mark.parametrize("value", ["1e300", "-1e12", "1e200"])
def test_analyze_without_a_protocol_holds_absurd_values_too(value, tmp_path, caplog):
    """Attacker finding: a CSV with finite but absurd values (1e300 µV) overflowed the
    envelope and ended ``analyze`` (no protocol: contractions only) in a traceback. It holds
    them as live sessions do, says how many, and finds the squeezes around them."""
    import logging
    import warnings

    from bbfeedback.app.analyze import analyze
    from bbfeedback.recording import read_recording

    fs = 500
    t = np.arange(40 * fs) / fs
    emg = np.random.default_rng(0).normal(0, 3, t.size)
    emg[10 * fs:15 * fs] *= 10  # a squeeze
    emg[25 * fs:30 * fs] *= 10  # another
    rows = [f"{a:.3f},{b:.4f}" for a, b in zip(t, emg, strict=True)]
    rows[20 * fs:21 * fs] = [f"{a:.3f},{value}" for a in t[20 * fs:21 * fs]]
    path = tmp_path / "absurd.csv"
    path.write_text("time_s,emg_uV\n" + "\n".join(rows) + "\n")
    logger = logging.getLogger("bbfeedback")  # the CLI's own handler may not propagate
    logger.addHandler(caplog.handler)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no numpy overflow on the way
            result = analyze(read_recording(str(path)))
    finally:
        logger.removeHandler(caplog.handler)
    json.dumps(result, allow_nan=False)
    assert "500 samples were not usable numbers" in caplog.text
    onsets = [round(c["onset_s"]) for c in result["contractions"]]
    assert onsets == [10, 25]
