"""Fill after lost samples is not signal for other EDF+ readers either (issue 23): the
recorder's ``bbfeedback:gaps`` annotation is ours alone (MNE shows it as an opaque
annotation and ``reject_by_annotation`` keeps the fill), so each data record also carries
``BAD_ACQ_SKIP`` spans over its fill - at most ``SKIP_SPANS``, runs close together joined -
which MNE leaves out. Through the user's command: ``record`` of an emulated device over a
link that drops packets (~100 gaps a second), read with ``mne.io.read_raw_edf``."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bbfeedback.recording import read_recording
from bbfeedback.recording.edf_writer import SKIP_SPANS, skip_spans

mne = pytest.importorskip("mne")
BB = [sys.executable, "-m", "bbfeedback"]
FS = 500.0  # the ascii device's rate


def _record_lossy(tmp: Path, drop: float) -> tuple[Path, subprocess.CompletedProcess]:
    link = tmp / "port"
    emu = subprocess.Popen(BB + ["emulate", "--device", "ascii", "--protocol", "b4-wink",
                                 "--drop", str(drop), "--seconds", "30", "--speed", "4",
                                 "--seed", "11", "--link", str(link)],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert emu.stdout.readline().strip(), "the emulator printed no port"
        out = tmp / "lossy.edf"
        got = subprocess.run(BB + ["record", "--device", "ascii", "--port", str(link),
                                   "--seconds", "12", "--wait-s", "30", "--out", str(out)],
                             capture_output=True, text=True, timeout=120)
    finally:
        emu.kill()
        emu.wait(30)
        emu.stdout.close()
    assert got.returncode == 0, got.stderr
    return out, got


@pytest.mark.parametrize("drop", [0.02, 0.3])
def test_mne_leaves_out_every_filled_sample(tmp_path, drop):
    path, got = _record_lossy(tmp_path, drop)
    # the device's clock: every sample received or lost, and the file holds just that
    m = re.search(r"recorded (\d+) samples .* samples received (\d+); .* samples lost (\d+)",
                  got.stdout)
    assert m, got.stdout
    recorded, received, lost = map(int, m.groups())
    assert recorded == received + lost and lost > 2000 * drop
    rec = read_recording(path)
    n = rec.signals[0].data.size
    assert n == recorded
    fill = np.zeros(n, bool)  # our reader's exact runs
    for g in rec.meta.all("gap"):
        at = round(g["t_s"] * FS)
        fill[at:at + g["lost_samples"]] = True
    assert fill.sum() == lost

    raw = mne.io.read_raw_edf(path, preload=True, verbose="error")
    assert raw.info["sfreq"] == FS
    assert n <= raw.n_times < n + FS  # the last record's padding: a BAD_ACQ_SKIP too
    marked = np.isnan(raw.get_data(picks=[0], reject_by_annotation="NaN")[0])
    assert marked[:n][fill].all()  # no filled sample left as signal
    assert marked[n:].all()  # nor the padding
    kept = raw.get_data(picks=[0], reject_by_annotation="omit")
    assert kept.shape[1] == (~marked).sum() > 0
    # the spans hold to their bound; a record with no more runs of fill than that is exact
    # (joined runs cover some signal: only where a record has more)
    skips = [d for d in raw.annotations.description if d == "BAD_ACQ_SKIP"]
    records = -(-raw.n_times // int(FS))
    assert len(skips) <= records * SKIP_SPANS + 1
    exact = 0
    for r in range(records):
        a, b = r * int(FS), min(n, (r + 1) * int(FS))
        runs = np.count_nonzero(np.diff(np.r_[0, fill[a:b].astype(int)]) == 1)
        if runs <= SKIP_SPANS:
            assert (marked[a:b] == fill[a:b]).all(), r
            exact += 1
    if drop < 0.1:
        assert exact >= records // 2
    # our own reader still uses the exact runs: the BAD_ACQ_SKIP spans change nothing there
    assert not rec.meta.warnings


@pytest.mark.parametrize("runs, most, spans", [
    ([[0, 2], [5, 1], [7, 3], [20, 1]], 2, [(0, 10), (20, 21)]),
    ([[0, 2], [5, 1]], 16, [(0, 2), (5, 6)]),
    ([[3, 1]], 1, [(3, 4)]),
    ([[i * 3, 1] for i in range(100)], 16, None),
])
def test_skip_spans_cover_every_run_within_the_bound(runs, most, spans):
    got = skip_spans(runs, most)
    if spans is not None:
        assert got == spans
    assert len(got) <= most
    covered = np.zeros(400, bool)
    for a, b in got:
        covered[a:b] = True
    for a, c in runs:
        assert covered[a:a + c].all()
