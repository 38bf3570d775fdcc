"""What the therapist's window says about a frame, decided without Qt.

The widgets only put these strings on screen. Whether a session was cut short, whether a
replay scores as it was recorded, what the history's answer means: these are the session's
facts, not drawing, so they live here, where a test reads them without opening a window.
Every word comes from the one catalogue (``bbfeedback.texts``, through ``gui.i18n.tr``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bbfeedback.gui.i18n import tr

from bbfeedback import texts as words
from bbfeedback.exercise import protocols
from bbfeedback.exercise.scores import RepScore
from bbfeedback.exercise.shown import shown
from bbfeedback.exercise.summary import ASSESSMENTS

if TYPE_CHECKING:  # only named: a test hands in any object with the fields read
    from bbfeedback.app.frames import Frame
    from bbfeedback.app.record import HistorySink
    from bbfeedback.recording import Recording

STATUS_KEYS = {"connected": "connected", "reconnecting": "reconnecting", "idle": "idle",
               "replay": "replaying", "connecting": "connecting"}  # frame status: its word


# --- the session's facts -------------------------------------------------------------------
def ended_early(snap: Frame, replaying: bool) -> bool:
    """A finished session that ended before its end: stopped early (live or as recorded), or
    a live one with no result at all (stopped in its calibration, a device that never
    connected). A replay without a summary is a file's, not a cut: it is not said early."""
    if snap.status != "finished":
        return False
    if snap.summary is None:
        return not replaying
    return bool(snap.summary.get("incomplete"))


def scores_as_recorded(reps: Sequence[RepScore], recorded: Sequence[RepScore]) -> bool:
    """A replay re-scores the file: the same repetitions, met, held and flagged as the
    scores the file carries (a changed detector shows here first)."""
    def key(r: RepScore) -> tuple:
        return r.index, r.met, r.hold_s, r.flags

    return [key(r) for r in reps] == [key(r) for r in recorded]


def is_assessment(protocol: protocols.Protocol | None) -> bool:
    """An assessment measures, it does not train: its rows never say "too short"."""
    return protocol is not None and protocol.scoring in ASSESSMENTS


def total_reps(protocol: protocols.Protocol | None) -> int:
    """The repetitions a session of ``protocol`` has (0: none, or no protocol)."""
    if protocol is None:
        return 0
    return max(((step.rep or 0) for step in protocol.timeline()), default=0)


def last_rep(snap: Frame, previous: int | None) -> int | None:
    """The repetition the patient is in: a cue's, kept through the rest after it."""
    if snap.cue is not None and snap.cue.rep and not snap.cue.calibration:
        return snap.cue.rep
    return previous


# --- lines of the window -------------------------------------------------------------------
def rep_text(rep: int | None, total: int, finished: bool, lang: str) -> str:
    """"herhaling 3 van 5" while a session runs ("" before the first and after the end)."""
    if rep is None or not total or finished:
        return ""
    return words.format_text(tr("rep_of", lang), lang, k=rep, n=total)


def cue_text(snap: Frame, early: bool, lang: str) -> str | None:
    """The cue in the head; None: the one shown stays (between cues)."""
    if snap.status == "finished":
        return tr("stopped_early" if early else "finished", lang).capitalize()
    if snap.cue is not None:
        return snap.cue.cue_nl if lang == "nl" else snap.cue.cue_en
    return None


def countdown_text(snap: Frame) -> str:
    """Whole seconds left of the cue, "1 s" to its end; "" when nothing counts down."""
    if snap.cue_end_s is None or not snap.running:
        return ""
    left = snap.cue_end_s - snap.t_s
    return f"{math.ceil(max(0.0, left) - 1e-9)} s"


def calibration_text(snap: Frame, lang: str) -> str:
    """Each channel's rest and MVC; the scored channel says where its MVC comes from."""
    if not snap.calibration:
        return f"{tr('calibration', lang)}: {tr('not_calibrated', lang)}"
    lines = [f"{tr('calibration', lang)}:"]
    for k, (name, cal) in enumerate(snap.calibration.items()):
        line = words.text("calibration_of", lang, channel=words.channel(name, lang),
                          mean=cal.baseline_mean, sd=cal.baseline_sd,
                          unit=words.unit(cal.unit), mvc=cal.mvc)
        if k == snap.main:
            line += f" ({words.lookup(words.CALIBRATION_SOURCES, cal.source, lang)})"
        lines.append(line)
    return "\n".join(lines)


