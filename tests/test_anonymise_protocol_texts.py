"""``export --anonymise`` and ``export-bids`` keep no text a person wrote (issue 23): a
therapist's own protocol, recorded with the session, loses its id, names, description,
source, cue texts, posture texts and its own section and cue names (generic ones instead,
the same in every annotation that names them, so the copy still re-scores); the EDF+
annotation channel's own header text fields are blanked too. Through the user's command:
a real recording with such a protocol, then both exports, then every output byte."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BB = [sys.executable, "-m", "bbfeedback"]
NAME = b"johanna"  # looked for without regard to case
PROTOCOL = """\
id = "johanna-strength"
name = { nl = "Oefening voor Johanna", en = "Exercise for Johanna" }
description = { nl = "Door Jansen voor Johanna", en = "By Jansen for Johanna" }
source = "Kliniek Jansen, Johanna"
scoring = "holds"
lead_in_s = 2.0

[[section]]
name = "Johanna warm-up"
repetitions = 2
posture = "Johanna lying"
  [[section.phase]]
  kind = "work"
  cue = "squeeze_johanna"
  cue_nl = "Knijp, Johanna"
  cue_en = "Squeeze, Johanna"
  hold_s = 2.0
  reach_s = 1.0
  duration_s = 3.0
  target_pct_mvc = 60.0
  band_pct_mvc = [30.0, 300.0]
  [[section.phase]]
  kind = "rest"
  cue = "relax"
  duration_s = 3.0

[[section]]
name = "strength"
repetitions = 1
posture = "sitting"
  [[section.phase]]
  kind = "work"
  cue = "squeeze_max"
  hold_s = 2.0
  duration_s = 3.0
  target_pct_mvc = 100.0
  band_pct_mvc = [60.0, 300.0]
  [[section.phase]]
  kind = "rest"
  cue = "relax"
  duration_s = 3.0
"""


def bb(*args: object) -> subprocess.CompletedProcess:
    got = subprocess.run(BB + [str(a) for a in args], capture_output=True, text=True,
                         timeout=300)
    assert got.returncode == 0, (args, got.stderr)
    return got


def with_annotation_channel_texts(path: Path) -> None:
    """Text in the annotation channel's unit, prefiltering and reserved fields (a clinic's
    tool may write there; EDF+ leaves them blank). EDFlib refuses a file whose annotation
    channel has a transducer, so no command reads that one."""
    data = bytearray(path.read_bytes())
    ns = int(data[252:256])
    i = ns - 1
    assert data[256 + 16 * i: 272 + 16 * i].strip() == b"EDF Annotations"

    def put(offset: int, width: int, text: bytes) -> None:
        at = 256 + offset * ns + width * i
        data[at:at + width] = text.ljust(width)[:width]

    put(96, 8, b"Johanna")
    put(136, 80, b"for Johanna")
    put(224, 32, b"Johanna")
    path.write_bytes(bytes(data))


def test_a_therapists_protocol_texts_leave_no_name_in_any_export(tmp_path):
    proto = tmp_path / "own.toml"
    proto.write_text(PROTOCOL)
    src = tmp_path / "session.edf"
    bb("record", "--device", "sim", "--protocol", proto, "--calibration", "none", "--speed",
       "20", "--out", src)
    with_annotation_channel_texts(src)
    assert NAME in src.read_bytes().lower()  # the recording holds it, in the protocol too

    shared = tmp_path / "shared.edf"
    said = bb("export", src, "--anonymise", "--out", shared).stdout
    assert NAME not in shared.read_bytes().lower()
    assert NAME not in said.lower().encode()
    assert "own-protocol" in said and "posture texts" in said, said
    assert "EDF Annotations: its transducer, unit, prefiltering and reserved fields" in said

    bids = tmp_path / "bids"
    bb("export-bids", src, "--subject", "s01", "--out", bids)
    files = [p for p in bids.rglob("*") if p.is_file()]
    assert any(p.name.endswith("_emg.json") for p in files)
    leaks = [str(p.relative_to(bids)) for p in files if NAME in p.read_bytes().lower()
             or NAME in str(p).lower().encode()]
    assert leaks == []

    # the copy still scores as the original: the same repetitions, the same outcome
    docs = [json.loads(bb("analyze", p, "--json").stdout) for p in (src, shared)]
    assert [(r["index"], r["met"]) for r in docs[0]["reps"]] == \
        [(r["index"], r["met"]) for r in docs[1]["reps"]]
    assert len(docs[1]["reps"]) == 3
    sections = [r.get("section") for r in docs[1]["reps"]]
    assert sections == ["section-1", "section-1", "strength"], sections


def test_a_bundled_protocol_in_an_older_writers_format_is_kept_as_shipped(tmp_path):
    """The recorded protocol is recognised by what it says, not by its text: the sample
    recording carries a1-strength as an earlier version wrote its TOML (indented phase
    tables, no tomli-w), and its anonymised copy keeps it as bundled, word for word."""
    from bbfeedback.app.anonymise import exported
    from bbfeedback.exercise import protocols
    from bbfeedback.recording import read_recording

    sample = Path(__file__).resolve().parents[1] / "sample_data" / "a1_strength_emg.edf"
    recorded = read_recording(sample).meta.last("protocol")
    assert "  [[section.phase]]" in recorded  # the older format (this test's premise)
    assert recorded != protocols.to_toml(protocols.load("a1-strength"))
    _, report = exported(sample, anonymise=True)
    assert "protocol a1-strength: bundled with bbfeedback, as shipped" in report.kept
