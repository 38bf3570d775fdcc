"""A corpus recording through the program, as a clinic would meet it.

- ``live``: the session engine fed 0.1 s blocks as a device delivers them, no calibration
  given, so the session calibrates from its own calibration steps (the recording begins with
  them); the device's input range is handed over when ``Session`` accepts ``ranges``.
- ``offline``: the recording written as a plain EDF+ file (signals only: no cues, no
  calibration of ours) and analysed with the protocol and the first work cue
  (``analyze --start-s``): calibration is then estimated from the recording.
- ``offline_cli``: the same through the command line (``bbfeedback analyze --json``).
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bbfeedback.app.analyze import analyze
from bbfeedback.exercise import protocols
from bbfeedback.exercise.session import Session
from bbfeedback.recording import read_recording
from bbfeedback.signal.blocks import Block, Channel

from .model import Recording, write_edf

BLOCK_S = 0.1


def channels(rec: Recording) -> tuple[Channel, ...]:
    return tuple(Channel(s.name, s.kind, s.unit) for s in rec.signals)


def live(rec: Recording, protocol_id: str) -> dict:
    kw = {}
    if "ranges" in inspect.signature(Session).parameters:  # the device's input range
        kw["ranges"] = {s.name: s.range for s in rec.signals}
    chans = channels(rec)
    session = Session(protocols.load(protocol_id), chans, rec.fs_hz, start_s=None, **kw)
    data = rec.matrix()
    n = int(round(BLOCK_S * rec.fs_hz))
    for a in range(0, data.shape[0], n):
        session.process(Block(data[a:a + n], rec.fs_hz, chans, a))
    session.finish()
    return session.result()


def offline(rec: Recording, protocol_id: str, start_s: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="bbfeedback-truth-") as tmp:
        path = write_edf(Path(tmp) / "truth.edf", rec)
        return analyze(read_recording(path), protocol=protocols.load(protocol_id),
                       start_s=start_s)


def offline_cli(rec: Recording, protocol_id: str, start_s: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="bbfeedback-truth-") as tmp:
        path = write_edf(Path(tmp) / "truth.edf", rec)
        out = subprocess.run(
            [sys.executable, "-m", "bbfeedback", "analyze", str(path), "--protocol",
             protocol_id, "--start-s", f"{start_s:g}", "--json"],
            capture_output=True, text=True, timeout=120, check=True)
        return json.loads(out.stdout)


PATHS = {"live": live, "offline": offline, "cli": offline_cli}
