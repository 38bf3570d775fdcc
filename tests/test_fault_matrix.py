"""The fault matrix of issue 11, end to end through a pty: ``bbfeedback record`` reading an
emulated device (``bbfeedback emulate``, or the emulator in this process for the signal runs)
while the link fails, or while the recorder is stopped or killed.

For every run: no traceback, no hang (it ends by itself, within a generous bound: speed is
for benchmarks/, a loaded machine only makes it slower), the file is readable by edfio and MNE
(and MNE, leaving out the marked fill of the last record, sees the true length), the file lasts
as long as the device's clock (rounded up to one record: no records added for annotations),
the samples kept are the samples sent before the fault minus at most 1 s (on the device's
clock: a lost sample is kept as an annotated fill; after SIGKILL the bytes still on their way
through the pty count too, at most IN_FLIGHT_S more), every loss is annotated exactly,
nothing is invented (no more samples received than the device delivered).

The protocols rotate over the cases (a1-strength, b4-wink, b5-lift): every device and fault
runs once, each with one of them, rather than the full product.

Faults: line noise (garbage 0.05 / 0.3 of the packets, drops 0.01 / 0.2), a cable pulled with
and without plugging it back in, a port nobody sends on, a device that falls silent, SIGINT,
SIGTERM and SIGKILL at random moments (seeded), and SIGKILL on a link dropping 30 % of the
packets (then ``recover``: each filled sample annotated, exactly where the device lost it).
The runs of a group go at once. Every process a test starts ends with it: killed and reaped
when the test fails, and killed by the kernel if the test process itself dies
(``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import ctypes
import json
import math
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
import numpy as np
import pytest

from bbfeedback.recording import read_recording
from bbfeedback.recording.repair import marker_path

BB = [sys.executable, "-m", "bbfeedback"]
WAIT_S = 3.0  # --wait-s of every run: how long a silent device is waited for
# a hang, not a speed: far beyond what the watchdog (WAIT_S) and finishing take even on a 2-core
# machine running several test suites (the time limits once here failed 13 cases under load;
# how fast record finalises is measured in benchmarks/)
HANG_S = 120.0
PROTOCOLS = ("a1-strength", "b4-wink", "b5-lift")
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


_PRCTL = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the child only calls it


def _die_with_parent() -> None:
    """In the child: SIGKILL when the thread that started it dies (a test process killed
    by a timeout leaves no emulator or recorder behind). Each child is started, ended and
    reaped by one thread (``_run_at_once`` runs a whole job in one)."""
    _PRCTL(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG


def spawn(args: list[str]) -> subprocess.Popen:
    """A child process of a test (text pipes), bound to die with it."""
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_die_with_parent)


def reap(proc: subprocess.Popen) -> None:
    """Kill and reap a child that is still running (a test that failed half-way)."""
    if proc.poll() is None:
        proc.kill()
    try:
        proc.communicate(timeout=30)
    except (subprocess.TimeoutExpired, ValueError, OSError):
        proc.wait()


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
    proc = spawn([*BB, "record", "--device", run.device, "--port", port,
                  "--wait-s", f"{WAIT_S:g}", "--out", str(run.out), *options])
    readers = [threading.Thread(target=_lines, args=(proc.stderr, run.stderr, connected)),
               threading.Thread(target=_lines, args=(proc.stdout, run.out_lines, connected))]
    for t in readers:
        t.start()
    try:
        if on_connect is not None and connected.wait(60):
            on_connect(proc)
        run.rc = proc.wait(timeout)
    except subprocess.TimeoutExpired:  # a hang: rc stays None
        pass
    finally:
        run.ended = time.monotonic()
        if proc.poll() is None:  # a hang, or the test failed while it ran
            proc.kill()
            proc.wait()
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

    def __init__(self, tmp: Path, name: str, device: str, *options: str,
                 protocol: str = "a1-strength"):
        self.report = tmp / f"{name}.sent.json"
        self.proc = spawn([*BB, "emulate", "--device", device, "--protocol", protocol,
                           "--report-sent", str(self.report), "--link", str(tmp / f"{name}.port"),
                           *options])
        try:  # it prints the port once the link to its pty is there: wait for that line
            ready, _, _ = select.select([self.proc.stdout], [], [], HANG_S)
            self.port = self.proc.stdout.readline().strip() if ready else ""
            assert self.port, "the emulator printed no port"
            assert os.path.exists(self.port), f"the emulator's port {self.port} is not there"
        except BaseException:  # no half-started emulator left behind (__exit__ won't run)
            reap(self.proc)
            raise

    def end(self) -> dict:
        """Its report, once it has ended (by itself when the reader has gone; else Ctrl-C)."""
        err = None
        for sig in (None, signal.SIGINT, signal.SIGTERM):  # emulate stops on either
            if sig is not None:
                self.proc.send_signal(sig)
            try:
                _, err = self.proc.communicate(timeout=HANG_S / 4)
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
        reap(self.proc)  # a run that failed half-way: no emulator left behind


# --- reading the file back -----------------------------------------------------------------

@dataclass
class Kept:
    samples: int  # on the device's clock, fill included (bbfeedback's reader)
    lost: int  # the fill: lost samples, as the gap annotations say
    texts: list[str]
    gaps: list[tuple[int, int]] = field(default_factory=list)  # (first filled sample, count)


def _gap_text(text: str) -> bool:
    return text.startswith(("bbfeedback:gap ", "bbfeedback:gaps ", "bbfeedback:part gaps "))


def kept_in(path: Path, fs: float) -> Kept:
    """What a file keeps, read by bbfeedback, edfio and MNE, which must agree; the file
    lasts as long as the device's clock, rounded up to one (1-s) record."""
    rec = read_recording(path)
    sizes = {s.data.size for s in rec.signals}
    assert len(sizes) == 1, sizes
    samples = sizes.pop()
    theirs = edfio.read_edf(path)
    texts = [a.text for a in theirs.annotations]
    gaps = [(round(g["t_s"] * fs), g["lost_samples"]) for g in rec.meta.all("gap")]
    for at, lost in gaps:
        assert 0 <= at and at + lost <= samples and lost > 0, (at, lost, samples)
    assert all(b[0] > a[0] + a[1] for a, b in zip(gaps, gaps[1:], strict=False)), gaps
    assert not rec.meta.warnings, rec.meta.warnings  # no damaged gap annotation
    assert len(theirs.signals) == len(rec.signals)  # edfio leaves the annotations out
    raw = mne.io.read_raw_edf(path, preload=True)
    # MNE leaves out the last record's padding and every gap's fill (BAD_ACQ_SKIP spans;
    # runs close together are joined, so a span may cover some signal, never less than fill)
    n_mne = raw.get_data(reject_by_annotation="omit").shape[1]
    lost = sum(n for _, n in gaps)
    clock = math.ceil(samples / fs) * int(fs)  # whole 1-s records, none added
    for sig in theirs.signals:
        assert sig.sampling_frequency == fs
        assert len(sig.data) == clock, (samples, len(sig.data))
    assert n_mne == samples if not gaps else n_mne <= samples - lost, (samples, lost, n_mne)
    assert raw.n_times == clock
    assert [a.text for a in rec.annotations if _gap_text(a.text)] == \
        [t for t in texts if _gap_text(t)]
    return Kept(samples, sum(lost for _, lost in gaps), texts, gaps)


