"""The fault matrix of issue 11, end to end through a pty: ``bbfeedback record`` reading an
emulated device (``bbfeedback emulate``, or the emulator in this process for the signal runs)
while the link fails, or while the recorder is stopped or killed.

For every run: no traceback, no hang beyond the watchdog (``--wait-s``) + 2 s, the file is
readable by edfio and MNE (and MNE, leaving out the marked fill of the last record, sees the
true length), the samples kept are the samples sent before the fault minus at most 1 s (on the
device's clock: a lost sample is kept as an annotated fill; after SIGKILL the bytes still on
their way through the pty count too, at most IN_FLIGHT_S more), every loss is annotated,
nothing is invented (no more samples received than the device delivered).

Faults: line noise (garbage 0.05 / 0.3 of the packets, drops 0.01 / 0.2), a cable pulled with
and without plugging it back in, a port nobody sends on, a device that falls silent, and
SIGINT, SIGTERM and SIGKILL at random moments (seeded). The runs of a group go at once.
"""

from __future__ import annotations

import json
import os
import random
import re
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import edfio
import mne
import pytest

from bbfeedback.recording import read_recording
from bbfeedback.recording.repair import marker_path

BB = [sys.executable, "-m", "bbfeedback"]
WAIT_S = 3.0  # --wait-s of every run: how long a silent device is waited for
GRACE_S = 2.0  # the issue: no hang beyond the watchdog + 2 s
LOAD_S = 3.0  # start-up and finishing on a loaded 2-core machine, on top of the grace
KEEP_S = 1.0  # the issue: kept = sent before the fault minus at most 1 s
IN_FLIGHT_S = 0.15  # SIGKILL also loses the bytes still in the pty and the reader's queue
SIGNAL_RUNS = 10  # per signal (the issue: 10 random moments each)
mne.set_log_level("ERROR")


@dataclass
class Run:
    """One recording under a fault, as it went."""

    name: str
    device: str
    fs: float
    out: Path
    rc: int | None = None
    out_lines: list[tuple[float, str]] = field(default_factory=list)  # (monotonic time, line)
    stderr: list[tuple[float, str]] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0
    fault_at: float | None = None  # the signal, the unplug, the stall (monotonic)
    sent: dict | None = None  # the emulator's report

    @property
    def err(self) -> str:
        return "\n".join(line for _, line in self.stderr)

    @property
    def stdout(self) -> str:
        return "\n".join(line for _, line in self.out_lines)

    def on_disk_by(self, t: float) -> int:
        """Samples ``record --progress`` had said were safely on disk by time ``t``."""
        return max((int(line.split()[2]) for stamp, line in self.out_lines
                    if stamp <= t and line.startswith("on disk ")), default=0)

    def when(self, needle: str) -> float | None:
        return next((t for t, line in self.stderr if needle in line), None)

    def summary(self, key: str) -> int:
        """A number of record's last line ('samples received 123; ...')."""
        return int(re.search(rf"{key} (\d+)", self.stdout).group(1))

    def sent_by(self, t: float) -> int:
        """Packets the device had sent (on its clock) by monotonic time ``t``."""
        return max((n for n, stamp in self.sent["timeline"] if stamp <= t), default=0)


def _lines(stream, into: list, connected: threading.Event) -> None:
    for line in stream:
        into.append((time.monotonic(), line.rstrip("\n")))
        if ": connected" in line:
            connected.set()
    stream.close()


