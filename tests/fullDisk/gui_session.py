"""Test only: a live session in the therapist window (offscreen) recording into a folder whose
disk fills up (``sitecustomize.py`` beside this file); prints what the window shows as JSON.

Usage: ``python gui_session.py OUT_DIR [LANG]`` with this folder on ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from bbfeedback.gui.therapist import TherapistWindow  # noqa: E402
from PySide6 import QtWidgets  # noqa: E402


def main(out_dir: str, lang: str = "en") -> int:
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    win = TherapistWindow("sim", None, "a1-strength", lang, out_dir, speed=20.0)
    win.show()
    path = win.start()
    deadline = time.monotonic() + 240.0  # a bound, not a speed: the session ends well before
    while time.monotonic() < deadline and win.controller.frame().status != "finished":
        app.processEvents()
        time.sleep(0.02)
    thread = win.controller._thread  # the session thread must end, not die
    if thread is not None:
        thread.join(30.0)
    app.processEvents()
    win.redraw()
    shown = {"path": path, "status": win.status.text(), "summary": win.summary.text(),
             "cue": win.cue.text(), "finished": win.controller.frame().status == "finished",
             "running": win.controller.frame().running,
             "thread_alive": thread is not None and thread.is_alive(),
             "visible": win.isVisible(), "start_button": win.start_button.text()}
    win.close()
    print(json.dumps(shown))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
