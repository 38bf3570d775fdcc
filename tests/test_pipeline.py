"""Streaming stages: correct, and identical whatever the block sizes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bbfeedback.exercise.simulate import Patient, Squeeze, simulate
from bbfeedback.signal.blocks import EMG, PRESSURE, Block, Channel, split_blocks
from bbfeedback.signal.envelope import MovingRms
from bbfeedback.signal.filters import ZeroStage, detect_mains
from bbfeedback.signal.pipeline import Pipeline, PipelineConfig, resolve_notch

CHANNELS = (Channel.of_kind("pfm", EMG), Channel.of_kind("abd", EMG),
            Channel.of_kind("pressure", PRESSURE))


def _signal(fs: float, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / fs
    emg = 5 * rng.standard_normal((n, 2)) + 20 * np.sin(2 * np.pi * 50 * t)[:, None] + 100
    prs = 20 + 15 * (t > t[-1] / 2) + 0.3 * rng.standard_normal(n)
    return np.column_stack([emg, prs])


def _run(pipeline: Pipeline, block: Block, sizes) -> np.ndarray:
    return np.concatenate([pipeline.process(b).data for b in split_blocks(block, sizes)])


@settings(max_examples=40, deadline=None)
@given(
    fs=st.sampled_from([100.0, 250.0, 257.1, 1000.0, 2000.0, 4000.0]),
    sizes=st.lists(st.integers(1, 700), min_size=1, max_size=40),
    seed=st.integers(0, 2**16),
    window_s=st.floats(0.05, 0.25),
)
def test_pipeline_output_does_not_depend_on_block_sizes(fs, sizes, seed, window_s):
    n = 3000
    block = Block(_signal(fs, n, seed), fs, CHANNELS)
    config = PipelineConfig(notch_hz=resolve_notch("50", None, fs), window_s=window_s)
    whole = Pipeline(CHANNELS, fs, config).process(block).data
    chunked = _run(Pipeline(CHANNELS, fs, config), block, sizes)
    assert chunked.shape == whole.shape == (n, 3)
    assert np.max(np.abs(chunked - whole)) < 1e-9


def test_moving_rms_matches_direct_computation_across_reanchoring():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((40000, 2)) * np.array([3.0, 50.0])
    rms = MovingRms(2, 1000.0, 0.15)
    n = rms.window_n
    y = np.concatenate([rms.process(b) for b in np.array_split(x, 37)])
    padded = np.vstack([np.zeros((n - 1, 2)), x]) ** 2
    direct = np.sqrt(np.lib.stride_tricks.sliding_window_view(padded, n, axis=0).mean(axis=-1))
    assert np.max(np.abs(y - direct)) < 1e-9
    assert rms.delay_s == pytest.approx((n - 1) / 2 / 1000.0)


def test_zero_stage_subtracts_resting_pressure_causally():
    x = np.full((5000, 1), 20.0)
    x[3000:] += 30.0
    z = ZeroStage(1, 1000.0, zero_s=2.0)
    y = np.concatenate([z.process(b) for b in np.array_split(x, 7)])
    assert np.allclose(y[:3000], 0.0) and np.allclose(y[3000:], 30.0)
    assert z.offset[0] == pytest.approx(20.0)


@pytest.mark.parametrize("mains", [50.0, 60.0])
def test_mains_hum_is_detected_and_removed(mains):
    sim = simulate([Squeeze(3, 3)], 10, 1000, Patient(mains_hz=mains, hum_uV=20), seed=3)
    raw = sim.recording.signals[0].data
    found, harmonics = detect_mains(raw, 1000)
    assert found == mains and harmonics[0] == mains
    block = sim.recording.blocks()[0]
    with_notch = Pipeline(block.channels, 1000, PipelineConfig(notch_hz=harmonics))
    without = Pipeline(block.channels, 1000, PipelineConfig(notch_hz=[]))
    rest = slice(1500, 2800)  # before the squeeze: rest tone 3 µV plus hum
    assert with_notch.process(block).data[rest].mean() < 4.0
    assert without.process(block).data[rest].mean() > 8.0


def test_no_hum_means_no_notch():
    sim = simulate([Squeeze(3, 3)], 10, 1000, Patient(mains_hz=None), seed=4)
    assert detect_mains(sim.recording.signals[0].data, 1000) == (None, [])
    assert resolve_notch("auto", sim.recording.signals[0].data, 1000) == []
    assert resolve_notch("off", sim.recording.signals[0].data, 1000) == []


def test_notch_harmonics_stay_below_nyquist():
    assert resolve_notch("60", None, 250) == [60.0]
    assert resolve_notch("60", None, 300) == [60.0, 120.0]
    assert max(resolve_notch("50", None, 4000)) <= 500.0


def test_sample_rate_too_low_for_emg_band_is_refused():
    with pytest.raises(ValueError, match="too low"):
        Pipeline(CHANNELS, 50.0)
