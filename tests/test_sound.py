"""The window's sound (issue 13): a tone whose pitch follows the level, a chime per cue; no
device needed to test the synthesis, and no device is not an error."""

from __future__ import annotations

import numpy as np
import pytest
from bbfeedback.gui.sound import HIGH_HZ, LOW_HZ, SoundOutput, ToneSynth, pitch_hz


def _frequency(x: np.ndarray, fs_hz: float) -> float:
    crossings = np.flatnonzero((x[:-1] < 0) & (x[1:] >= 0))
    return (crossings.size - 1) / ((crossings[-1] - crossings[0]) / fs_hz)


def test_pitch_follows_the_level():
    assert pitch_hz(None) == LOW_HZ and pitch_hz(0) == LOW_HZ and pitch_hz(100) == HIGH_HZ
    assert pitch_hz(150) == HIGH_HZ and pitch_hz(float("nan")) == LOW_HZ
    assert LOW_HZ < pitch_hz(25) < pitch_hz(50) < pitch_hz(75) < HIGH_HZ


@pytest.mark.parametrize("level", [0.0, 30.0, 60.0, 100.0])
def test_the_tone_sounds_at_the_level_pitch(level):
    synth = ToneSynth()
    synth.tone_on = True
    synth.set_level(level)
    synth.render(8000)  # the glide settles
    x = synth.render(22050)
    assert _frequency(x, synth.fs_hz) == pytest.approx(pitch_hz(level), rel=0.01)


def test_a_changing_level_never_clicks_and_volume_zero_is_silent():
    synth = ToneSynth()
    synth.tone_on, synth.volume = True, 1.0
    blocks = []
    for level in (0, 100, 10, 90, 50):  # jumps between blocks, as the window sets it
        synth.set_level(level)
        blocks.append(synth.render(512))
    x = np.concatenate(blocks)
    step = 2 * np.pi * HIGH_HZ / synth.fs_hz * 0.5  # largest step of a sine at HIGH_HZ
    assert np.abs(np.diff(x)).max() <= step * 1.05 and np.abs(x).max() <= 1.0
    synth.volume = 0.0
    assert not synth.render(512).any()


def test_a_chime_plays_once_then_stops():
    synth = ToneSynth()
    assert not synth.render(1024).any()  # tone off, no chime: silence
    synth.chime()
    x = np.concatenate([synth.render(1024) for _ in range(10)])
    sound = np.flatnonzero(np.abs(x) > 1e-3)
    assert sound.size and sound[-1] < 0.2 * synth.fs_hz and not synth.render(1024).any()


def test_no_output_device_is_a_message_not_an_error(monkeypatch):
    import sys
    import types

    def no_device(*args, **kwargs):
        raise RuntimeError("Error querying device -1\nmore")

    monkeypatch.setitem(sys.modules, "sounddevice",
                        types.SimpleNamespace(OutputStream=no_device))
    out = SoundOutput()
    assert out.start() is False and out.problem == "Error querying device -1"  # first line
    out.stop()


def test_no_portaudio_is_a_message_not_an_error(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "sounddevice", None)  # import fails
    out = SoundOutput()
    assert out.start() is False and "libportaudio2" in out.problem


def test_the_callback_fills_the_device_buffer():
    out = SoundOutput()
    out.synth.tone_on = True
    buf = np.zeros((256, 1), np.float32)
    out._callback(buf, 256, None, None)
    assert np.abs(buf).max() > 0
