"""Issue 23 (attacker findings), item 2: ``bbfeedback emulate --report-sent`` stopped by
SIGTERM, and SIGTERM again while it is stopping and reporting. The first signal restored the
default handler before the cleanup, so a second one killed it there (no report, status
-15), or raised inside it (a traceback). Now any later signal changes nothing: the report is
written once, the exit is the first signal's (0), no traceback.

Every process is reaped in ``finally``; nothing depends on speed (waits are bounds).
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import time

import pytest

BB = [sys.executable, "-m", "bbfeedback"]


def _emulate(tmp_path, signals) -> tuple[int, str, str]:
    """An emulated P2 read by this test; once bytes arrive, ``signals(proc)`` signals it.
    Its exit status, stderr and the report's text."""
    report = tmp_path / "sent.json"
    proc = subprocess.Popen([*BB, "emulate", "--device", "p2", "--protocol", "a1-strength",
                             "--report-sent", str(report)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    fd = -1
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "no port printed"
        port = proc.stdout.readline().strip()
        fd = os.open(port, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        got, end = b"", time.monotonic() + 60
        while len(got) < 200 and time.monotonic() < end:  # the device is sending
            if select.select([fd], [], [], 0.5)[0]:
                got += os.read(fd, 4096)
        assert len(got) >= 200
        signals(proc)
        _, err = proc.communicate(timeout=60)
        rc = proc.returncode
    finally:
        if proc.poll() is None:  # (poll reaps one that has ended)
            proc.kill()
            proc.communicate(timeout=30)
        if fd >= 0:
            os.close(fd)
    return rc, err, report.read_text() if report.exists() else ""


def _twice(proc) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.send_signal(signal.SIGTERM)


def _until_gone(proc) -> None:
    """SIGTERM, and again every 2 ms until it has ended: some arrive while it stops and
    reports (it ended by itself within the bound, else ``communicate`` says so)."""
    end = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < end:
        try:
            proc.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            break
        time.sleep(0.002)


@pytest.mark.parametrize("signals", [_twice, _until_gone], ids=["twice", "until-gone"])
def test_emulate_reports_once_when_sigterm_comes_again_while_stopping(signals, tmp_path):
    rc, err, report = _emulate(tmp_path, signals)
    assert rc == 0, err
    assert "Traceback" not in err, err
    assert len(re.findall(r"^sent \d+ packets", err, re.M)) == 1, err
    sent = json.loads(report)
    assert sent["packets"] > 0 and f"sent {sent['packets']} packets" in err
