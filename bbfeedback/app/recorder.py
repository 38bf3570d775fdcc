"""Recording a session as it happens: a run-loop sink writing EDF+ with annotations.

The file's sample clock is the device's: a gap (``block.start_sample`` past what was written)
is filled with the last value and named in the ``bbfeedback:gaps`` annotation of the data
record the fill is in (``EdfPlusWriter.fill``: on disk with the fill, never after it, however
many gaps a second), so re-analysis cuts the fill out again and sees the very blocks the live
session saw, also in a file recovered after a crash. Every annotation goes
through the codec (``bbfeedback.recording.annotations``): settings, device, calibration, cues,
contractions, repetition scores, connection events, the summary.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from bbfeedback.app.run import Sink
from bbfeedback.detect.contractions import Contraction
from bbfeedback.errors import InputError
from bbfeedback.exercise import protocols
from bbfeedback.exercise.result import SessionResult
from bbfeedback.exercise.session import CueChange, Event, RepScored, Session
from bbfeedback.recording.annotations import cue_text, encode
from bbfeedback.recording.edf_writer import EdfPlusWriter, SignalSpec
from bbfeedback.recording.outputs import check_output
from bbfeedback.recording.repair import remove_marker, write_marker
from bbfeedback.signal.blocks import Block, Channel

PATIENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
NOTED_STATUS = ("disconnected", "reconnected", "warning", "error", "lost")
# each record's room for annotations (gaps have room of their own): the notes at the start
# (settings, protocol, device: up to ~3 kB) and at the end (a Glazer summary: ~5 kB) fit the
# last record and the free room of the one before, so closing adds no record of its own
ANNOTATION_BYTES = 8192


def check_patient_id(pid: str) -> str:
    """A pseudonymous id: letters, digits, '-', '_', '.', at most 32; no names, no spaces."""
    if not PATIENT_ID.match(pid):
        raise InputError(f"patient id {pid!r} must be a pseudonymous code (letters, digits, "
                         "- _ .; no spaces), not a name")
    if is_bsn(pid):
        raise InputError(f"patient id {pid!r} looks like a citizen service number (BSN): "
                         "use a pseudonymous code (e.g. P017)")
    return pid


def is_bsn(code: str) -> bool:
    """A Dutch citizen service number: 8 or 9 digits passing the eleven test (weights 9 to 2,
    and -1 for the last digit; a sum divisible by 11). It identifies the patient: a file
    or a history under it would be personal data, not pseudonymous."""
    if not code.isascii() or not code.isdigit() or len(code) not in (8, 9):
        return False
    digits = [int(d) for d in code.zfill(9)]
    total = sum(w * d for w, d in zip(range(9, 1, -1), digits[:8], strict=True)) - digits[8]
    return total != 0 and total % 11 == 0


class SessionRecorder(Sink):
    def __init__(self, path: str | Path, channels: tuple[Channel, ...], fs_hz: float,
                 full_scale: dict[str, tuple[float, float]], session: Session | None = None,
                 device: dict | None = None, patient: str = "X", force: bool = False):
        self.path = check_output(path, force)
        check_patient_id(patient)
        write_marker(self.path)  # says "in progress" until close(): see recording.repair
        self.fs_hz = fs_hz
        specs = [SignalSpec(c.name, c.unit, fs_hz, *full_scale.get(c.kind, (-2000.0, 2000.0)))
                 for c in channels]
        self.writer = EdfPlusWriter(self.path, specs, datetime.now().replace(microsecond=0),
                                    patient=f"{_token(patient)} X X X",
                                    recording=f"X X {_token((device or {}).get('name', 'X'))}"
                                              " bbfeedback", force=force,
                                    annotation_bytes=ANNOTATION_BYTES)
        self.samples = 0  # written, fill included: the sample clock
        self.lost = 0
        self.result: SessionResult | None = None
        self._flushed_records = 0
        self._cal_written = False
        if session is not None:  # the protocol as it ran (a therapist may have changed it)
            self.note(0.0, "settings", session.settings())
            self.note(0.0, "protocol", protocols.to_toml(session.protocol))
        if device:
            self.note(0.0, "device", device)
            if device.get("posture"):
                self.note(0.0, "posture", device["posture"])

    def note(self, t_s: float, key: str, value: object) -> None:
        for text in encode(key, value):
            self.writer.annotate(max(0.0, t_s), text)

    # --- sink ------------------------------------------------------------------------------
    def admit(self, block: Block) -> Block:
        """The session sees what the file will hold."""
        return block.with_data(self.writer.quantize(block.data))

    def block(self, block: Block, events: list[Event], session: Session | None) -> None:
        gap = block.start_sample - self.samples
        if gap > 0:  # the sample clock jumped: fill, and say where and how much
            self.writer.fill(int(gap))
            self.lost += gap
        self.writer.write(list(block.data.T))  # (an empty block only carries a gap)
        self.samples = block.end_sample
        self._annotate(session, events)
        if self.writer.records > self._flushed_records:  # each finished record to disk now:
            self.writer.flush()  # a crash loses at most the record being filled
            self._flushed_records = self.writer.records

    def status(self, status) -> None:
        if status.kind in NOTED_STATUS:
            self.note(self.samples / self.fs_hz, status.kind, status.message)

    def finish(self, session: Session | None, events: list[Event],
               result: SessionResult | None) -> None:
        """Annotate what is left and the summary, close the file."""
        self._annotate(session, events)
        self.result = result
        if result is not None:
            self.note(self.samples / self.fs_hz, "summary", dict(result.summary))
        self.close()

    def close(self) -> None:
        self.writer.close()
        remove_marker(self.path)

    def _annotate(self, s: Session | None, events: list[Event]) -> None:
        if s is None:
            return
        if not self._cal_written and s.calibrated():
            cal = {k: v.to_dict() for k, v in s.calibrations.items()}
            self.note(self.samples / self.fs_hz, "calibration", cal)
            self._cal_written = True
        for e in events:
            if isinstance(e, CueChange):
                self.writer.annotate(max(0.0, e.t_s), cue_text(e.calibration, e.kind, e.cue,
                                                               e.rep))
            elif isinstance(e, Contraction):
                self.note(e.onset_s, "contraction", e.to_dict())
            elif isinstance(e, RepScored):
                self.note(e.rep.cue_s, "rep", e.rep.to_dict())


def _token(text: object) -> str:
    return "".join(ch if 32 < ord(ch) < 127 else "_" for ch in str(text)) or "X"