def no_traceback(run: Run) -> None:
    assert "Traceback" not in run.err and "Exception" not in run.err, run.err[-3000:]


# --- link faults -----------------------------------------------------------------------------

NOISE = {  # (device, garbage, drop, seconds recorded, emulator speed, protocol)
    "noise-light-p2": ("p2", 0.05, 0.01, 90, 6, "a-daily"),  # issue 11: a NaN crash ~85 s in
    "noise-light-ascii": ("ascii", 0.05, 0.01, 40, 4, "b4-wink"),
    # (40 s: b5-lift's calibration alone lasts longer; it runs in the faults below)
    **{f"noise-heavy-{d}": (d, 0.3, 0.2, 40, 4, PROTOCOLS[k % 2])
       for k, d in enumerate(("p2", "cyton", "ascii", "bitalino"))},
    "noise-drop-ascii": ("ascii", 0.05, 0.3, 40, 4, "b4-wink"),  # ~100 gaps a second
}
FS = {"p2": 250.0, "cyton": 250.0, "ascii": 500.0, "bitalino": 1000.0}


def _noise(tmp: Path, name: str) -> Run:
    device, garbage, drop, seconds, speed, protocol = NOISE[name]
    # the patient does the recorded protocol (a session ends with its protocol's last rest,
    # and the 90 s run that once crashed ~85 s in records the longer daily set: a1-strength's
    # 92 s ran out under load before a lagging recorder had read 90 s, flaky rc 3)
    with Emulator(tmp, name, device, "--garbage", str(garbage), "--drop", str(drop),
                  "--seconds", str(seconds + 15), "--speed", str(speed), "--seed", "11",
                  protocol=protocol) as emu:
        run = record(Run(name, device, FS[device], tmp / f"{name}.edf"), emu.port,
                     "--protocol", protocol, "--seconds", str(seconds))
        run.sent = emu.end()
    return run


