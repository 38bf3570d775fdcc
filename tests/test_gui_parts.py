"""The therapist window's decisions, without a window (issue 24): what ``gui/session_text``
makes of a frame. Each is what the window used to decide inside its drawing code."""

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace as NS

import pytest
from bbfeedback.gui import session_text as said
from bbfeedback.gui.i18n import tr

from bbfeedback import texts as words
from bbfeedback.exercise import protocols
from bbfeedback.exercise.scores import RepScore

REC = Path("/sessions/P-1-a1-strength-20260101-120000.edf")


def frame(**k) -> NS:
    """A frame as the window reads it (only what these functions look at)."""
    base = dict(status="connected", summary=None, reps=(), recorded_reps=(), cue=None,
                cue_end_s=None, t_s=0.0, running=True, lost_samples=0, calibration={},
                main=0)
    return NS(**{**base, **k})


def rep(index: int, met: bool = True, **k) -> RepScore:
    return RepScore.from_dict({"index": index, "met": met, "hold_s": 5.0, "flags": [],
                               "peak_pct_mvc": 80.0, **k})


def history(added=None, copy_of=None, problem="") -> NS:
    return NS(added=added, copy_of=copy_of, problem=problem)


def saved(lang="en", **k) -> str:
    base = dict(recording=REC, finished=True, failure="", failure_text="", anonymous=False,
                history=None, scored=True)
    return said.history_text(lang, **{**base, **k})


def test_the_decisions_import_no_qt():
    """The point of the module: read (and tested) without Qt."""
    code = ("import sys, bbfeedback.gui.session_text;"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("snap, replaying, early", [
    (frame(status="finished"), False, True),  # a live session with no result: stopped early
    (frame(status="finished"), True, False),  # a file without a summary is not a cut
    (frame(status="finished", summary={"incomplete": True}), True, True),
    (frame(status="finished", summary={"incomplete": False}), False, False),
    (frame(status="connected", summary=None), False, False),  # still running: not ended
])
def test_a_session_is_said_cut_short_only_when_it_ended_before_its_end(snap, replaying, early):
    assert said.ended_early(snap, replaying) is early


def test_re_scored_repetitions_equal_the_recorded_ones_by_what_the_therapist_reads():
    recorded = [rep(1), rep(2, flags=["late_onset"])]
    assert said.scores_as_recorded([rep(1), rep(2, flags=["late_onset"])], recorded)
    assert said.scores_as_recorded([rep(1, peak_pct_mvc=81.0), recorded[1]], recorded)
    assert not said.scores_as_recorded([rep(1, met=False), recorded[1]], recorded)
    assert not said.scores_as_recorded([rep(1)], recorded)  # one missing
    snap = frame(status="finished", reps=(rep(1),), recorded_reps=(rep(1, met=False),))
    assert said.comparison_text(snap, "nl") == tr("scores_differ", "nl")
    assert said.comparison_text(frame(status="finished", reps=(rep(1),)), "nl") == ""


def test_the_history_line_follows_the_history_sinks_answer():
    assert saved(history=history(added=True)).endswith(tr("history_added", "en"))
    copy = saved(history=history(added=False, copy_of="/db/P-1-earlier.edf"))
    assert "P-1-earlier.edf" in copy and "/db/" not in copy
    assert saved(history=history(added=False, problem="disk full")).endswith(": disk full")
    waiting = saved(history=history(added=None), scored=False)  # stopped before any result
    assert waiting.endswith(tr("history_not_scored", "en"))
    assert tr("history_not_scored", "en") not in saved(history=history(added=None))


def test_where_the_file_goes_while_recording_after_and_when_the_disk_refused():
    running = saved(finished=False, anonymous=True)
    assert running.splitlines() == [f"{tr('recording_to', 'en')} {REC}", tr("anonymous", "en")]
    assert saved("nl").splitlines() == [f"{tr('saved_to', 'nl')} {REC}"]
    full = saved(failure="disk full", failure_text="De schijf is vol", lang="nl")
    assert full == "De schijf is vol"  # not "saved to": what is kept is the failure's to say
    assert saved(recording=None) == ""


def test_the_countdown_counts_whole_seconds_to_one():
    assert said.countdown_text(frame(t_s=10.0, cue_end_s=11.2)) == "2 s"
    assert said.countdown_text(frame(t_s=10.0, cue_end_s=11.0)) == "1 s"
    assert said.countdown_text(frame(t_s=12.0, cue_end_s=11.0)) == "0 s"
    assert said.countdown_text(frame(t_s=10.0, cue_end_s=11.0, running=False)) == ""


def test_the_repetition_is_kept_through_the_rest_and_gone_at_the_end():
    cue = NS(rep=3, calibration=False)
    assert said.last_rep(frame(cue=cue), 2) == 3
    assert said.last_rep(frame(cue=NS(rep=None, calibration=False)), 3) == 3  # the rest
    assert said.last_rep(frame(cue=NS(rep=1, calibration=True)), None) is None
    assert said.rep_text(3, 5, False, "nl") == "herhaling 3 van 5"
    assert said.rep_text(3, 5, True, "nl") == ""
    assert said.total_reps(protocols.load("a1-strength")) == 5
    assert said.total_reps(None) == 0


def test_the_status_line_says_stopped_early_and_lost_samples():
    snap = frame(status="finished", running=False, t_s=12.34, lost_samples=7)
    line = said.status_text(snap, "nl", True, problem="", notice="kan niet starten")
    assert line.startswith(tr("stopped_early", "nl"))
    assert "7" in line and "t = 12,3 s" in line and line.endswith(" - kan niet starten")
    assert said.status_text(frame(status="replay"), "nl", False).startswith("terugkijken")


def test_an_assessments_rows_never_say_too_short():
    assert said.is_assessment(protocols.load("perfect"))
    assert not said.is_assessment(protocols.load("a1-strength"))
    assert not said.is_assessment(None)
    r = rep(1, flags=["late_onset"], hold_s=2.0, target_hold_s=5.0, rise_s=None,
            release_s=0.4, rest_residual_pct=3.0)
    cells, why = said.score_row(r, None, False, "nl")
    assert cells[0] == "1" and cells[1] == "2,0" and cells[5] == "0,40"
    assert why == f"{words.flag_name('late_onset', 'nl')}: {words.flag_why('late_onset', 'nl')}"
