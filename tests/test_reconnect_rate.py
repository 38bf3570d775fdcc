"""Issue 23 (attacker findings), item 1: a reopened port on probation must also send at the
device's rate. Another P2 at 257.1 Hz (a firmware rate of the same board) taking the name of
our 250 Hz one passed the counter check about one time in nine: its counter needs only to
be near ours when the reader arrives, and over the half second judged it drifts by 3.5
samples. Now the new link's rate is measured too, over seconds, and a rate off the device's
refuses it: "device lost", none of its samples; our own device coming back is still taken.

The twins here start their counter right where ours would be when the reader arrives (a
little behind, well inside what the counter check allows), so the counter alone would pass
them every time: only the rate tells. Nothing sleeps and then asserts; every emulator,
thread and process is stopped and reaped in ``finally``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from bbfeedback.drivers import openeeg_p2
from conftest import collect
from test_reconnect_identity import (
    FOREIGN_COUNT,
    Proc,
    TimedP2,
    _unplugged_p2,
    _until_disconnected,
    kinds,
)

OURS_HZ = 250.0
TWIN_HZ = 257.1  # the P2's other firmware rate
LAG = -3  # the twin's counter this far behind the due one when the reader arrives


class TwinP2(TimedP2):
    """A P2 behind ``link`` whose counter, when a reader first opens the port, stands at
    what our device (its packet ``k0`` sent at ``t0``, at OURS_HZ) would send then, plus
    ``lag``; from then on it counts at ``fs_hz``."""

    def __init__(self, link: str, k0: int, t0: float, counts, fs_hz: float, lag: int = LAG):
        self.lag = lag
        self.reader_at: float | None = None
        super().__init__(link, k0, t0, 0, counts, fs_hz)

    def _run(self) -> None:
        while not self._reader_there():  # nobody listens yet: the board waits
            if self._stop.wait(0.004):
                return
        t_r = self.reader_at = time.monotonic()
        base = self.k0 + int((t_r - self.t0) * OURS_HZ) + self.lag
        k = base
        while not self._stop.wait(0.004):
            due = base + int((time.monotonic() - t_r) * self.fs_hz)
            data = b"".join(self._packet(i) for i in range(k + 1, due + 1))
            k = due
            if not self._reader_there():
                continue
            try:
                os.write(self.master, data)
            except OSError:
                pass


def _foreign(b) -> np.ndarray:
    value = openeeg_p2.P2Parser(2).to_physical(np.array([FOREIGN_COUNT]))[0]
    return np.isclose(b.data, value).all(axis=1)


@pytest.mark.parametrize("fs_hz,lag", [(TWIN_HZ, LAG), (TWIN_HZ, 0), (OURS_HZ, 0),
                                       (OURS_HZ, 0), (OURS_HZ, LAG)],
                         ids=["faster-behind", "faster", "same-rate-1", "same-rate-2",
                              "same-rate-behind"])
def test_a_p2_on_the_old_name_is_taken_only_at_the_device_rate(fs_hz, lag, tmp_path):
    """A twin whose counter continues ours: at our rate it is taken (several times: no
    false refusal), at 257.1 Hz it ends the stream ``lost`` with none of its samples."""
    spec, packets, link, ours, stream = _unplugged_p2(tmp_path)
    twin = None
    same = fs_hz == OURS_HZ
    try:
        before, gone = _until_disconnected(stream)
        k_last, t_last = ours.sent_at[-1]
        counts = (lambda k: packets.counts[k]) if same else [FOREIGN_COUNT] * 2
        twin = TwinP2(link, k_last, t_last, counts, fs_hz, lag)
        if same:
            after, statuses = collect(stream, lambda b, s: sum(x.n_samples for x in b)
                                      > 2 * spec.fs_hz or "lost" in kinds(s), timeout=60)
        else:
            after, statuses = collect(stream, lambda b, s: {"lost", "reconnected"}
                                      & set(kinds(s)), timeout=60)
    finally:
        stream.stop()
        ours.stop()
        if twin:
            twin.stop()
    if same:
        assert "lost" not in kinds(statuses), [s.message for s in statuses]
        again = next(s for s in statuses if s.kind == "reconnected")
        assert "samples/s as before" in again.message, again.message
        assert sum(b.n_samples for b in after) > 2 * spec.fs_hz
    else:
        lost = next(s for s in statuses if s.kind == "lost")
        assert "samples/s" in lost.message or "counter" in lost.message, lost.message
        assert "reconnected" not in kinds(statuses), [s.message for s in statuses]
        for b in before + after:
            assert b.end_sample <= gone.sample
            assert not _foreign(b).any()


# --- through the user's command ------------------------------------------------------------

def _record_with_twin(tmp_path: Path, fs_hz: float):
    """``record`` of an emulated P2 (``emulate --link``) pulled after 4 s, whose name a
    TwinP2 at ``fs_hz`` then takes, its counter continuing ours; (exit status, stderr, the
    recording, the twin)."""
    from bbfeedback.recording import read_recording

    link = str(tmp_path / "port")
    out = tmp_path / "rec.edf"
    sent = tmp_path / "sent.json"
    ours = Proc("emulate", "--device", "p2", "--protocol", "a1-strength", "--link", link,
                "--unplug-after", "4", "--report-sent", str(sent))
    rec = twin = None
    try:
        assert ours.first_line() == link
        rec = Proc("record", "--device", "p2", "--port", link, "--seconds", "60",
                   "--wait-s", "30", "--out", str(out))
        assert rec.wait_for("disconnected", timeout=60), "".join(rec.err)
        ours.finish(timeout=60)  # pulled for good: it reports what it sent, and ends
        timeline = json.loads(sent.read_text())["timeline"]
        k_next, t_last = timeline[-1]
        twin = TwinP2(link, int(k_next) - 1, float(t_last), [FOREIGN_COUNT] * 2, fs_hz)
        rc, _, err = rec.finish(timeout=120)
    finally:
        for p in (rec, ours):
            if p:
                p.close()
        if twin:
            twin.stop()
    return rc, err, read_recording(out), twin


def test_record_refuses_a_p2_at_another_rate_on_the_name(tmp_path):
    """``bbfeedback record``: the 257.1 Hz twin (its counter right) ends it "device lost",
    exit status 3, and the file holds our 4 s and nothing of the twin."""
    rc, err, recording, twin = _record_with_twin(tmp_path, TWIN_HZ)
    assert twin.reader_at is not None  # the twin was heard
    assert rc == 3, err
    assert "Traceback" not in err
    assert "device lost" in err and "now answers as another device" in err, err
    assert "reconnected" not in err
    texts = [a.text for a in recording.annotations]
    assert not any(t.startswith("bbfeedback:reconnected") for t in texts)
    assert not any(t.startswith("bbfeedback:gap") for t in texts)
    assert recording.duration_s <= 5.0


def test_record_refuses_a_p2_emulator_at_257_hz(tmp_path):
    """The finding as found: ``emulate`` at 257.1 Hz (``--speed`` 257.1/250) takes the name
    of a 250 Hz one: "device lost", exit status 3, none of its samples."""
    from bbfeedback.recording import read_recording

    link = str(tmp_path / "port")
    out = tmp_path / "rec.edf"
    ours = Proc("emulate", "--device", "p2", "--protocol", "a1-strength", "--link", link,
                "--unplug-after", "4")
    rec = other = None
    try:
        assert ours.first_line() == link
        rec = Proc("record", "--device", "p2", "--port", link, "--seconds", "60",
                   "--wait-s", "30", "--out", str(out))
        assert rec.wait_for("disconnected", timeout=60), "".join(rec.err)
        other = Proc("emulate", "--device", "p2", "--protocol", "b5-lift", "--seed", "7",
                     "--link", link, "--speed", f"{TWIN_HZ / OURS_HZ:.6f}")
        assert other.first_line() == link
        rc, _, err = rec.finish(timeout=120)
    finally:
        for p in (rec, other, ours):
            if p:
                p.close()
    assert rc == 3, err
    assert "Traceback" not in err
    assert "device lost" in err and "now answers as another device" in err, err
    assert "reconnected" not in err
    recording = read_recording(out)
    assert not any(a.text.startswith("bbfeedback:reconnected") for a in recording.annotations)
    assert recording.duration_s <= 5.0


def test_record_takes_our_own_p2_back(tmp_path):
    """The same emulated P2 plugged back in on its name (its counter and its rate going on):
    reconnected, the recording goes on to its end, exit status 0."""
    link = str(tmp_path / "port")
    out = tmp_path / "rec.edf"
    ours = Proc("emulate", "--device", "p2", "--protocol", "a1-strength", "--link", link,
                "--unplug-after", "3", "--replug-after", "1")
    rec = None
    try:
        assert ours.first_line() == link
        rec = Proc("record", "--device", "p2", "--port", link, "--seconds", "12",
                   "--wait-s", "30", "--out", str(out))
        rc, _, err = rec.finish(timeout=120)
    finally:
        for p in (rec, ours):
            if p:
                p.close()
    assert rc == 0, err
    assert "Traceback" not in err
    assert "reconnected" in err and "samples/s as before" in err, err
    assert "device lost" not in err