def _fault(tmp: Path, name: str, device: str, emulate: tuple, seconds: tuple,
           event: str, protocol: str) -> Run:
    """A recording through an emulated ``device`` that has a fault (``emulate``: its
    options), the patient doing ``protocol``; the fault's time from the emulator's
    ``event``."""
    with Emulator(tmp, name, device, *emulate, protocol=protocol) as emu:
        run = record(Run(name, device, 250.0, tmp / f"{name}.edf"), emu.port,
                     "--protocol", protocol, *seconds)
        run.sent = emu.end()
    run.fault_at = run.sent["events"][event]
    return run


def _unplug(tmp: Path, name: str) -> Run:  # pulled after 8 s of signal, never back
    return _fault(tmp, name, "p2", ("--unplug-after", "8", "--speed", "2"),
                  ("--seconds", "60", "--progress"), "unplugged", "b5-lift")


def _replug(tmp: Path, name: str) -> Run:  # pulled after 5 s, back 2 s later (a new pty)
    return _fault(tmp, name, "p2", ("--unplug-after", "5", "--replug-after", "2"),
                  ("--seconds", "12", "--wait-s", "10"),  # it retries every 2 s at most
                  "unplugged", "b4-wink")


def _stall(tmp: Path, name: str) -> Run:  # silent after 6 s of signal, the port still there
    return _fault(tmp, name, "cyton", ("--stall-after", "6", "--speed", "2"),
                  ("--seconds", "60", "--progress"), "stalled", "b5-lift")


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
    seconds = NOISE[name][3]
    no_traceback(run)
    assert run.rc == 0, run.err[-2000:]  # (a hang would leave it None)
    kept = kept_in(run.out, run.fs)
    assert kept.samples == run.summary("recorded") == int(seconds * run.fs)
    assert kept.lost == run.summary("samples lost") == kept.samples - run.summary(
        "samples received")
    # nothing invented: no more samples received than went out on the line
    assert run.summary("samples received") <= run.sent["delivered"]
    assert not marker_path(run.out).exists()
    meta = read_recording(run.out).meta
    # the session was scored to the end, or (a starved recorder loses more blocks on a loaded
    # machine, and a calibration squeeze may have to be repeated) was still calibrating
    assert meta.last("summary") or meta.first_work_cue_s() is None


def kept_at_least(run: Run, sent: int) -> int:
    """What a fault must not lose: the device's samples up to ``KEEP_S`` before it, or, when
    the recorder lagged further behind its device (a starved one on a loaded machine read
    288 samples late once), all that it had said was safe on disk by then. What was still in
    the port's buffer when the cable went is gone with the cable, on any machine."""
    return min(sent - int(KEEP_S * run.fs), run.on_disk_by(run.fault_at))


@pytest.mark.parametrize("name", ["unplug"])
def test_a_cable_pulled_for_good_ends_with_status_3_and_the_file_saved(name, link_runs):
    run = _get(link_runs, name)
    no_traceback(run)
    assert run.rc == 3 and "device lost" in run.err, run.err[-2000:]
    assert run.fault_at < run.when("device lost") < run.fault_at + HANG_S  # after the wait
    kept = kept_in(run.out, run.fs)
    sent = run.sent_by(run.fault_at)
    assert kept_at_least(run, sent) <= kept.samples <= sent
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
    # the time away is measured by the wall clock (a counter that wraps every second cannot
    # tell): from the last byte heard to the reconnection, within a second; one gap, though
    # its fill spans records (each names its part; reading joins them)
    (before, lost), = kept.gaps  # before: kept before the cable was pulled
    assert abs(lost - (b - a)) <= KEEP_S * run.fs
    assert run.sent_by(run.fault_at) - KEEP_S * run.fs <= before <= run.sent_by(run.fault_at)
    assert kept.lost == lost == run.summary("samples lost")


