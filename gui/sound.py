"""Sound for patients who practise with their eyes closed: a tone whose pitch follows the
contraction level, and a short two-note chime at every new cue.

The tone is synthesised in the audio callback (``ToneSynth.render``), phase-continuous so a
changing level never clicks; the window only sets the level and asks for chimes, so sound
adds no work, and no delay, to drawing. Output is ``sounddevice`` (PortAudio): small, well
kept, a low-latency callback stream on Linux, macOS and Windows. Without PortAudio or an
output device the window says so in one line and stays silent.
"""

from __future__ import annotations

import threading

import numpy as np

FS_HZ = 44100
LOW_HZ, HIGH_HZ = 220.0, 880.0  # rest .. 100 % MVC: two octaves, pleasant at both ends
CHIME_HZ = (660.0, 990.0)
CHIME_NOTE_S = 0.09
GLIDE_S = 0.03  # the pitch follows the level this smoothly (no zipper noise)


def pitch_hz(level_pct: float | None) -> float:
    """The tone for a level: ``LOW_HZ`` at rest to ``HIGH_HZ`` at 100 % MVC, log-spaced."""
    x = 0.0 if level_pct is None or not np.isfinite(level_pct) else level_pct / 100.0
    return float(LOW_HZ * (HIGH_HZ / LOW_HZ) ** min(max(x, 0.0), 1.0))


class ToneSynth:
    """Samples to play: the level tone (when on) plus any chime asked for. Thread-safe: the
    window sets values, the audio thread renders."""

    def __init__(self, fs_hz: int = FS_HZ):
        self.fs_hz = fs_hz
        self.volume = 0.3  # 0..1
        self.tone_on = False
        self._target_hz = LOW_HZ
        self._hz = LOW_HZ
        self._phase = 0.0
        self._chime: np.ndarray | None = None
        self._chime_pos = 0
        self._lock = threading.Lock()

    def set_level(self, level_pct: float | None) -> None:
        self._target_hz = pitch_hz(level_pct)

    def chime(self) -> None:
        """Two short rising notes (a new cue)."""
        n = int(CHIME_NOTE_S * self.fs_hz)
        t = np.arange(n) / self.fs_hz
        fade = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.01)  # 10 ms in and out: no click
        notes = [np.sin(2 * np.pi * f * t) * fade for f in CHIME_HZ]
        with self._lock:
            self._chime, self._chime_pos = np.concatenate(notes), 0

    def render(self, n: int) -> np.ndarray:
        """The next ``n`` samples (mono, float32, within -1..1)."""
        out = np.zeros(n)
        if self.tone_on:
            k = 1.0 - np.exp(-np.arange(1, n + 1) / (GLIDE_S * self.fs_hz))
            hz = self._hz + (self._target_hz - self._hz) * k
            phase = self._phase + 2 * np.pi * np.cumsum(hz) / self.fs_hz
            out += 0.5 * np.sin(phase)
            self._hz, self._phase = float(hz[-1]), float(phase[-1] % (2 * np.pi))
        with self._lock:
            if self._chime is not None:
                part = self._chime[self._chime_pos:self._chime_pos + n]
                out[:part.size] += 0.6 * part
                self._chime_pos += part.size
                if self._chime_pos >= self._chime.size:
                    self._chime = None
        return (np.clip(out * self.volume, -1.0, 1.0)).astype(np.float32)


class SoundOutput:
    """The synth on the default output device; ``problem`` says why there is no sound
    (in the sound library's words: the window puts them after its own)."""

    def __init__(self, synth: ToneSynth | None = None):
        self.synth = synth or ToneSynth()
        self.problem: str | None = None
        self._stream = None

    def start(self) -> bool:
        """Open the output stream (once); False, with ``problem`` set, when it cannot."""
        if self._stream is not None:
            return True
        try:
            import sounddevice as sd

            self._stream = sd.OutputStream(samplerate=self.synth.fs_hz, channels=1,
                                           dtype="float32", latency="low",
                                           callback=self._callback)
            self._stream.start()
        except (OSError, ImportError) as exc:  # no PortAudio library (or no sounddevice)
            self.problem = f"{exc} (Debian: sudo apt-get install libportaudio2)"
        except Exception as exc:  # noqa: BLE001 - no device, device busy: say it, stay silent
            self.problem = str(exc).splitlines()[0]
            self._stream = None
        return self._stream is not None

    def _callback(self, outdata, frames, time_info, status) -> None:
        outdata[:, 0] = self.synth.render(frames)

    def stop(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.stop()
                stream.close()
            except Exception:  # noqa: BLE001 - closing must not fail
                pass
