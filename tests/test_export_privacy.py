"""``export``: an anonymised copy keeps no free text (annotation texts, transducer,
prefiltering, header fields) and says what it kept and why; bbfeedback's own annotations
survive so the copy re-analyses the same; any copy is streamed (memory independent of the
file's size); a recording still being recorded is refused. Through the user's command."""

from __future__ import annotations

import contextlib
import json
import subprocess
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import BB

from bbfeedback.app.cli import main
from bbfeedback.recording import read_recording
from bbfeedback.recording.annotations import encode

SECRETS = (b"Johanna", b"deVries", b"SN12345", b"Jansen", b"BSN123456782", b"ttyUSB7",
           b"Kliniek", b"Oefening voor")
OWN_PROTOCOL = """\
id = "own-strength"
name = { nl = "Oefening voor Johanna", en = "Exercise for Johanna" }
description = { nl = "Door Jansen", en = "By Jansen" }
source = "Kliniek Jansen"
scoring = "holds"
lead_in_s = 2.0

[[section]]
name = "strength"
repetitions = 2
  [[section.phase]]
  kind = "work"
  cue = "squeeze_max"
  cue_nl = "Knijp, Johanna"
  cue_en = "Squeeze, Johanna"
  hold_s = 3.0
  reach_s = 1.0
  duration_s = 4.0
  target_pct_mvc = 100.0
  band_pct_mvc = [60.0, 300.0]
  [[section.phase]]
  kind = "rest"
  cue = "relax"
  cue_nl = "Ontspannen"
  cue_en = "Relax"
  duration_s = 4.0
"""


def _field(text: str, width: int) -> bytes:
    return text.encode("latin-1").ljust(width)[:width]


def tal(onset: float, *texts: str, duration: float | None = None) -> bytes:
    """One EDF+ time-stamped annotation list."""
    head = f"+{onset:g}" + (f"\x15{duration:g}" if duration is not None else "")
    return (head + "\x14" + "".join(t + "\x14" for t in texts) + "\x00").encode("utf-8")


