"""The calibration a session begins with, as planned steps (the rest, the squeezes, the
optional fourth): what ``protocols show`` lists and the session engine runs. Kept apart from
``calibrator`` (which measures with numpy) so that showing a protocol imports no numerics."""

from __future__ import annotations

from bbfeedback.exercise.protocols import (
    BASELINE,
    CALIBRATION_MODES,
    CUES,
    REST,
    WORK,
    Phase,
    Step,
)

CALIBRATION = "calibration"  # the scoring kind of the calibration steps
REST_SECTION, MVC_SECTION = "calibration-rest", "calibration-mvc"
MORE_SECTION = "calibration-mvc-more"  # the one more squeeze (and its rest): optional steps
CALIBRATION_REST_S = 10.0
CALIBRATION_SQUEEZES = 3
SQUEEZE_S, SQUEEZE_REST_S = 3.0, 5.0
# "previous": the MVC of the patient's last session; "visit": the MVC measured earlier in this
# visit (``app/visit.py``): both rest only
MODES = (*CALIBRATION_MODES, "previous", "visit")
# the session's posture (``record --posture``) or a protocol section's (b1 sits) -> its words
SEATED = ("sitting", "upright", "rounded back", "hollow back")


def rest_cue(posture: str | None) -> str:
    """The calibration rest's cue name for a posture: lying, sitting, standing or neutral."""
    if posture in SEATED:
        return "baseline_sitting"
    if posture in ("lying", "standing"):
        return f"baseline_{posture}"
    return "baseline"


def calibration_steps(mode: str = "max", posture: str | None = None) -> list[Step]:
    """The rest for the baseline, then (``max``) three maximal or (``gentle``) three
    comfortable squeezes, each with its rest, and one more of them (``MORE_SECTION``: only
    when the three disagree); ``none`` and ``previous``: the rest only (not scored)."""
    if mode not in MODES:
        raise ValueError(f"calibration must be one of {', '.join(MODES)} (got {mode!r})")
    rest = rest_cue(posture)
    steps = [Step(0, 0.0, Phase(BASELINE, rest, *_words(rest), CALIBRATION_REST_S),
                  REST_SECTION, CALIBRATION, None)]
    if mode not in ("max", "gentle"):
        return steps
    cue, pct = ("squeeze_max", 100.0) if mode == "max" else ("squeeze_gentle", 50.0)
    for k in range(CALIBRATION_SQUEEZES + 1):
        more = k == CALIBRATION_SQUEEZES
        said = f"{cue}_again" if more else cue
        section = MORE_SECTION if more else MVC_SECTION
        steps.append(Step(0, 0.0, Phase(WORK, said, *_words(said), SQUEEZE_S, SQUEEZE_S,
                                        0.0, pct, (0.6 * pct, 3 * pct)),
                          section, CALIBRATION, None))
        steps.append(Step(0, 0.0, Phase(REST, "relax", *_words("relax"), SQUEEZE_REST_S),
                          section, CALIBRATION, None))
    return steps


def _words(cue: str) -> tuple[str, str]:
    return CUES[cue]["nl"], CUES[cue]["en"]