def status_text(snap: Frame, lang: str, early: bool, problem: str = "",
                notice: str = "") -> str:
    """The status bar: the state, samples lost, the time, a connection problem and a
    notice kept until the next action."""
    if snap.status == "finished":
        state = tr("stopped_early" if early else "finished", lang)
    elif snap.status in STATUS_KEYS:
        state = tr(STATUS_KEYS[snap.status], lang)
    else:
        state = snap.status
    lost = f" - {tr('lost', lang)} {snap.lost_samples} {tr('samples', lang)}" \
        if snap.lost_samples else ""
    problem = f" - {problem}" if problem else ""
    notice = f" - {notice}" if notice else ""
    return f"{state}{lost} - t = {words.fmt(snap.t_s, lang, '.1f')} s{problem}{notice}"


def comparison_text(snap: Frame, lang: str) -> str:
    """After a replay of a file with scores: whether it scores as it was recorded."""
    if snap.status != "finished" or not snap.recorded_reps:
        return ""
    same = scores_as_recorded(snap.reps, snap.recorded_reps)
    return tr("scores_same" if same else "scores_differ", lang)


def history_text(lang: str, *, recording: Path | str | None, finished: bool, failure: str,
                 failure_text: str, anonymous: bool, history: HistorySink | None,
                 scored: bool) -> str:
    """Where the session is recorded (or was saved), and whether it reached the patient's
    history, and if not, why. ``history``: the HistorySink (None: no patient code, or no
    recording); ``failure``: why the disk refused the recording ("" when it did not)."""
    lines = []
    if recording is not None and not failure:
        lines.append(f"{tr('saved_to' if finished else 'recording_to', lang)} {recording}")
        if anonymous:  # said, not asked: a session is never held up by a dialog
            lines.append(tr("anonymous", lang))
    if failure and finished:
        lines.append(failure_text)
    if history is not None and history.added is None and finished and not scored \
            and not failure:
        lines.append(tr("history_not_scored", lang))
    if history is not None and history.added is not None:
        lines.append(history_answer(history, lang))
    return "\n".join(lines)


def history_answer(history: HistorySink, lang: str) -> str:
    """The history's answer once the session is finished: added, a copy, or why not."""
    if history.added:
        return tr("history_added", lang)
    if history.copy_of:  # the simulated sensor plays the same session each time
        return words.format_text(tr("history_copy", lang), lang, f=Path(history.copy_of).name)
    return f"{tr('history_not_added', lang)}: {history.problem}"


def summary_text(snap: Frame, lang: str, replay_line: str, history: str) -> str:
    """Under the table: the replayed file, the comparison with its scores, the summary, what
    the patient is told (u-form, no units, one thing next time) and the history line."""
    lines = [replay_line, comparison_text(snap, lang)]
    if snap.summary:
        lines.append(snap.summary["text_nl" if lang == "nl" else "text_en"])
        patient = snap.summary.get("patient_text_nl" if lang == "nl" else "patient_text_en")
        if patient:
            lines.append(f"{tr('for_patient', lang)}: {patient}")
    lines.append(history)
    return "\n".join(x for x in lines if x)


def replay_text(rec: Recording, file_name: str, lang: str) -> str:
    """The replayed file's own patient, device, protocol and posture (not the form's)."""
    device = rec.meta.last("device") or {}
    pid = rec.meta.settings.get("protocol")
    name = protocols.load(pid).name[lang] if pid in protocols.builtin_ids() else pid
    return words.format_text(
        tr("replay_of", lang), lang, f=file_name,
        p=(rec.header.get("patientCode") or "-").strip() or "-",
        d=device.get("name") or "-", o=name or "-",
        h=words.posture(device.get("posture"), lang))


def file_patient_code(rec: Recording) -> str:
    """The patient code a file was recorded with ("": without one, recorded as X)."""
    code = (rec.header.get("patientCode") or "").strip()
    return "" if code == "X" else code


def protocol_name(pid: str, lang: str) -> str:
    """A bundled protocol as the form lists it: its name in this language, and its id."""
    return f"{protocols.load(pid).name[lang]} ({pid})"


def score_row(rep: RepScore, summary: Mapping | None, measured: bool,
              lang: str) -> tuple[tuple[str, ...], str]:
    """A repetition's cells in the table (``measured``: an assessment's row) and, for its
    flags, why each was raised."""
    r = shown(rep, summary, measured)
    cells = (str(r.index), words.held_cells(r, lang, ".1f")[0], words.met_text(r, lang),
             words.fmt(r.peak_pct_mvc, lang, ".0f"), words.time_cell(r.rise_s, lang),
             words.time_cell(r.release_s, lang), words.fmt(r.rest_residual_pct, lang, ".0f"),
             words.flag_names(r.flags, lang))
    why = "\n".join(f"{words.flag_name(f, lang)}: {words.flag_why(f, lang)}"
                    for f in r.flags)
    return cells, why
