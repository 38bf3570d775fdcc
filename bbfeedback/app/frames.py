"""Frames: immutable snapshots of a running session, published by the run loop's thread.

The GUI (or any other viewer) only reads ``FramePublisher.latest``: a frozen ``Frame`` with
read-only arrays, replaced as a whole after each block. Nothing a viewer does reaches into the
live session, so the session needs no lock.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from bbfeedback.app.run import Sink
from bbfeedback.detect.calibration import Calibration
from bbfeedback.drivers.status import StatusKind
from bbfeedback.exercise.result import SessionResult
from bbfeedback.exercise.scores import RepScore
from bbfeedback.exercise.session import CueChange, Event, RepScored, Session
from bbfeedback.signal.blocks import Block

MIN_INTERVAL_S = 0.015  # at most ~60 frames a second are built; events always publish


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


_EMPTY = _frozen(np.zeros((0, 0)))


@dataclass(frozen=True)
class Frame:
    t_s: float = 0.0
    fs_hz: float = 1.0
    channels: tuple = ()
    main: int = 0
    accessory: int | None = None
    raw: np.ndarray = field(default_factory=lambda: _EMPTY)  # last window, oldest first
    band: np.ndarray = field(default_factory=lambda: _EMPTY)  # the same, band-passed EMG
    env_t: np.ndarray = field(default_factory=lambda: _EMPTY)  # envelope times (s) ...
    env: np.ndarray = field(default_factory=lambda: _EMPTY)  # ... and values (., channels)
    cue: CueChange | None = None
    cue_end_s: float | None = None
    template: tuple = ()  # what the patient should follow, a little ahead of now
    contractions: tuple = ()
    artefacts: tuple = ()  # (start_s, end_s, kind) of the scored channel's marked artefacts
    reps: tuple[RepScore, ...] = ()
    recorded_reps: tuple[RepScore, ...] = ()  # a replay: the scores the file carries
    summary: Mapping[str, Any] | None = None
    calibration: Mapping[str, Calibration] = field(default_factory=dict)  # by channel
    thresholds: tuple | None = None
    status: str = "idle"
    lost_samples: int = 0
    level_pct: float | None = None
    running: bool = False
    message: str = ""  # the last connection problem, in the device's words


class Ring:
    """Last ``n`` samples of each channel, preallocated; the write index wraps."""

    def __init__(self, n: int, channels: int):
        self.data = np.zeros((n, channels))
        self.n = n
        self.count = 0

    def push(self, x: np.ndarray) -> None:
        x = x[-self.n:]
        i = self.count % self.n
        k = min(x.shape[0], self.n - i)
        self.data[i:i + k] = x[:k]
        self.data[: x.shape[0] - k] = x[k:]
        self.count += x.shape[0]

    def last(self) -> np.ndarray:
        """Oldest to newest, at most n samples (a copy)."""
        if self.count < self.n:
            return self.data[: self.count].copy()
        i = self.count % self.n
        return np.concatenate([self.data[i:], self.data[:i]])


class FramePublisher(Sink):
    """Builds a Frame after each block (at most every ``MIN_INTERVAL_S``, always on events)."""

    def __init__(self, fs_hz: float, channels: tuple, window_s: float = 30.0,
                 ahead_s: float = 8.0, status: str = "connecting",
                 recorded_reps: list | None = None, lead_cues: list | None = None):
        """``lead_cues``: cues shown until the session gives its own (a replay: the recorded
        calibration's, which a session re-scoring with the recorded calibration skips)."""
        self.window_s = window_s
        self._lead = sorted(lead_cues or (), key=lambda c: c.t_s)
        self.ahead_s = ahead_s
        self.ring = Ring(int(window_s * fs_hz), len(channels))
        self.band_ring = Ring(int(window_s * fs_hz), len(channels))  # what a therapist reads
        self._base = {"fs_hz": fs_hz, "channels": tuple(channels), "status": status,
                      "recorded_reps": tuple(recorded_reps or ()), "running": True}
        self._cue: CueChange | None = None
        self._t_s = 0.0
        self._built_at = 0.0
        self.latest = Frame(**self._base)

    # --- sink ------------------------------------------------------------------------------
    def block(self, block: Block, events: list[Event], session: Session | None) -> None:
        self.ring.push(block.data)
        band = session.last_band if session is not None else None
        ok = band is not None and band.shape == block.data.shape
        self.band_ring.push(band if ok else block.data)
        self._t_s = block.end_sample / block.fs_hz
        self._base["lost_samples"] = self._base.get("lost_samples", 0) + block.lost_before
        if self._base["status"] in ("connecting", "reconnecting"):
            self._base["status"] = "connected"
        news = False
        for e in events:
            if isinstance(e, CueChange):
                self._cue, news = e, True
            news = news or isinstance(e, RepScored)
        news = self._lead_cue() or news
        now = time.monotonic()
        if news or now - self._built_at >= MIN_INTERVAL_S:
            self.publish(session)
            self._built_at = now

    def status(self, status) -> None:
        if status.kind in (StatusKind.DISCONNECTED, StatusKind.ERROR, StatusKind.WARNING,
                           StatusKind.LOST, StatusKind.SILENT):
            self._base["message"] = status.message
        if status.kind == StatusKind.DISCONNECTED:
            self._base["status"] = "reconnecting"
        elif status.kind in (StatusKind.CONNECTED, StatusKind.RECONNECTED):
            self._base["status"] = "connected"
        self.latest = Frame(**{**_fields(self.latest), **self._base})

    def finish(self, session: Session | None, events: list[Event],
               result: SessionResult | None) -> None:
        self._base.update(status="finished", running=False)
        if result is not None:
            self._base.update(summary=result.summary, reps=result.reps)
        self.publish(session)

    def restart(self, session: Session, t_s: float, raw: list[np.ndarray]) -> None:
        """After a seek: the session rebuilt up to ``t_s`` and the raw window before it."""
        self.ring = Ring(self.ring.n, self.ring.data.shape[1])
        self.band_ring = Ring(self.ring.n, self.ring.data.shape[1])
        for x in raw:
            self.ring.push(x)
            self.band_ring.push(x - np.median(x, axis=0))  # until band-passed blocks come
        self._t_s = t_s
        self._cue = session.cues[-1] if session.cues else None
        self._lead_cue()
        self.publish(session)

    def _lead_cue(self) -> bool:
        """Before the session's own first cue: the lead cue of this moment; True if it
        changed."""
        if not self._lead or (self._cue is not None and self._cue.step >= 0):
            return False
        now = [c for c in self._lead if c.t_s <= self._t_s]
        cue = now[-1] if now else None
        changed = cue is not self._cue
        self._cue = cue
        return changed

    # --- building --------------------------------------------------------------------------
    def publish(self, session: Session | None) -> None:
        f = {**self._base, "t_s": self._t_s, "raw": _frozen(self.ring.last()),
             "band": _frozen(self.band_ring.last()), "cue": self._cue}
        if session is not None:
            f.update(_from_session(session, self._t_s, self.window_s, self.ahead_s, self._cue))
            if "reps" not in self._base:  # the final ones come with the result
                f["reps"] = tuple(session.reps)
        self.latest = Frame(**f)


def _fields(frame: Frame) -> dict:
    return {k: getattr(frame, k) for k in frame.__dataclass_fields__}


def _from_session(s: Session, t: float, window_s: float, ahead_s: float,
                  cue: CueChange | None) -> dict:
    """What a frame shows of the session (called on the run loop's thread only)."""
    tr = s.trace()
    a = max(0, tr.index(t - window_s))
    env = np.column_stack([s.trace(c).values[a:] for c in range(len(s.channels))]) \
        if tr.values.size else np.zeros((0, len(s.channels)))
    cal = s.calibrations.get(s.channels[s.main].name)
    out = {
        "main": s.main, "accessory": s.accessory,
        "env": _frozen(env), "env_t": _frozen(tr.t0_s + (a + np.arange(env.shape[0]))
                                              / tr.rate_hz),
        "template": tuple(s.template(t - window_s, t + ahead_s)),
        "contractions": tuple(c for c in s.contractions if c.offset_s > t - window_s),
        "artefacts": tuple((m.start_s, m.end_s, m.kind.value) for m in
                           s.quality.marks_of(s.main) if m.end_s > t - window_s),
        "calibration": {k: replace(v) for k, v in s.calibrations.items()},  # (a copy each)
        "cue_end_s": (None if cue is None else cue.t_s + cue.planned_s if cue.step < 0
                      else s.step_end(cue.step)),
    }
    if s.detector is not None:
        det = s.detector.channels[s.main]
        out["thresholds"] = (det.on, det.off)
    if cal is not None and cal.mvc is not None and env.shape[0]:
        out["level_pct"] = float(cal.pct_mvc(env[-1, s.main]))
    return out
