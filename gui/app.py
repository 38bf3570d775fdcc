"""``bbfeedback gui``: the therapist window (and the patient view) as a desktop program."""

from __future__ import annotations

import os
import sys

from bbfeedback.errors import InputError


def has_display() -> bool:
    if os.environ.get("QT_QPA_PLATFORM", "").startswith(("offscreen", "minimal", "vnc")):
        return True
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


XCB_LIBRARIES = {"xcb-cursor": "libxcb-cursor0", "xcb-icccm": "libxcb-icccm4",
                 "xcb-keysyms": "libxcb-keysyms1", "xkbcommon-x11": "libxkbcommon-x11-0"}


def missing_xcb_libraries() -> list[str]:
    """Debian packages Qt's X11 plugin needs that are not installed (Qt would abort)."""
    import ctypes.util

    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM") \
            or not os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return []
    return [pkg for lib, pkg in XCB_LIBRARIES.items() if ctypes.util.find_library(lib) is None]


def run(device: str = "sim", port: str | None = None, protocol: str = "a1-strength",
        lang: str | None = None, out_dir: str | None = None, speed: float = 1.0,
        replay: str | None = None, quit_after_s: float | None = None,
        screenshot: str | None = None, start: bool = False, patient: str | None = None,
        lsl: bool = False, mains: str = "50", posture: str | None = None,
        seed: int | None = None) -> int:
    """The window; ``start``: begin the session at once (device and protocol were given
    on the command line), else it waits for Start. ``lsl``: live sessions are published as
    Lab Streaming Layer streams too."""
    if not has_display():
        raise InputError("no display found: run it on a desktop, or without a screen with "
                         "QT_QPA_PLATFORM=offscreen bbfeedback gui ...")
    missing = missing_xcb_libraries()
    if missing:
        raise InputError("Qt needs system libraries to open a window on X11: "
                         f"sudo apt-get install {' '.join(missing)}")
    from bbfeedback.gui.therapist import TherapistWindow
    from PySide6 import QtCore, QtWidgets

    from bbfeedback.app.allocator import steady_allocator
    from bbfeedback.exercise import protocols

    protocols.load(protocol)  # a wrong id is a one-line error before any window opens
    steady_allocator()  # flat memory over an hour's window (benchmarks/bench_gui.py)
    QtCore.qInstallMessageHandler(_quiet_offscreen)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["bbfeedback"])
    win = TherapistWindow(device, port, protocol, lang, out_dir, speed, seed)
    win.controller.lsl = lsl
    win.mains = mains  # the hum notched live ("50", "60", "off")
    if patient:
        win.patient.setText(patient)
    if posture:  # as record --posture: the posture the session is recorded with
        win.posture.setCurrentIndex(win.posture.findData(posture))
    win.show()
    if replay:
        win.open_recording(replay)
    elif start:
        QtCore.QTimer.singleShot(0, win.toggle)
    if quit_after_s is not None:
        def finish() -> None:
            if screenshot:
                win.grab().save(screenshot)
            win.close()
            app.quit()
        QtCore.QTimer.singleShot(int(quit_after_s * 1000), finish)
    _close_on_signals(app, win)
    return app.exec()


def _close_on_signals(app, win) -> None:
    """Ctrl-C, or SIGTERM (a desktop logging out, ``kill``), closes the window as its close
    button does: the session stops and the recording is saved, not left to ``recover``.
    Python runs signal handlers only between Qt's events: a quiet timer gives it the turns."""
    import signal

    from PySide6 import QtCore

    def close(signum, frame) -> None:
        win.close()
        app.quit()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, close)
    tick = QtCore.QTimer(app)
    tick.timeout.connect(lambda: None)
    tick.start(200)


def _quiet_offscreen(mode, context, message: str) -> None:
    """Qt's messages on stderr, but not the offscreen plugin's harmless "does not support
    propagateSizeHints()", printed at every redraw without a screen."""
    if "propagateSizeHints" not in message:
        print(message, file=sys.stderr)
