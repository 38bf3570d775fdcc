"""Lost samples on disk with their fill (issue 23, item 2): each data record names the fill
in it (``bbfeedback:gaps``), so a file cut off by a crash and recovered never shows fill as
signal, and closing adds no record for annotations: the file lasts as long as the device's
clock, rounded up to one record."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import numpy as np
import pyedflib
import pytest

from bbfeedback.app.recorder import SessionRecorder
from bbfeedback.recording import read_recording
from bbfeedback.recording.annotations import decode, encode_gaps
from bbfeedback.recording.edf_writer import EdfPlusWriter, SignalSpec
from bbfeedback.recording.repair import marker_path, recover
from bbfeedback.signal.blocks import Block, Channel

FS = 500.0
CHANNELS = (Channel.of_kind("pfm", "emg"),)


def _lossy_blocks(seconds: float, drop: float, seed: int = 1) -> tuple[list[Block], np.ndarray]:
    """Blocks of a device losing ``drop`` of its samples (about 100 gaps a second at 0.3),
    and which samples of the clock were lost."""
    rng = np.random.default_rng(seed)
    n = int(seconds * FS)
    lost = rng.random(n) < drop
    lost[0] = False
    blocks, k = [], 0
    while k < n:
        if lost[k]:
            k += 1
            continue
        b = k
        while b < n and not lost[b] and b - k < 7:
            b += 1
        data = np.sin(np.arange(k, b) / 7.0)[:, None] * 100 + rng.normal(0, 1, (b - k, 1))
        blocks.append(Block(data, FS, CHANNELS, k))
        k = b
    return blocks, lost


def _filled(path: Path) -> tuple[int, np.ndarray]:
    """(samples bbfeedback reads, where its gaps say the fill is)."""
    rec = read_recording(path)
    n = rec.signals[0].data.size
    mask = np.zeros(n, bool)
    for g in rec.meta.all("gap"):
        at = round(g["t_s"] * FS)
        assert at + g["lost_samples"] <= n, g
        mask[at:at + g["lost_samples"]] = True
    assert not rec.meta.warnings, rec.meta.warnings
    return n, mask


def _record(path: Path, blocks: list[Block], crash_at: int | None = None) -> Path:
    """Record the blocks; with ``crash_at``, a copy of the file as a SIGKILL after that many
    blocks leaves it (the recorder never closes it), with its in-progress marker."""
    rec = SessionRecorder(path, CHANNELS, FS, {"emg": (-500.0, 500.0)}, device={"name": "t"})
    for i, block in enumerate(blocks):
        rec.block(rec.admit(block), [], None)
        if i == crash_at:
            crashed = path.with_name("crashed.edf")
            shutil.copyfile(path, crashed)
            marker_path(crashed).write_text("{}")
            rec.close()
            return crashed
    rec.close()
    return path


@pytest.mark.parametrize("crash_at", [400, 1111, 1900])
def test_a_crash_on_a_lossy_link_leaves_no_fill_unannotated(tmp_path, crash_at):
    blocks, lost = _lossy_blocks(20, 0.3)
    crashed = _record(tmp_path / "s.edf", blocks, crash_at)
    records, _, _ = recover(crashed)
    n, mask = _filled(crashed)
    assert n == records * FS and n >= blocks[crash_at].start_sample - FS
    # every sample lost before the crash point is annotated as fill, and nothing else
    assert np.array_equal(mask, lost[:n]), (int(lost[:n].sum()), int(mask.sum()))


def test_a_lossy_recording_keeps_the_device_clock_and_every_gap(tmp_path):
    blocks, lost = _lossy_blocks(20.3, 0.3)
    path = _record(tmp_path / "s.edf", blocks)
    n, mask = _filled(path)
    assert n == lost.size and np.array_equal(mask, lost)
    with pyedflib.EdfReader(str(path)) as f:  # 21 one-second records, none added
        assert f.getFileDuration() == 21 and f.getNSamples()[0] == 21 * FS


def test_cues_and_a_long_summary_at_the_end_add_no_record(tmp_path):
    """What waits at the close (a summary of several parts, cues, a gap in the last record)
    goes into the last record and the free room of the one before, in file order."""
    path = tmp_path / "end.edf"
    w = EdfPlusWriter(path, [SignalSpec("pfm", "uV", FS, -500, 500)], datetime(2026, 1, 1),
                      annotation_bytes=4096)
    w.write([np.zeros(int(3 * FS))])
    for k in range(30):
        w.annotate(2.9, f"cue:work:squeeze rep={k + 1}")
    for text in (t for k in range(3) for t in [f"bbfeedback:summary {{\"x\": \"{k}"
                                                + "a" * 1000 + "\"}"]):
        for t in [text[i:i + 380] for i in range(0, len(text), 380)]:
            w.annotate(3.0, t)
    w.write([np.zeros(10)])
    w.fill(5)
    w.write([np.ones(3)])
    w.close()
    with pyedflib.EdfReader(str(path)) as f:
        assert f.getFileDuration() == 4
        onsets, _, texts = f.readAnnotations()
    assert [t for t in texts if t.startswith("cue:")] == \
        [f"cue:work:squeeze rep={k + 1}" for k in range(30)]
    rec = read_recording(path)
    assert rec.signals[0].data.size == 3 * FS + 18
    assert rec.meta.all("gap") == [{"t_s": (3 * FS + 10) / FS, "lost_samples": 5}]


@pytest.mark.parametrize("pattern", ["alternate", "one", "runs"])
def test_the_gaps_of_a_record_read_back_exactly(pattern):
    n = 20000
    lost = {"alternate": np.arange(n) % 2 == 1, "one": np.arange(n) == 7,
            "runs": (np.arange(n) // 300) % 3 == 0}[pattern]
    edges = np.flatnonzero(np.diff(np.r_[0, lost.astype(int), 0]))
    runs = [[int(a), int(b - a)] for a, b in zip(edges[::2], edges[1::2], strict=True)]
    texts = encode_gaps(20000.0, 40000, n, runs)
    meta = decode((2.0, t) for t in texts)
    back = np.zeros(n, bool)
    for g in meta.all("gap"):
        at = round(g["t_s"] * 20000.0) - 40000
        back[at:at + g["lost_samples"]] = True
    assert np.array_equal(back, lost) and not meta.warnings
    assert all(len(t.encode()) <= 400 for t in texts)  # EDFlib reads 512 bytes at most


@pytest.mark.parametrize(("value", "why"), [
    ('{"fs_hz": 500, "from": 0, "lost": 4, "runs": [[3, 2]]}', "not the sum"),
    ('{"fs_hz": 500, "from": 0, "lost": 4, "runs": [[3, 2], [4, 2]]}', "overlap"),
    ('{"fs_hz": 0, "from": 0, "lost": 1, "runs": [[3, 1]]}', "fs_hz"),
    ('{"fs_hz": 500, "from": 0, "lost": 1, "n": 8, "mask": "!!"}', "base64"),
    ('{"fs_hz": 500, "from": 0, "lost": 1, "n": 800, "mask": "AQ=="}', "n bits"),
])
def test_a_damaged_gaps_annotation_is_named_and_left_out(value, why):
    meta = decode([(0.0, f"bbfeedback:gaps {value}")])
    assert meta.all("gap") == [] and why in meta.warnings[0] and "gaps" in meta.damaged


def test_old_files_with_one_annotation_per_gap_still_read(tmp_path):
    path = tmp_path / "old.edf"
    with EdfPlusWriter(path, [SignalSpec("pfm", "uV", FS, -500, 500)],
                       datetime(2026, 1, 1)) as w:
        w.annotate(0.5, 'bbfeedback:gap {"t_s": 0.5, "lost_samples": 3}')
        w.write([np.zeros(int(2 * FS))])
    assert read_recording(path).meta.all("gap") == [{"t_s": 0.5, "lost_samples": 3}]
