"""Dutch and English texts of the user interface; the system locale picks the default."""

from __future__ import annotations

import locale
import os

TEXTS = {
    "title": ("bbfeedback - bekkenbodem myofeedback", "bbfeedback - pelvic-floor myofeedback"),
    "device": ("Apparaat", "Device"),
    "port": ("Poort", "Port"),
    "protocol": ("Oefening", "Exercise"),
    "patient": ("Patiënt (code)", "Patient (code)"),
    "posture": ("Houding", "Posture"),
    "hold": ("Vasthouden (s)", "Hold (s)"),
    "rest": ("Rust (s)", "Rest (s)"),
    "reps": ("Herhalingen", "Repetitions"),
    "target": ("Doel (% MVC)", "Target (% MVC)"),
    "start": ("Start", "Start"),
    "stop": ("Stop", "Stop"),
    "record": ("Opnemen", "Record"),
    "open": ("Opname openen…", "Open recording…"),
    "play": ("Afspelen", "Play"),
    "pause": ("Pauze", "Pause"),
    "speed": ("Snelheid", "Speed"),
    "patient_view": ("Patiëntscherm", "Patient view"),
    "language": ("Taal", "Language"),
    "calibration": ("Kalibratie", "Calibration"),
    "rest_level": ("rust", "rest"),
    "mvc": ("MVC", "MVC"),
    "not_calibrated": ("nog niet gekalibreerd", "not calibrated yet"),
    "connected": ("verbonden", "connected"),
    "reconnecting": ("verbinding kwijt, opnieuw verbinden…", "connection lost, reconnecting…"),
    "lost": ("verloren", "lost"),
    "samples": ("samples", "samples"),
    "idle": ("klaar om te starten", "ready to start"),
    "finished": ("sessie klaar", "session finished"),
    "replaying": ("herhaling", "replay"),
    "summary": ("Samenvatting", "Summary"),
    "rep": ("Herh.", "Rep"),
    "hold_col": ("Vast (s)", "Held (s)"),
    "met": ("Gehaald", "Met"),
    "peak": ("Piek %", "Peak %"),
    "rise": ("Op (s)", "Rise (s)"),
    "release": ("Los (s)", "Release (s)"),
    "rest_col": ("Rust %", "Rest %"),
    "flags": ("Opmerkingen", "Flags"),
    "yes": ("ja", "yes"),
    "no": ("nee", "no"),
    "floor": ("Verdieping", "Floor"),
    "recording_to": ("opname naar", "recording to"),
    "rescored": ("opnieuw gescoord", "re-scored"),
    "as_recorded": ("zoals opgenomen", "as recorded"),
    "recover": ("Onafgemaakte opname herstellen", "Recover unfinished recording"),
}
POSTURES = {"lying": ("liggend", "lying"), "sitting": ("zittend", "sitting"),
            "standing": ("staand", "standing")}


def system_language() -> str:
    """'nl' when the system locale is Dutch, else 'en'."""
    for key in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(key)
        if value:
            return "nl" if value.lower().startswith("nl") else "en"
    code = (locale.getlocale()[0] or "").lower()
    return "nl" if code.startswith("nl") else "en"


def tr(key: str, lang: str) -> str:
    nl, en = TEXTS[key]
    return nl if lang == "nl" else en
