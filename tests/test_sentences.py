"""One catalogue of words, the summary's logic in the exercise layer: every sentence's rule
(``bbfeedback.exercise.sentences``) has its words in both languages (``bbfeedback.texts``),
every row of words has a rule, and the catalogue itself decides nothing about a summary."""

import inspect

from bbfeedback import texts
from bbfeedback.exercise import sentences


def test_every_rule_has_words_in_both_languages_and_no_words_are_orphans():
    assert list(texts.SUMMARY) == list(sentences.SENTENCES)  # the same keys, read in order
    assert set(texts.ADVICE) == set(sentences.PATIENT) | {sentences.WELL}
    for key, row in texts.SUMMARY.items():
        assert len(row) == len(texts.LANGS) and all(row), key
    for key, (nl, en, next_nl, next_en) in texts.ADVICE.items():
        assert nl and en, key
        good = key != sentences.WELL and sentences.PATIENT[key].good
        assert bool(next_nl) == bool(next_en) == (not good), key  # a problem says what to do
    assert set(sentences.PATIENT_ASSESSMENT) <= set(sentences.PATIENT)


def test_the_catalogue_reads_no_summary():
    """No function in ``texts`` takes a summary and its repetitions: deciding what a summary
    says is ``exercise/sentences.py``'s."""
    for name, obj in vars(texts).items():
        if inspect.isfunction(obj) and obj.__module__ == texts.__name__:
            params = set(inspect.signature(obj).parameters)
            assert not {"summary", "reps"} <= params, name
    assert "bbfeedback" not in {line.split()[1].split(".")[0]
                                for line in inspect.getsource(texts).splitlines()
                                if line.startswith(("import ", "from "))}