@pytest.mark.parametrize("name", ["device-stops"])
def test_a_device_that_falls_silent_ends_after_the_wait_with_the_file_saved(name, link_runs):
    run = _get(link_runs, name)
    no_traceback(run)
    assert run.rc == 3 and "device lost" in run.err, run.err[-2000:]
    assert run.fault_at < run.when("no data for 3 s") <= run.when("device lost")
    assert run.when("device lost") < run.fault_at + HANG_S
    kept = kept_in(run.out, run.fs)
    sent = run.sent_by(run.fault_at)
    assert kept_at_least(run, sent) <= kept.samples <= sent
    assert any(t.startswith("bbfeedback:lost") for t in kept.texts)


@pytest.mark.parametrize("name", ["silent-port"])
def test_a_port_nobody_sends_on_ends_after_the_wait_and_leaves_nothing(name, link_runs):
    run = _get(link_runs, name)
    no_traceback(run)
    assert run.rc == 3, run.err
    assert run.fault_at is not None and run.ended - run.fault_at < HANG_S
    assert run.err.splitlines()[-1].startswith("bbfeedback: error: ")
    assert not run.out.exists() and not marker_path(run.out).exists()


# --- signals at random moments ---------------------------------------------------------------

SIGNALS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM, "SIGKILL": signal.SIGKILL}
DEVICES = ("p2", "cyton", "ascii", "bitalino")
_rng = random.Random(11)
# (signal, device, seconds after connecting, protocol, fraction of packets dropped)
MOMENTS = {f"{sig}-{k}": (sig, DEVICES[k % len(DEVICES)], round(_rng.uniform(0.3, 6.0), 2),
                          PROTOCOLS[k % len(PROTOCOLS)], 0.0)
           for sig in SIGNALS for k in range(SIGNAL_RUNS)}
# SIGKILL on a link losing ~100 packets a second: after recover every filled sample must be
# annotated, exactly where the device lost it (once 141-1,915 read as signal, 8 runs of 8)
MOMENTS |= {f"SIGKILL-drop-{d}": ("SIGKILL", d, round(_rng.uniform(2.5, 6.0), 2),
                                  PROTOCOLS[k % len(PROTOCOLS)], 0.3)
            for k, d in enumerate(DEVICES)}


def _signalled(tmp: Path, name: str, packets: dict) -> Run:
    from bbfeedback.drivers.devices import make_device
    from bbfeedback.drivers.emulator import PtyEmulator

    sig, device, moment, protocol, drop = MOMENTS[name]
    spec = make_device(device)
    emu = PtyEmulator(spec, packets[device, protocol, drop], wait_for_reader=True).start()
    run = Run(name, device, spec.fs_hz, tmp / f"{name}.edf")

    def strike(proc: subprocess.Popen) -> None:
        time.sleep(moment)
        run.fault_at = time.monotonic()
        proc.send_signal(SIGNALS[sig])

    try:
        record(run, emu.port, "--protocol", protocol, "--seconds", "600", "--progress",
               on_connect=strike, timeout=HANG_S)
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
    for _, device, _, protocol, drop in {MOMENTS[name] for name in chosen}:
        if (device, protocol, drop) not in packets:
            spec = make_device(device)
            values = emulated_values(spec, protocols.load(protocol), seconds=15)
            packets[device, protocol, drop] = make_packets(spec, values, drop=drop, seed=3)
    tmp = tmp_path_factory.mktemp("signals")
    jobs = {name: lambda t, n: _signalled(t, n, packets) for name in chosen}
    return _run_at_once(jobs, tmp, at_most=8)  # a starved recorder would lag behind the device


