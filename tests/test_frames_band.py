"""The therapist window's lower plot is the band-passed EMG (issue 24 walkthrough: it showed
the raw signal's baseline wander, ±40 µV at 0.3 Hz, under the label "gefilterd µV", since the
pipeline's band-passed output had moved to ``Stages`` and the frame still looked for an
attribute that was gone)."""

import numpy as np

from bbfeedback.app.frames import FramePublisher
from bbfeedback.app.run import BlockList, run
from bbfeedback.app.simulated import SimulatedSource
from bbfeedback.exercise import protocols
from bbfeedback.exercise.session import Session


def test_the_frame_band_is_the_band_passed_signal():
    src = SimulatedSource("a1-strength", 500.0, seed=1)
    blocks = [b for b in src.blocks if b.end_sample <= 20 * 500]  # the first 20 s
    session = Session(protocols.load("a1-strength"), src.channels, src.fs_hz,
                      start_s=src.start_s)
    frames = FramePublisher(src.fs_hz, src.channels, window_s=10.0)
    run(BlockList(blocks), session, [frames], finish=False)
    frame = frames.latest
    raw, band = frame.raw, frame.band
    assert band.shape == raw.shape and raw.shape[0] == 10 * 500
    slow = np.abs(_lowpass(raw)).max(axis=0)
    assert (slow > 5.0).all(), slow  # the raw signal wanders (the walkthrough's wave)
    assert (np.abs(_lowpass(band)).max(axis=0) < 0.2 * slow).all()
    assert session.last_band is not None and session.last_band.shape[1] == 2


def _lowpass(x: np.ndarray) -> np.ndarray:
    """The slow part of each channel: a 1-s moving average (passes the 0.3 Hz wander)."""
    k = np.ones(500) / 500
    return np.column_stack([np.convolve(x[:, c], k, mode="valid") for c in range(x.shape[1])])
