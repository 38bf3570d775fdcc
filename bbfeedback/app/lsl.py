"""Lab Streaming Layer outlets: a run-loop sink publishing what a session sees to the lab.

Three streams, described the way LabRecorder and XDF readers expect (``desc/channels/channel``
with ``label``, ``unit``, ``type``; ``desc/acquisition`` with ``manufacturer`` and ``model``):

- ``NAME``: the raw channels, float32 at the device's rate (type "EMG", or "Pressure" for a
  pressure-only device);
- ``NAME-envelope``: every channel's envelope (µV RMS, zeroed cmH2O), float32 at that rate;
- ``NAME-markers``: irregular strings (type "Markers"): cues (``cue:work:squeeze_max rep=3``),
  contraction on/offsets, repetition scores, gaps and connection events, compact JSON after
  the tag.

Timestamps are LSL's clock tied to the sample clock: one offset ``t0_lsl`` is fixed at the
first block, then sample k is stamped ``t0_lsl + k / fs_hz`` whatever the wall clock does, so
a gap stays a gap and a marker carries the time of its event on the same mapping (a
contraction reported after it ended carries its onset and offset times, not the report's).
The source ids depend only on device, port and patient (hashed: the patient code is not
broadcast), so LabRecorder picks the streams up again after a restart.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
import secrets
import socket
import time
from pathlib import Path

import numpy as np

from bbfeedback.app.run import Sink
from bbfeedback.detect.contractions import Contraction
from bbfeedback.drivers.lsl_inlet import lsl_library
from bbfeedback.exercise.result import SessionResult
from bbfeedback.exercise.session import CueChange, Event, Gap, RepScored, Session
from bbfeedback.recording.annotations import cue_text, finite
from bbfeedback.signal.blocks import EMG, PRESSURE, Block, Channel
from bbfeedback.signal.pipeline import Pipeline, PipelineConfig, resolve_notch

STREAM_NAME = "bbfeedback"
XDF_UNIT = {EMG: "microvolts", PRESSURE: "cmH2O"}  # XDF meta-data conventions' spelling
XDF_TYPE = {EMG: "EMG", PRESSURE: "Pressure"}
MANUFACTURER = {"sim": "bbfeedback (simulated sensor)", "p2": "OpenEEG",
                "cyton": "OpenBCI", "bitalino": "PLUX", "ascii": "unknown", "lsl": "unknown"}
NOTED_STATUS = ("disconnected", "reconnected", "silent", "warning", "error", "lost")
LINGER_S = 0.5  # on close, time for connected inlets to take the last samples


def source_id(device: str, port: str | None, patient: str, stream: str) -> str:
    """The same id for the same computer, device, port and patient on every run (LabRecorder
    reconnects by it); a keyed hash (the key is this computer's own, ``_salt``), so the
    patient's code can be neither read nor guessed from the network. A device without a
    port (the simulated sensor) is told apart by its process: two on one computer are two
    sources, never one that an inlet could switch between."""
    where = port or f"process {os.getpid()}"
    key = f"{socket.gethostname()}|{device}|{where}|{patient}".encode()
    digest = hmac.new(_salt(), key, hashlib.sha256).hexdigest()[:16]
    return f"bbfeedback-{digest}-{stream}"


@functools.cache
def _salt() -> bytes:
    """A random key kept in the user's configuration folder (made once, private); where it
    cannot be kept, one for this run (ids then change between runs)."""
    home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "bbfeedback"
    path = home / "lsl-key"
    try:
        return bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError):
        pass
    key = secrets.token_bytes(16)
    try:
        home.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key.hex())
    except OSError:
        pass
    return key


def marker_json(value: object) -> str:
    """Compact JSON (NaN as null) for a marker's payload."""
    return json.dumps(finite(value), separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _stream_info(name: str, kind: str, channels: tuple[Channel, ...], fs_hz: float,
                 device: str, sid: str, envelope: str | None = None):
    pylsl = lsl_library()

    info = pylsl.StreamInfo(name, kind, len(channels), fs_hz, pylsl.cf_float32, sid)
    desc = info.desc()
    chans = desc.append_child("channels")
    for c in channels:
        ch = chans.append_child("channel")
        ch.append_child_value("label", c.name)
        ch.append_child_value("unit", XDF_UNIT.get(c.kind, c.unit))
        ch.append_child_value("type", XDF_TYPE.get(c.kind, c.kind))
    acq = desc.append_child("acquisition")
    acq.append_child_value("manufacturer", MANUFACTURER.get(device, "unknown"))
    acq.append_child_value("model", device)
    if envelope:
        desc.append_child_value("processing", envelope)
    return info


class LslOutlet(Sink):
    """Publishes raw channels, envelopes and markers of a run on LSL (see the module)."""

    def __init__(self, channels: tuple[Channel, ...], fs_hz: float, device: str,
                 port: str | None = None, patient: str = "X", session: Session | None = None,
                 name: str = STREAM_NAME):
        """``session``: its pipeline settings make the envelope (else the live default:
        a notch at every 50 Hz harmonic)."""
        pylsl = lsl_library()

        self._clock = pylsl.local_clock
        self.fs_hz = fs_hz
        self.name = name
        config = session.pipeline.config if session is not None else PipelineConfig(
            notch_hz=resolve_notch("50", None, fs_hz))
        self.pipeline = Pipeline(channels, fs_hz, config)
        kinds = {c.kind for c in channels}
        raw_type = "Pressure" if kinds == {PRESSURE} else "EMG"
        sid = lambda s: source_id(device, port, patient, s)  # noqa: E731
        self.raw = pylsl.StreamOutlet(_stream_info(name, raw_type, channels, fs_hz, device,
                                                   sid("raw")))
        self.envelope = None
        if self.pipeline.channels:
            how = (f"EMG: notch {config.notch_hz} Hz, band-pass {config.band_low_hz:g}-"
                   f"{config.band_high_hz:g} Hz, moving RMS {config.window_s:g} s; pressure: "
                   f"low-pass {config.pressure_lowpass_hz:g} Hz, zeroed at rest")
            self.envelope = pylsl.StreamOutlet(_stream_info(
                f"{name}-envelope", "Envelope", self.pipeline.channels, fs_hz, device,
                sid("envelope"), how))
        minfo = pylsl.StreamInfo(f"{name}-markers", "Markers", 1, pylsl.IRREGULAR_RATE,
                                 pylsl.cf_string, sid("markers"))
        minfo.desc().append_child("acquisition").append_child_value("model", device)
        self.markers = pylsl.StreamOutlet(minfo)
        self.t0_lsl: float | None = None  # LSL time of sample 0 (fixed at the first block)
        self.samples = 0  # sample clock: after the last sample published
        self.markers_sent = 0

    def time_of(self, t_s: float) -> float:
        """LSL time of a time on the sample clock (before the first block: now)."""
        return self._clock() if self.t0_lsl is None else self.t0_lsl + t_s

    def marker(self, text: str, t_s: float) -> None:
        """Push one marker stamped at ``t_s`` on the sample clock."""
        self.markers.push_sample([text], self.time_of(t_s))
        self.markers_sent += 1

    # --- sink --------------------------------------------------------------------------------
    def block(self, block: Block, events: list[Event], session: Session | None) -> None:
        if block.n_samples:
            if self.t0_lsl is None:  # the last sample of the first block arrived just now
                self.t0_lsl = self._clock() - block.end_sample / self.fs_hz
            last_t = self.t0_lsl + (block.end_sample - 1) / self.fs_hz
            self.raw.push_chunk(np.ascontiguousarray(block.data, dtype=np.float32), last_t)
            env = self.pipeline.process(block)
            if self.envelope is not None:
                self.envelope.push_chunk(np.ascontiguousarray(env.data, dtype=np.float32),
                                         last_t)
            self.samples = block.end_sample
        self._events(events)

    def status(self, status) -> None:
        if status.kind in NOTED_STATUS:
            self.marker(f"status:{status.kind} {marker_json(status.message)}",
                        self.samples / self.fs_hz)

    def finish(self, session: Session | None, events: list[Event],
               result: SessionResult | None) -> None:
        self._events(events)
        if result is not None:
            self.marker(f"summary {marker_json(dict(result.summary))}", self.samples / self.fs_hz)

    def _events(self, events: list[Event]) -> None:
        for e in events:
            if isinstance(e, CueChange):
                self.marker(cue_text(e.calibration, e.kind, e.cue, e.rep), e.t_s)
            elif isinstance(e, Contraction):
                self.marker(f"contraction:on {marker_json({'channel': e.channel})}", e.onset_s)
                self.marker(f"contraction:off {marker_json(e.to_dict())}", e.offset_s)
            elif isinstance(e, RepScored):
                self.marker(f"rep {marker_json(e.rep.to_dict())}", e.rep.cue_s)
            elif isinstance(e, Gap):
                self.marker(f"gap {marker_json({'lost_samples': e.lost_samples})}", e.t_s)

    def close(self, linger_s: float = LINGER_S) -> None:
        """Take the streams off the network; inlets connected get ``linger_s`` to take the
        last samples first."""
        outlets = [o for o in (self.raw, self.envelope, self.markers) if o is not None]
        if linger_s > 0 and any(o.have_consumers() for o in outlets):
            time.sleep(linger_s)
        self.raw = self.envelope = self.markers = None  # pylsl destroys each outlet
        del outlets