def _recovered(path: Path) -> Path | None:
    """``bbfeedback recover``: the repaired copy (or the file, repaired in place by an older
    recover); None when no complete data record reached the disk."""
    got = subprocess.run([*BB, "recover", str(path)], capture_output=True, text=True,
                         timeout=HANG_S)
    assert "Traceback" not in got.stderr, got.stderr
    if got.returncode == 2 and "no complete data record" in got.stderr:
        return None
    assert got.returncode == 0, got.stderr
    copy = path.with_name(f"{path.stem}-recovered{path.suffix}")
    return copy if copy.exists() else path


@pytest.mark.parametrize("name", sorted(n for n in MOMENTS if "-drop-" not in n))
def test_a_signal_at_any_moment_keeps_what_was_sent_before_it(name, signal_runs):
    run = _get(signal_runs, name)
    sig = MOMENTS[name][0]
    no_traceback(run)
    assert run.fault_at is not None, "record never said it was connected"
    sent = run.sent_by(run.fault_at)
    if sig != "SIGKILL" and run.rc == 3 and "no data for" in run.err:
        # the device (an emulator thread of this test's process, starved on a loaded machine:
        # run 9) fell silent for the watchdog's wait, so record ended by itself as device
        # lost; a signal while it ends is the stop already under way (it was a kill, rc -15)
        assert "device lost" in run.err and not marker_path(run.out).exists(), run.err[-2000:]
        return
    if sig == "SIGKILL":
        assert run.rc == -signal.SIGKILL
        assert marker_path(run.out).exists()  # in progress: recover makes it readable
        fixed = _recovered(run.out)
        kept = kept_in(fixed, run.fs).samples if fixed else 0
        assert kept >= run.on_disk_by(run.fault_at)  # what was said to be safe is there
        # how far a recorder lags behind its device is speed (a starved one on a loaded
        # machine had no record on disk 1.6 s in): the rest holds on any machine
        allowed = sent if run.on_disk_by(run.fault_at) == 0 else (KEEP_S + IN_FLIGHT_S) * run.fs
    else:
        assert run.rc == 0, run.err[-2000:]  # finalised by itself (a hang: rc None)
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


@pytest.mark.parametrize("name", sorted(n for n in MOMENTS if "-drop-" in n))
def test_sigkill_on_a_lossy_link_leaves_every_filled_sample_annotated(name, signal_runs):
    from bbfeedback.drivers.devices import make_device
    from bbfeedback.drivers.emulator import make_packets

    from bbfeedback.app.emulate import emulated_values
    from bbfeedback.exercise import protocols

    run = _get(signal_runs, name)
    _, device, _, protocol, drop = MOMENTS[name]
    no_traceback(run)
    assert run.rc == -signal.SIGKILL and run.on_disk_by(run.fault_at) > 0, run.err[-2000:]
    fixed = _recovered(run.out)
    assert fixed is not None
    kept = kept_in(fixed, run.fs)  # also: the file is whole records, as long as the clock
    spec = make_device(device)  # the very packets sent (seeded): which ones were dropped
    dropped = make_packets(spec, emulated_values(spec, protocols.load(protocol), seconds=15),
                           drop=drop, seed=3).dropped
    filled = np.zeros(kept.samples, dtype=bool)
    for at, n in kept.gaps:
        filled[at:at + n] = True
    # the clock starts with the first packet the parser accepts (ascii skips a first line
    # that may be cut): align on it; every packet the device dropped is annotated as fill
    truths = [dropped[k:k + kept.samples] for k in range(3)]
    truth = max(truths, key=lambda t: int((t & filled).sum()))
    assert kept.samples >= run.on_disk_by(run.fault_at) and truth.sum() > 50 * kept.samples / run.fs
    if device != "ascii":  # (its lines carry a counter of their own: no packet index here)
        assert not (truth & ~filled).any(), np.flatnonzero(truth & ~filled)[:20]
    # all annotated is fill (the last value held), about as much as the device dropped (what
    # else the recorder lost: a frame broken by the drops); before, a third went unannotated
    rec = read_recording(fixed)
    x = np.column_stack([np.asarray(s.data) for s in rec.signals])
    held = np.r_[False, np.all(x[1:] == x[:-1], axis=1)]
    assert held[filled].all() and abs(int(filled.sum()) - int(truth.sum())) <= 0.02 * kept.samples