def make_edf(path: Path, seconds: int, notes: list[tuple[float, str]],
             fs: int = 1000, slot: int = 4096) -> Path:
    """An EDF+ file written byte by byte (so that every free-text field can hold what a
    clinic's file may): an EMG channel with a named probe in its transducer and a name as its
    prefiltering, a pressure channel with a standard filter description, and annotations.
    The same data record repeats (only its time stamp changes): large files are quick."""
    rng = np.random.default_rng(5)
    t = np.arange(fs) / fs
    emg = (rng.normal(0, 150, fs) * (1 + 8 * (t > 0.5))).clip(-32768, 32767).astype("<i2")
    pressure = np.full(fs, 1200, dtype="<i2")
    sigs = [("pfm", "probe SN12345", "uV", -3276.8, 3276.7, "Jansen", fs),
            ("pressure", "AgAgCl electrode", "cmH2O", -327.68, 327.67, "HP:0.1Hz LP:40Hz",
             fs),
            ("EDF Annotations", "", "", -1, 1, "", slot // 2)]
    ns = len(sigs)
    head = (_field("0", 8) + _field("BSN123456782 F 02-MAR-1961 Johanna_deVries", 80)
            + _field("Startdate 07-DEC-2026 Kliniek_Jansen Dr_Jansen probe", 80)
            + b"07.12.2609.11.55" + _field(str(256 * (ns + 1)), 8) + _field("EDF+C", 44)
            + _field(str(seconds), 8) + _field("1", 8) + _field(str(ns), 4))
    for width, k in ((16, 0), (80, 1), (8, 2)):
        head += b"".join(_field(s[k] if k != 1 else s[1], width) for s in sigs)
    head += b"".join(_field(f"{s[3]:g}", 8) for s in sigs)
    head += b"".join(_field(f"{s[4]:g}", 8) for s in sigs)
    head += b"".join(_field("-32768", 8) for _ in sigs)
    head += b"".join(_field("32767", 8) for _ in sigs)
    head += b"".join(_field(s[5], 80) for s in sigs)
    head += b"".join(_field(str(s[6]), 8) for s in sigs)
    head += b"".join(_field("", 32) for _ in sigs)
    assert len(head) == 256 * (ns + 1)
    data = emg.tobytes() + pressure.tobytes()
    by_record: dict[int, list[bytes]] = {}
    for onset, text in notes:
        by_record.setdefault(int(onset), []).append(tal(onset, text))
    with path.open("wb") as fh:
        fh.write(head)
        for r in range(seconds):
            notes_r = tal(r, "") + b"".join(by_record.get(r, []))
            assert len(notes_r) <= slot
            fh.write(data + notes_r.ljust(slot, b"\x00"))
    return path


def clinic_notes() -> list[tuple[float, str]]:
    """What a clinic's session file may carry: bbfeedback's own annotations (one with a port
    and a free-text field), cues, a gap, a protocol of the therapist's own (in parts), a
    recorder message naming a port, and a therapist's typed notes."""
    notes = [(0.0, t) for t in encode("settings", {
        "protocol": "own-strength", "targets": {"hold_s": [3.0], "repetitions": 2},
        "calibration": "none", "notch_hz": [50.0], "window_s": 0.15, "main": "pfm",
        "note": "Johanna deVries"})]
    notes += [(0.0, t) for t in encode("device", {"name": "p2", "port": "/dev/ttyUSB7",
                                                  "fs_hz": 1000.0, "posture": "lying",
                                                  "owner": "Jansen"})]
    notes += [(0.0, t) for t in encode("protocol", OWN_PROTOCOL)]
    notes += [(2.0, "cue:work:squeeze_max rep=1"), (3.5, "Johanna deVries coughs"),
              (6.0, "cue:rest:relax"), (7.0, "cue:Johanna:squeeze_max")]
    notes += [(4.0, t) for t in encode("gap", {"t_s": 4.0, "lost_samples": 20})]
    notes += [(5.0, t) for t in encode("disconnected", "no data from /dev/ttyUSB7 for 3 s")]
    notes += [(8.0, t) for t in encode("calibration", {"pfm": {
        "baseline_mean": 3.0, "baseline_sd": 0.5, "mvc": 40.0, "unit": "uV",
        "source": "session", "squeezes": [40.0, 39.0], "by": "Jansen"}})]
    return notes


def export(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["export", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_anonymise_removes_every_free_text_field_and_lists_what_it_kept(tmp_path, capsys):
    import mne
    import pyedflib

    src = make_edf(tmp_path / "clinic.edf", 12, clinic_notes())
    assert all(s in src.read_bytes() for s in SECRETS)  # the test file holds them all
    out = tmp_path / "shared.edf"
    code, said, err = export(capsys, str(src), "--anonymise", "--out", str(out))
    assert code == 0 and err == "", err
    data = out.read_bytes()
    assert [s for s in SECRETS if s in data] == []
    # what was kept and why, and what was removed, is listed (never the removed values)
    assert "kept: transducer of pressure: 'AgAgCl electrode' (generic words only)" in said
    assert "transducer of pfm reduced to 'probe'" in said
    assert "kept: prefiltering of pressure: 'HP:0.1Hz LP:40Hz'" in said
    assert "prefiltering of pfm blanked" in said
    assert "own protocol (id now own-protocol)" in said and "1 recorder messages" in said
    assert [s for s in SECRETS if s.decode() in said] == []
    # the copy reads in EDFlib (pyedflib) and MNE, with the same samples and timing
    with pyedflib.EdfReader(str(out)) as r:
        onsets, _, texts = r.readAnnotations()
        assert r.getPatientCode() == "" and r.getStartdatetime().year == 1985
        assert r.getTransducer(0) == "probe" and r.getPrefilter(0) == ""
        assert r.getPrefilter(1) == "HP:0.1Hz LP:40Hz"
        with pyedflib.EdfReader(str(src)) as s:
            np.testing.assert_array_equal(r.readSignal(0, digital=True),
                                          s.readSignal(0, digital=True))
    removed = [float(o) for o, t in zip(onsets, texts, strict=True) if t == "annotation removed"]
    assert removed == pytest.approx([3.5, 7.0])  # the cough and the odd cue: times, no words
    assert "cue:work:squeeze_max rep=1" in texts
    raw = mne.io.read_raw_edf(out, verbose="error")
    assert raw.n_times == 12 * 1000 and "annotation removed" in raw.annotations.description
    # bbfeedback's own annotations are kept with their known fields only
    meta = read_recording(out).meta
    assert meta.warnings == []
    assert meta.settings == {"protocol": "own-protocol", "targets": {  # its own id: typed
        "hold_s": [3.0], "repetitions": 2}, "calibration": "none", "notch_hz": [50.0],
        "window_s": 0.15, "main": "pfm"}
    assert meta.last("device") == {"name": "p2", "fs_hz": 1000.0, "posture": "lying"}
    assert meta.all("gap") == [{"t_s": 4.0, "lost_samples": 20}]
    assert meta.last("disconnected") == ""
    assert meta.last("calibration")["pfm"]["mvc"] == 40.0
    assert "by" not in meta.last("calibration")["pfm"]
    from bbfeedback.exercise import protocols

    own = protocols.loads(meta.last("protocol"), "copy")
    assert own.id == "own-protocol" and own.sections[0].phases[0].cue_en == (
        "Squeeze as hard as you can")  # the standard words for its cue
    assert [c.cue for c in meta.cues] == ["squeeze_max", "relax"]


def test_an_anonymised_session_re_analyses_the_same(tmp_path, capsys):
    from conftest import SAMPLES

    src = SAMPLES / "a1_strength_emg.edf"
    out = tmp_path / "a1.edf"
    code, said, _ = export(capsys, str(src), "--anonymise", "--out", str(out))
    assert code == 0 and "kept: protocol a1-strength: bundled with bbfeedback" in said
    results = []
    for path in (src, out):
        assert main(["analyze", str(path), "--json"]) == 0
        doc = json.loads(capsys.readouterr().out)
        doc.pop("file")
        doc["protocol"].pop("source")  # "FILE (recorded protocol)": the file's own path
        results.append(doc)
    assert results[0] == results[1]
    assert b"SAMPLE-01" not in out.read_bytes()


def test_a_plain_export_is_the_same_bytes(tmp_path, capsys):
    src = make_edf(tmp_path / "r.edf", 5, clinic_notes())
    code, said, _ = export(capsys, str(src), "--out", str(tmp_path / "copy.edf"))
    assert code == 0 and said == f"wrote {tmp_path / 'copy.edf'}\n"
    assert (tmp_path / "copy.edf").read_bytes() == src.read_bytes()


def test_a_header_that_does_not_count_the_records_is_refused(tmp_path, capsys):
    src = make_edf(tmp_path / "r.edf", 6, [])
    data = bytearray(src.read_bytes())
    data[236:244] = b"3".ljust(8)  # says 3 records, holds 6
    src.write_bytes(bytes(data))
    for extra in ([], ["--anonymise"]):
        code, _, err = export(capsys, str(src), *extra, "--out", str(tmp_path / "c.edf"))
        assert code == 2 and "bbfeedback recover" in err, err  # the header made right first
        assert err.count("\n") == 1 and not (tmp_path / "c.edf").exists()


def _export_peak(src: Path, out: Path, anonymise: bool) -> int:
    from bbfeedback.app.anonymise import export_file

    tracemalloc.start()
    try:
        export_file(src, out, anonymise, force=True)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_export_memory_does_not_grow_with_the_file(tmp_path):
    """Was the whole file (twice, anonymised). 5 MB and 50 MB files: the same few MB."""
    notes = clinic_notes()
    small = make_edf(tmp_path / "small.edf", 420, notes, fs=2000)  # ~5 MB (12 kB a record)
    big = make_edf(tmp_path / "big.edf", 4200, notes, fs=2000)  # ~50 MB
    assert 45e6 < big.stat().st_size < 60e6
    for anonymise in (False, True):
        peaks = [_export_peak(p, tmp_path / f"out-{p.name}", anonymise) for p in (small, big)]
        print(f"anonymise={anonymise}: peak {peaks[0] / 1e6:.2f} MB (5 MB file), "
              f"{peaks[1] / 1e6:.2f} MB (50 MB file)")
        assert peaks[1] < 8e6, peaks
        assert peaks[1] < 1.5 * peaks[0] + 1e6, peaks
    assert (tmp_path / "out-big.edf").stat().st_size == big.stat().st_size


@contextlib.contextmanager
def recording_in_progress(path: Path) -> Iterator[subprocess.Popen]:
    """A real ``bbfeedback record`` writing ``path`` (its first second on disk), ended and
    reaped whatever happens."""
    proc = subprocess.Popen([*BB, "record", "--device", "sim",
                             "--seconds", "600", "--speed", "5", "--progress", "--out",
                             str(path)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    try:
        assert proc.stdout.readline().startswith("on disk")
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def test_export_refuses_a_recording_still_being_recorded(tmp_path, capsys):
    live = tmp_path / "live.edf"
    link = tmp_path / "elsewhere" / "link.edf"  # attack: through a link it was copied
    link.parent.mkdir()
    with recording_in_progress(live) as proc:
        link.symlink_to(live)
        for name, extra in ((live, []), (live, ["--anonymise"]), (link, [])):
            code, _, err = export(capsys, str(name), *extra, "--out", str(tmp_path / "c.edf"))
            assert code == 2 and err.count("\n") == 1, err
            assert f"is still being recorded (process {proc.pid})" in err
            assert not (tmp_path / "c.edf").exists()
    # a crash leaves the marker behind: the copy waits for recover
    (tmp_path / "crashed.edf").write_bytes(live.read_bytes())
    (tmp_path / "crashed.edf.recording").write_text('{"pid": 999999999}')
    code, _, err = export(capsys, str(tmp_path / "crashed.edf"), "--out",
                          str(tmp_path / "c.edf"))
    assert code == 2 and "bbfeedback recover" in err and err.count("\n") == 1
    code, _, err = export(capsys, str(live), "--out", str(tmp_path / "c.edf"))
    assert code == 0, err  # finished: exported
