"""Recording a session as it happens: EDF+ written incrementally, with annotations.

Annotations: ``bbfeedback:settings`` / ``bbfeedback:device`` / ``bbfeedback:calibration``
(JSON), every cue (``cue:work:squeeze_max rep=1``), every detected contraction
(``bbfeedback:contraction {json}``), every repetition's score (``bbfeedback:rep {json}``),
connection events and each gap of lost samples (``bbfeedback:gap {json}``). Lost samples
are written as a repeat of the last value so the file's clock stays the device's clock, and
the gap annotation says exactly where and how many: analysis puts the gap back.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import numpy as np

from bbfeedback.detect.contractions import Contraction
from bbfeedback.errors import InputError
from bbfeedback.exercise.session import CueChange, RepScored, Session
from bbfeedback.recording.edf_writer import EdfPlusWriter, SignalSpec
from bbfeedback.recording.repair import remove_marker, write_marker
from bbfeedback.signal.blocks import Block, Channel

PATIENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")


def check_patient_id(pid: str) -> str:
    """A pseudonymous id: letters, digits, '-', '_', '.', at most 32; no names, no spaces."""
    if not PATIENT_ID.match(pid):
        raise InputError(f"patient id {pid!r} must be a pseudonymous code (letters, digits, "
                         "- _ .; no spaces), not a name")
    return pid


class SessionRecorder:
    def __init__(self, path: str | Path, channels: tuple[Channel, ...], fs_hz: float,
                 full_scale: dict[str, tuple[float, float]], session: Session | None = None,
                 device: dict | None = None, patient: str = "X"):
        self.path = Path(path)
        check_patient_id(patient)
        write_marker(self.path)  # says "in progress" until close(): see recording.repair
        self.fs_hz = fs_hz
        self.session = session
        specs = [SignalSpec(c.name, c.unit, fs_hz, *full_scale.get(c.kind, (-2000.0, 2000.0)))
                 for c in channels]
        self.writer = EdfPlusWriter(self.path, specs, datetime.now().replace(microsecond=0),
                                    patient=f"{_token(patient)} X X X",
                                    recording=f"X X {_token((device or {}).get('name', 'X'))}"
                                              " bbfeedback")
        self.samples = 0
        self.lost = 0
        self._last = np.zeros(len(channels))
        self._flushed_records = 0
        self._cal_written = False
        if session is not None:
            self.note(0.0, "bbfeedback:settings " + json.dumps(session.settings()))
        if device:
            self.note(0.0, "bbfeedback:device " + json.dumps(device))

    def note(self, t_s: float, text: str) -> None:
        self.writer.annotate(max(0.0, t_s), text)

    def add(self, block: Block) -> list:
        """Write a block (and the gap before it), run the session on it, annotate events."""
        if block.lost_before:
            fill = np.repeat(self._last[None, :], block.lost_before, axis=0)
            self.writer.write(list(fill.T))
            self.note(self.samples / self.fs_hz, "bbfeedback:gap " + json.dumps(
                {"t_s": round(self.samples / self.fs_hz, 4), "lost_samples": block.lost_before}))
            self.samples += block.lost_before
            self.lost += block.lost_before
        data = self.writer.quantize(block.data)  # the session sees what the file will hold
        self.writer.write(list(data.T))
        self._last = data[-1]
        self.samples += block.n_samples
        events = self.session.process(block.with_data(data)) if self.session is not None else []
        self._annotate(events)
        if self.writer.records > self._flushed_records:  # each finished record to disk now:
            self.writer.flush()  # a crash loses at most the record being filled
            self._flushed_records = self.writer.records
        return events

    def _annotate(self, events: list) -> None:
        s = self.session
        if s is not None and not self._cal_written and s.calibrated():
            cal = {k: v.to_dict() for k, v in s.calibrations.items()}
            self.note(self.samples / self.fs_hz, "bbfeedback:calibration " + json.dumps(cal))
            self._cal_written = True
        for e in events:
            if isinstance(e, CueChange):
                self.note(e.t_s, s.cue_text(e))
            elif isinstance(e, Contraction):
                self.note(e.onset_s, "bbfeedback:contraction " + json.dumps(e.to_dict()))
            elif isinstance(e, RepScored):
                self.note(e.rep["cue_s"], "bbfeedback:rep " + json.dumps(e.rep))

    def status(self, kind: str, message: str) -> None:
        self.note(self.samples / self.fs_hz, f"bbfeedback:{kind} {json.dumps(message)}")

    def close(self) -> dict | None:
        """Finish the session (scores what is left), annotate the summary, close the file."""
        result = None
        if self.session is not None:
            self._annotate(self.session.finish())
            result = self.session.result()
            self.note(self.samples / self.fs_hz, "bbfeedback:summary "
                      + json.dumps(result["summary"]))
        self.writer.close()
        remove_marker(self.path)
        return result


def _token(text: object) -> str:
    return "".join(ch if 32 < ord(ch) < 127 else "_" for ch in str(text)) or "X"
