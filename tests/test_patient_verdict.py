"""The patient's word on each repetition (the patient view's "goed zo"): a repetition held
to target but not let go afterwards, or done by straining, is not praised (walkthrough:
"Herhaling 3: goed zo!" beside a trace stuck at 10 µV, flagged "onvolledig ontspannen")."""

import pytest

from bbfeedback import texts
from bbfeedback.exercise.scores import Flag, RepScore
from bbfeedback.exercise.shown import patient_verdict


def rep(met: bool, *flags: Flag) -> RepScore:
    return RepScore.from_dict({"index": 3, "met": met, "flags": [f.value for f in flags]})


@pytest.mark.parametrize("met,flags,said", [
    (True, (), "praise"),
    (True, (Flag.LATE_ONSET,), "praise"),  # held to target after a slow start: well done
    (False, (Flag.SHORT_HOLD,), "try_again"),
    (False, (Flag.NO_CONTRACTION,), "try_again"),
    (True, (Flag.INCOMPLETE_RELAXATION,), "let_go"),
    (True, (Flag.TENSE_REST,), "let_go"),
    (False, (Flag.SHORT_HOLD, Flag.TENSE_REST), "let_go"),  # letting go: the one thing said
    (True, (Flag.STRAINING,), "try_again"),
    (True, (Flag.POSSIBLE_STRAINING,), "try_again"),
    (True, (Flag.CO_CONTRACTION,), "try_again"),
    (True, (Flag.TOO_STRONG,), "try_again"),
    (True, (Flag.STOPPED,), None),  # cut off by Stop: not hers to make
    (False, (Flag.NOT_JUDGED, Flag.SPIKES), None),
])
def test_the_word_follows_how_it_was_done(met, flags, said):
    assert patient_verdict(rep(met, *flags)) == said


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_each_word_is_a_plain_sentence_naming_its_repetition(lang):
    for key in ("praise", "try_again", "let_go"):
        line = texts.format_text(texts.pick(texts.GUI[key], lang), lang, n=3)
        assert line.startswith("Herhaling 3: " if lang == "nl" else "Repetition 3: "), line
        assert "µV" not in line and "%" not in line
    assert "helemaal los" in texts.pick(texts.GUI["let_go"], "nl")
