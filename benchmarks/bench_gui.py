"""GUI benchmark: redraw rate and cost at 2 kHz x 2 channels with a 30 s window, and memory
over a 1-hour session (offscreen).

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_gui.py [--seconds 20] [--hour-speed 60]
        [--patient-view]

(a) Real time: the simulated sensor at 2 kHz streams into the therapist window (recording on)
    for --seconds; frames per second actually drawn, and the share of one core spent in the
    redraw slot (time.thread_time of the GUI thread) and by the whole process.
(b) One hour: the same at --hour-speed x real time for 60 simulated minutes; resident memory
    after 5 minutes and at the end (flat = bounded buffers). The allocator is set as
    `bbfeedback gui` sets it (``steady_allocator``).
(c) Idle: after a session ends (a replay of sample_data/a1_strength_emg.edf at 60x), the
    share of one core the window takes over --idle-seconds, its timer running as usual.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from bbfeedback.gui import controller as ctl  # noqa: E402
from bbfeedback.gui.therapist import TherapistWindow  # noqa: E402
from PySide6 import QtCore, QtWidgets  # noqa: E402

from bbfeedback.app.allocator import steady_allocator  # noqa: E402
from bbfeedback.exercise import protocols  # noqa: E402

FS = 2000.0


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def long_protocol(folder: str, minutes: float) -> protocols.Protocol:
    text = (protocols.HERE / "a1-strength.toml").read_text()
    path = os.path.join(folder, "a1-long.toml")
    with open(path, "w") as fh:
        fh.write(text.replace("repetitions = 5", f"repetitions = {int(minutes * 6)}"))
    return protocols.load(path)


def run(app, folder: str, minutes: float, speed: float, seconds: float,
        patient_view: bool = False) -> dict:
    win = TherapistWindow("sim", None, "a1-strength", "en", folder, speed)
    win.show()
    if patient_view:  # the patient's screen open too (drawn on the same timer)
        win.patient_view.show()
    proto = long_protocol(folder, minutes)
    win.chosen_protocol = lambda: proto
    original = ctl.open_source

    def at_2khz(device, port, protocol, rate, seed, speed, **kw):
        return original(device, port, protocol, FS, seed, speed, **kw)

    ctl.open_source = at_2khz
    spent = 0.0
    redraw = win.redraw

    def timed():
        nonlocal spent
        t0 = time.thread_time()
        redraw()
        spent += time.thread_time() - t0

    win.timer.timeout.disconnect()
    win.timer.timeout.connect(timed)
    win.start()
    ctl.open_source = original
    t0, c0, f0 = time.monotonic(), time.process_time(), win.frames
    memory = []
    while time.monotonic() - t0 < seconds and win.controller.frame().status != "finished":
        app.processEvents()
        time.sleep(0.005)
        sim_min = win.controller.frame().t_s / 60
        if not memory or sim_min - memory[-1][0] >= 5:
            memory.append((sim_min, rss_mb()))
    wall = time.monotonic() - t0
    out = {"fps": (win.frames - f0) / wall, "redraw_core": spent / wall,
           "process_core": (time.process_time() - c0) / wall, "memory": memory,
           "t_s": win.controller.frame().t_s}
    win.timer.timeout.disconnect()  # the timing closure holds the window: let it go
    win.close()
    return out


def idle(app, folder: str, seconds: float) -> float:
    """The process's share of one core with a finished session on screen."""
    win = TherapistWindow("sim", None, "a1-strength", "en", folder, 60.0)
    win.show()
    here = os.path.dirname(os.path.abspath(__file__))
    win.open_recording(os.path.join(here, "..", "sample_data", "a1_strength_emg.edf"), 60.0)
    while win.controller.frame().status != "finished":
        app.processEvents()
        time.sleep(0.005)
    loop = QtCore.QEventLoop()  # as the program waits: in Qt's event loop, not polling
    QtCore.QTimer.singleShot(int(1000 * seconds), loop.quit)
    t0, c0 = time.monotonic(), time.process_time()
    loop.exec()
    share = (time.process_time() - c0) / (time.monotonic() - t0)
    win.close()
    return share


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--hour-speed", type=float, default=60.0)
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument("--patient-view", action="store_true",
                        help="open the patient's view as well")
    args = parser.parse_args()
    steady_allocator()
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["bench"])
    with tempfile.TemporaryDirectory() as folder:
        print(f"(c) idle after a session, {args.idle_seconds:g} s: "
              f"{100 * idle(app, folder, args.idle_seconds):.1f} % of one core")
        live = run(app, folder, 2, 1.0, args.seconds, args.patient_view)
        print(f"(a) 2 kHz x 2 ch, 30 s window, real time, {args.seconds:g} s: "
              f"{live['fps']:.1f} fps drawn; redraw {100 * live['redraw_core']:.1f} % of one "
              f"core; whole process (acquisition, session, recording, GUI) "
              f"{100 * live['process_core']:.1f} %")
        hour = run(app, folder, 61, args.hour_speed, 3600 / args.hour_speed + 30,
                   args.patient_view)
        mem = hour["memory"]
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        after5 = next((m for t, m in mem if t >= 5), mem[0][1])
        print(f"(b) 1 h session at {args.hour_speed:g}x ({hour['t_s'] / 60:.0f} min simulated): "
              f"resident memory {after5:.0f} MB after 5 min, {mem[-1][1]:.0f} MB at the end "
              f"({mem[-1][1] - after5:+.0f} MB); peak {peak:.0f} MB")


if __name__ == "__main__":
    main()
