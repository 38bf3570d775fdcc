"""Dutch and English texts of the user interface; the system locale picks the default."""

from __future__ import annotations

import locale
import os

from bbfeedback import texts as words

# the GUI's own words; everything else (labels, columns, flags, postures, summaries) is in
# the core table ``bbfeedback.texts``, which ``tr`` falls back to (no key is in both)
TEXTS = {
    "title": ("bbfeedback - bekkenbodem myofeedback", "bbfeedback - pelvic-floor myofeedback"),
    "port": ("Poort", "Port"),
    "patient_code": ("Patiënt (code)", "Patient (code)"),
    "col_phase": ("Fase", "Phase"),
    "stopped_early": ("sessie gestopt, niet afgemaakt", "session stopped before its end"),
    "history_added": ("Opgeslagen in de geschiedenis van de patiënt.",
                      "Saved in the patient's history."),
    "history_not_added": ("Niet in de geschiedenis opgeslagen", "Not saved in the history"),
    "sound_tone": ("Toon volgt het aanspannen", "Tone follows the squeeze"),
    "sound_cues": ("Geluid bij elke aanwijzing", "Sound at each cue"),
    "volume": ("Volume", "Volume"),
    "show_raw": ("ruw signaal tonen (met basislijn)", "show raw signal (with baseline)"),
    "band_axis": ("gefilterd µV", "band-passed µV"),
    "legend_band": ("doelband", "target band"),
    "legend_thresholds": ("aan/uit-drempel", "on/off threshold"),
    "legend_onset": ("begin aanspanning", "contraction onset"),
    "legend_offset": ("einde aanspanning", "contraction offset"),
    "legend_artefact": ("storing, niet beoordeeld", "artefact, not judged"),
    "rep_of": ("herhaling {k} van {n}", "repetition {k} of {n}"),
    "target_box": ("doel", "target"),
    "col_reps_short": ("Keer", "Times"),
    "col_seconds": ("Tijd (s)", "Time (s)"),
    "col_target_pct": ("Doel (% MVC)", "Target (% MVC)"),
    "calibration_mode": ("Kalibratie", "Calibration"),
    "calib_protocol": ("zoals de oefening (of MVC van eerder dit bezoek)",
                       "as the exercise says (or this visit's MVC)"),
    "calib_max": ("3 keer maximaal knijpen", "3 maximal squeezes"),
    "calib_gentle": ("3 keer rustig knijpen, MVC geschat", "3 gentle squeezes, MVC estimated"),
    "calib_none": ("alleen rust, geen MVC (µV)", "rest only, no MVC (µV)"),
    "calib_previous": ("MVC van de vorige sessie", "MVC of the previous session"),
    "start": ("Start", "Start"),
    "stop": ("Stop", "Stop"),
    "record": ("Opnemen", "Record"),
    "open": ("Opname openen…", "Open recording…"),
    "play": ("Afspelen", "Play"),
    "pause": ("Pauze", "Pause"),
    "speed": ("Snelheid", "Speed"),
    "patient_view": ("Patiëntscherm", "Patient view"),
    "language": ("Taal", "Language"),
    "not_calibrated": ("nog niet gekalibreerd", "not calibrated yet"),
    "connected": ("verbonden", "connected"),
    "connecting": ("verbinden…", "connecting…"),
    "reconnecting": ("verbinding kwijt, opnieuw verbinden…", "connection lost, reconnecting…"),
    "lost": ("verloren", "lost"),
    "samples": ("metingen", "samples"),
    "idle": ("klaar om te starten", "ready to start"),
    "finished": ("sessie klaar", "session finished"),
    "replaying": ("terugkijken", "replay"),  # not "herhaling": that is a repetition
    "done": ("Klaar! Nu helemaal ontspannen.", "Done! Now relax completely."),
    "recording_to": ("opname naar", "recording to"),
    "saved_to": ("opgeslagen in", "saved in"),
    "anonymous": ("Zonder patiëntcode: anoniem opgenomen, niet in een geschiedenis.",
                  "No patient code: recorded anonymously, not in a history."),
    "replay_of": ("Opname {f}: patiënt {p}, {d}, {o}, houding {h}",
                  "Recording {f}: patient {p}, {d}, {o}, posture {h}"),
    "scores_same": ("opnieuw gescoord: gelijk aan de opname", "re-scored: same as recorded"),
    "scores_differ": ("opnieuw gescoord: anders dan de opname (zie de tabel)",
                      "re-scored: differs from the recording (see the table)"),
    "rescored": ("opnieuw gescoord", "re-scored"),
    "as_recorded": ("zoals opgenomen", "as recorded"),
    "history_not_scored": ("Niet in de geschiedenis opgeslagen: gestopt voordat er een "
                           "herhaling was (tijdens de kalibratie)",
                           "Not added to the history: stopped before any repetition (during "
                           "the calibration)"),
    "history_copy": ("Niet in de geschiedenis opgeslagen: dezelfde meting staat er al in "
                     "(als {f})", "Not added to the history: the same measurement is there "
                     "already (as {f})"),
    "cannot_start": ("Kan niet starten", "Cannot start"),
    "cannot_open": ("Kan de opname niet openen", "Cannot open the recording"),
    "no_sound": ("Geen geluid op deze computer", "No sound on this computer"),
    "recover": ("Onafgemaakte opname herstellen", "Recover unfinished recording"),
    "time_axis": ("s (0 = nu)", "s (0 = now)"),
    # the patient view: no units, no axes; what to do and how it went, in plain words
    "wait_start": ("Wacht op de start", "Wait for the start"),
    "replay_speed": ("Snelheid van het terugkijken", "Replay speed"),
    "now_mark": ("nu", "now"),
    "praise": ("Herhaling {n}: goed zo!", "Repetition {n}: well done!"),
    "try_again": ("Herhaling {n}: probeer het nog eens", "Repetition {n}: try it once more"),
    "patient_title": ("Patiëntscherm", "Patient view"),
    "raw_axis": ("ruw µV", "raw µV"),
}
POSTURES = ("lying", "sitting", "standing")  # a session's postures (words: texts.POSTURES)


def system_language() -> str:
    """'nl' when the system locale is Dutch, else 'en'."""
    for key in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(key)
        if value:
            return "nl" if value.lower().startswith("nl") else "en"
    code = (locale.getlocale()[0] or "").lower()
    return "nl" if code.startswith("nl") else "en"


def tr(key: str, lang: str) -> str:
    """A word of the GUI, else of the core table (``bbfeedback.texts``)."""
    return words.pick(TEXTS[key], lang) if key in TEXTS else words.text(key, lang)


def posture(key: str, lang: str) -> str:
    return words.posture(key, lang)