def record(run: Run, port: str, *options: str, on_connect=None, timeout: float = 180) -> Run:
    """``bbfeedback record`` on ``port`` until it ends by itself (or ``on_connect(proc)`` ends
    it); stderr is read as it comes, each line with its time."""
    connected = threading.Event()
    run.started = time.monotonic()
    proc = subprocess.Popen([*BB, "record", "--device", run.device, "--port", port,
                             "--wait-s", f"{WAIT_S:g}", "--out", str(run.out), *options],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    readers = [threading.Thread(target=_lines, args=(proc.stderr, run.stderr, connected)),
               threading.Thread(target=_lines, args=(proc.stdout, run.out_lines, connected))]
    for t in readers:
        t.start()
    try:
        if on_connect is not None and connected.wait(60):
            on_connect(proc)
        run.rc = proc.wait(timeout)
    except subprocess.TimeoutExpired:  # a hang: rc stays None
        proc.kill()
        proc.wait()
    finally:
        run.ended = time.monotonic()
        for t in readers:
            t.join(10)
    return run


def _proc_state(pid: int) -> str:
    """A stuck process's state, signal masks and each thread's wait channel."""
    proc = Path(f"/proc/{pid}")
    try:
        status = [line for line in (proc / "status").read_text().splitlines()
                  if line.split(":")[0] in ("State", "SigIgn", "SigCgt", "SigBlk", "Threads")]
        waits = [(t / "wchan").read_text() for t in (proc / "task").iterdir()]
        fds = sorted(os.readlink(f) for f in (proc / "fd").iterdir())
    except OSError as exc:
        return f"unreadable ({exc})"
    return f"{'; '.join(status)}; waits {waits}; fds {fds}"


class Emulator:
    """``bbfeedback emulate`` with its report of what it sent. The recorder opens it by a link
    of its own (``--link``): a pty's name is given to the next pty as soon as it is closed, and
    a recorder retrying a name after an unplug would read another run's device."""

    def __init__(self, tmp: Path, name: str, device: str, *options: str):
        self.report = tmp / f"{name}.sent.json"
        self.proc = subprocess.Popen([*BB, "emulate", "--device", device, "--protocol",
                                      "a1-strength", "--report-sent", str(self.report),
                                      "--link", str(tmp / f"{name}.port"), *options],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 60)
        self.port = self.proc.stdout.readline().strip() if ready else ""
        assert self.port, "the emulator printed no port"

    def end(self) -> dict:
        """Its report, once it has ended (by itself when the reader has gone; else Ctrl-C)."""
        err = None
        for sig in (None, signal.SIGINT, signal.SIGTERM):  # emulate stops on either
            if sig is not None:
                self.proc.send_signal(sig)
            try:
                _, err = self.proc.communicate(timeout=20)
                break
            except subprocess.TimeoutExpired:
                continue
        if err is None:  # seen in a few fresh-venv runs: say where it was stuck
            state = _proc_state(self.proc.pid)
            self.proc.kill()
            _, err = self.proc.communicate()
            raise AssertionError(f"the emulator did not end: {state}\n{err[-2000:]}")
        assert "Traceback" not in err, err
        return json.loads(self.report.read_text())

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:  # a run that failed half-way: no emulator left behind
            self.proc.kill()
            self.proc.communicate()


# --- reading the file back -----------------------------------------------------------------

@dataclass
class Kept:
    samples: int  # on the device's clock, fill included (bbfeedback's reader)
    lost: int  # the fill: lost samples, as the gap annotations say
    texts: list[str]


def kept_in(path: Path, fs: float) -> Kept:
    """What a file keeps, read by bbfeedback, edfio and MNE, which must agree."""
    rec = read_recording(path)
    sizes = {s.data.size for s in rec.signals}
    assert len(sizes) == 1, sizes
    samples = sizes.pop()
    theirs = edfio.read_edf(path)
    texts = [a.text for a in theirs.annotations]
    gaps = [json.loads(t.split(" ", 1)[1]) for t in texts if t.startswith("bbfeedback:gap ")]
    for g in gaps:
        assert 0 <= g["t_s"] <= samples / fs and g["lost_samples"] > 0, g
    assert len(theirs.signals) == len(rec.signals)  # edfio leaves the annotations out
    raw = mne.io.read_raw_edf(path, preload=True)
    n_mne = raw.get_data(reject_by_annotation="omit").shape[1]  # the last record's fill out
    for sig in theirs.signals:
        assert sig.sampling_frequency == fs
        assert samples <= len(sig.data) and n_mne == samples, (samples, len(sig.data), n_mne)
    assert [a.text for a in rec.annotations if a.text.startswith("bbfeedback:gap ")] == \
        [t for t in texts if t.startswith("bbfeedback:gap ")]
    return Kept(samples, sum(g["lost_samples"] for g in gaps), texts)


def no_traceback(run: Run) -> None:
    assert "Traceback" not in run.err and "Exception" not in run.err, run.err[-3000:]


# --- link faults -----------------------------------------------------------------------------

A1 = ("--protocol", "a1-strength")
NOISE = {  # (device, garbage, drop, seconds recorded, emulator speed)
    "noise-light-p2": ("p2", 0.05, 0.01, 90, 6),  # issue 11: a NaN crash ~85 s in
    "noise-light-ascii": ("ascii", 0.05, 0.01, 40, 4),
    **{f"noise-heavy-{d}": (d, 0.3, 0.2, 40, 4) for d in ("p2", "cyton", "ascii", "bitalino")},
}
FS = {"p2": 250.0, "cyton": 250.0, "ascii": 500.0, "bitalino": 1000.0}


def _noise(tmp: Path, name: str) -> Run:
    device, garbage, drop, seconds, speed = NOISE[name]
    with Emulator(tmp, name, device, "--garbage", str(garbage), "--drop", str(drop),
                  "--seconds", str(seconds + 15), "--speed", str(speed), "--seed", "11") as emu:
        # a session now ends with its protocol's last rest (a1: ~89 s): the 90 s run that
        # once crashed ~85 s in records the longer daily set
        proto = A1 if seconds < 80 else ("--protocol", "a-daily")
        run = record(Run(name, device, FS[device], tmp / f"{name}.edf"), emu.port, *proto,
                     "--seconds", str(seconds))
        run.sent = emu.end()
    return run


def _fault(tmp: Path, name: str, device: str, emulate: tuple, seconds: tuple,
           event: str) -> Run:
    """A recording through an emulated ``device`` that has a fault (``emulate``: its
    options); the fault's time from the emulator's ``event``."""
    with Emulator(tmp, name, device, *emulate) as emu:
        run = record(Run(name, device, 250.0, tmp / f"{name}.edf"), emu.port, *A1, *seconds)
        run.sent = emu.end()
    run.fault_at = run.sent["events"][event]
    return run


def _unplug(tmp: Path, name: str) -> Run:  # pulled after 8 s of signal, never back
    return _fault(tmp, name, "p2", ("--unplug-after", "8", "--speed", "2"),
                  ("--seconds", "60"), "unplugged")


def _replug(tmp: Path, name: str) -> Run:  # pulled after 5 s, back 2 s later (a new pty)
    return _fault(tmp, name, "p2", ("--unplug-after", "5", "--replug-after", "2"),
                  ("--seconds", "12", "--wait-s", "10"),  # it retries every 2 s at most
                  "unplugged")


def _stall(tmp: Path, name: str) -> Run:  # silent after 6 s of signal, the port still there
    return _fault(tmp, name, "cyton", ("--stall-after", "6", "--speed", "2"),
                  ("--seconds", "60"), "stalled")


def _silent(tmp: Path, name: str) -> Run:  # a pty nobody sends on
    master, slave = os.openpty()
    try:
        run = record(Run(name, "p2", 250.0, tmp / f"{name}.edf"), os.ttyname(slave),
                     "--seconds", "30")
    finally:
        os.close(slave)
        os.close(master)
    run.fault_at = run.when(": connected")
    return run


LINK = {**{name: _noise for name in NOISE}, "unplug": _unplug, "unplug-replug": _replug,
        "device-stops": _stall, "silent-port": _silent}


def _run_at_once(jobs: dict, tmp: Path, at_most: int = 16) -> dict:
    """Every job at once (``at_most`` at a time); {name: Run, or the exception it raised}."""
    found: dict = {}
    room = threading.Semaphore(at_most)

    def one(name: str, job) -> None:
        try:
            with room:
                found[name] = job(tmp, name)
        except BaseException as exc:  # noqa: BLE001 - named in the test that reads it
            found[name] = exc

    threads = [threading.Thread(target=one, args=item) for item in jobs.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return found


def _chosen(request, group: dict) -> dict:
    names = {item.callspec.params.get("name") for item in request.session.items
             if item.module is request.module and hasattr(item, "callspec")}
    return {name: job for name, job in group.items() if name in names}


@pytest.fixture(scope="module")
def link_runs(request, tmp_path_factory) -> dict:
    return _run_at_once(_chosen(request, LINK), tmp_path_factory.mktemp("link-faults"))


def _get(runs: dict, name: str) -> Run:
    got = runs[name]
    if isinstance(got, BaseException):
        raise got
    return got


@pytest.mark.parametrize("name", sorted(NOISE))
def test_a_noisy_link_records_to_the_end_with_every_loss_annotated(name, link_runs):
    run = _get(link_runs, name)
    device, _, _, seconds, speed = NOISE[name]
    no_traceback(run)
    assert run.rc == 0, run.err[-2000:]
    # no hang: a bound for a hang, not a speed (52 s seen for 10 s of signal on a 2-core
    # machine running three test suites at once)
    assert run.ended - run.started < 10 * seconds / speed + 120
    kept = kept_in(run.out, run.fs)
    assert kept.samples == run.summary("recorded") == int(seconds * run.fs)
    assert kept.lost == run.summary("samples lost") == kept.samples - run.summary(
        "samples received")
    # nothing invented: no more samples received than went out on the line
    assert run.summary("samples received") <= run.sent["delivered"]
    assert not marker_path(run.out).exists()
    assert read_recording(run.out).meta.last("summary")  # the session was scored to the end


@pytest.mark.parametrize("name", ["unplug"])
def test_a_cable_pulled_for_good_ends_with_status_3_and_the_file_saved(name, link_runs):
    run = _get(link_runs, name)
    no_traceback(run)
    assert run.rc == 3 and "device lost" in run.err, run.err[-2000:]
    assert run.ended - run.fault_at < WAIT_S + GRACE_S + LOAD_S
    kept = kept_in(run.out, run.fs)
    sent = run.sent_by(run.fault_at)
    assert sent - KEEP_S * run.fs <= kept.samples <= sent
    assert kept.lost == 0 and any(t.startswith("bbfeedback:disconnected") for t in kept.texts)
    assert not marker_path(run.out).exists()


@pytest.mark.parametrize("name", ["unplug-replug"])
def test_a_cable_plugged_back_in_resumes_with_the_gap_annotated(name, link_runs):
    run = _get(link_runs, name)
    no_traceback(run)
    assert run.rc == 0, run.err[-2000:]
    kept = kept_in(run.out, run.fs)
    assert kept.samples == 12 * run.fs
    texts = " ".join(kept.texts)
    assert "bbfeedback:disconnected" in texts and "bbfeedback:reconnected" in texts
    (a, b), = run.sent["skipped"]  # packets the device sent while the cable was out
    gaps = [json.loads(t.split(" ", 1)[1]) for t in kept.texts
            if t.startswith("bbfeedback:gap ")]
    # the time away is measured by the wall clock (a counter that wraps every second cannot
    # tell): from the last byte heard to the reconnection, within a second
    assert len(gaps) == 1 and abs(gaps[0]["lost_samples"] - (b - a)) <= KEEP_S * run.fs
    before = round(gaps[0]["t_s"] * run.fs)  # kept before the cable was pulled
    assert run.sent_by(run.fault_at) - KEEP_S * run.fs <= before <= run.sent_by(run.fault_at)
    assert kept.lost == gaps[0]["lost_samples"] == run.summary("samples lost")


@pytest.mark.parametrize("name", ["device-stops"])
def test_a_device_that_falls_silent_ends_after_the_wait_with_the_file_saved(name, link_runs):
    run = _get(link_runs, name)
    no_traceback(run)
    assert run.rc == 3 and "device lost" in run.err, run.err[-2000:]
    assert run.when("no data for 3 s") is not None
    assert run.ended - run.fault_at < WAIT_S + GRACE_S + LOAD_S
    kept = kept_in(run.out, run.fs)
    sent = run.sent_by(run.fault_at)
    assert sent - KEEP_S * run.fs <= kept.samples <= sent
    assert any(t.startswith("bbfeedback:lost") for t in kept.texts)


@pytest.mark.parametrize("name", ["silent-port"])
def test_a_port_nobody_sends_on_ends_after_the_wait_and_leaves_nothing(name, link_runs):
    run = _get(link_runs, name)
    no_traceback(run)
    assert run.rc == 3, run.err
    assert run.fault_at is not None and run.ended - run.fault_at < WAIT_S + GRACE_S + LOAD_S
    assert run.err.splitlines()[-1].startswith("bbfeedback: error: ")
    assert not run.out.exists() and not marker_path(run.out).exists()


# --- signals at random moments ---------------------------------------------------------------

SIGNALS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM, "SIGKILL": signal.SIGKILL}
DEVICES = ("p2", "cyton", "ascii", "bitalino")
_rng = random.Random(11)
MOMENTS = {f"{sig}-{k}": (sig, DEVICES[k % len(DEVICES)], round(_rng.uniform(0.3, 6.0), 2))
           for sig in SIGNALS for k in range(SIGNAL_RUNS)}


def _signalled(tmp: Path, name: str, packets: dict) -> Run:
    from bbfeedback.drivers.devices import make_device
    from bbfeedback.drivers.emulator import PtyEmulator

    sig, device, moment = MOMENTS[name]
    spec = make_device(device)
    emu = PtyEmulator(spec, packets[device], wait_for_reader=True).start()
    run = Run(name, device, spec.fs_hz, tmp / f"{name}.edf")

    def strike(proc: subprocess.Popen) -> None:
        time.sleep(moment)
        run.fault_at = time.monotonic()
        proc.send_signal(SIGNALS[sig])

    try:
        record(run, emu.port, *A1, "--seconds", "600", "--progress", on_connect=strike,
               timeout=60)
        emu.done.wait(10)  # it stops once the reader has gone
    finally:
        emu.stop()
    run.sent = {"timeline": [[k + 1, stamp] for k, stamp in emu.sent_at]}
    return run


@pytest.fixture(scope="module")
def signal_runs(request, tmp_path_factory) -> dict:
    from bbfeedback.drivers.devices import make_device
    from bbfeedback.drivers.emulator import make_packets

    from bbfeedback.app.emulate import emulated_values
    from bbfeedback.exercise import protocols

    chosen = _chosen(request, {name: None for name in MOMENTS})
    packets = {}
    for device in {MOMENTS[name][1] for name in chosen}:
        spec = make_device(device)
        values = emulated_values(spec, protocols.load("a1-strength"), seconds=15)
        packets[device] = make_packets(spec, values, seed=3)
    tmp = tmp_path_factory.mktemp("signals")
    jobs = {name: lambda t, n: _signalled(t, n, packets) for name in chosen}
    return _run_at_once(jobs, tmp, at_most=8)  # a starved recorder would lag behind the device


def _recovered(path: Path) -> Path | None:
    """``bbfeedback recover``: the repaired copy (or the file, repaired in place by an older
    recover); None when no complete data record reached the disk."""
    got = subprocess.run([*BB, "recover", str(path)], capture_output=True, text=True,
                         timeout=60)
    assert "Traceback" not in got.stderr, got.stderr
    if got.returncode == 2 and "no complete data record" in got.stderr:
        return None
    assert got.returncode == 0, got.stderr
    copy = path.with_name(f"{path.stem}-recovered{path.suffix}")
    return copy if copy.exists() else path


@pytest.mark.parametrize("name", sorted(MOMENTS))
def test_a_signal_at_any_moment_keeps_what_was_sent_before_it(name, signal_runs):
    run = _get(signal_runs, name)
    sig = MOMENTS[name][0]
    no_traceback(run)
    assert run.fault_at is not None, "record never said it was connected"
    sent = run.sent_by(run.fault_at)
    if sig == "SIGKILL":
        assert run.rc == -signal.SIGKILL
        assert marker_path(run.out).exists()  # in progress: recover makes it readable
        fixed = _recovered(run.out)
        kept = kept_in(fixed, run.fs).samples if fixed else 0
        assert kept >= run.on_disk_by(run.fault_at)  # what was said to be safe is there
        allowed = (KEEP_S + IN_FLIGHT_S) * run.fs
    else:
        assert run.rc == 0, run.err[-2000:]
        assert run.ended - run.fault_at < GRACE_S + LOAD_S  # finalised at once
        assert not marker_path(run.out).exists()
        if run.out.exists():
            assert "stopped early" in run.stdout
            kept = kept_in(run.out, run.fs).samples
            assert kept == run.summary("recorded")
        else:  # stopped before the first sample: nothing half-made
            assert "nothing recorded" in run.err
            kept = 0
        allowed = KEEP_S * run.fs
    assert sent - allowed <= kept <= run.sent_by(run.ended), (sent, kept)
