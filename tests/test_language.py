"""Plain Dutch and English everywhere: every bundled protocol is run on the simulated patient,
recorded, and its summary, session report, progress report, command-line tables and the
GUI's visible texts are rendered in both languages. The Dutch must have no English words,
no code names (flags, postures, Glazer keys), no decimal point, no "je"/"jij"/"jouw" (the
leaflets say "u") and no "1 ... aanspanningen"; the English must have no Dutch words.
The words themselves are one table: ``bbfeedback/texts.py``."""

import html
import re

import pytest
from bbfeedback.gui import i18n
from bbfeedback.gui.therapist import TherapistWindow
from PySide6 import QtWidgets

from bbfeedback import texts
from bbfeedback.app import tables
from bbfeedback.app.analyze import analysis
from bbfeedback.app.history import History, progress
from bbfeedback.app.recorder import SessionRecorder
from bbfeedback.app.report import progress_report, session_report
from bbfeedback.app.run import BlockList, run
from bbfeedback.app.simulated import SimulatedSource
from bbfeedback.app.sources import SIM_FULL_SCALE
from bbfeedback.exercise import protocols, sentences
from bbfeedback.exercise.scores import Flag, RepScore
from bbfeedback.exercise.session import Session
from bbfeedback.exercise.shown import shown
from bbfeedback.recording import read_recording

PROTOCOLS = protocols.builtin_ids()
PATIENT = "P-042"

# common English words that must never show in Dutch (not "of", "met", "lift", "start",
# "stop", "in", "is", "let", "late": Dutch words too; not channel names, which are the
# device's: "abdominal")
ENGLISH = """hold holds held rest repetition repetitions rep reps sitting lying standing fatigue
strength quick fast work relax relaxation release squeeze contract contraction contractions
floor floors target endurance power phasic tonic baseline onset latency slope mean peak
before after first last muscle activity times time the and with kept fell only yes session
sessions summary flags report progress practice suggestion trace calibration device posture
patient date incomplete short slow gap signal clipped too strong straining tense
breathe done ready connected lost samples replay recording speed language
rise cue upright rounded hollow back estimated abdominal pressure""".split()
# common Dutch words that must never show in English
DUTCH = """hield vast vastgehouden vasthouden keer herhaling herhalingen aanspanning aanspanningen
ontspannen onvolledig snelle spieractiviteit kracht verdieping verdiepingen houding zittend
liggend staand geen buikspieren loslaten knijp gehaald opmerkingen ja nee sessie sessies
dagen voorstel oefening uithoudingsvermogen rust van de het een bij na tot en gemiddeld
gemiddelde piek rustig doel kalibratie apparaat datum samenvatting verloop terugkijken
uitademen inademen laatste eerste traag persen gespannen""".split()
CODES = [f.value for f in Flag] + list(texts.FLAGS) + list(texts.GLAZER) + list(texts.POSTURES)
CODES += ["uV", "pfm"]  # a unit and a channel as files write them: "µV", "bekkenbodem"


def _words(text: str, vocabulary: list[str]) -> list[str]:
    found = re.findall(r"(?<!\w)(" + "|".join(vocabulary) + r")(?!\w)", text, re.I)
    return sorted({w.lower() for w in found})


def _plain(text: str) -> str:
    """The words a reader sees: identifiers (protocol ids, the patient code) taken out."""
    for pid in sorted(PROTOCOLS, key=len, reverse=True):
        text = text.replace(pid, "ID")
    return text.replace(PATIENT, "ID")


def dutch_problems(text: str) -> list[str]:
    text = _plain(text)
    problems = [f"English word {w!r}" for w in _words(text, ENGLISH)]
    problems += [f"code {c!r}" for c in sorted(set(re.findall(r"\b[a-z]+_[a-z0-9_]+\b", text)))]
    problems += [f"code {c!r}" for c in CODES
                 if re.search(rf"(?<![\w-]){re.escape(c)}(?![\w-])", text)]
    problems += [f"decimal point {m!r}" for m in re.findall(r"\d\.\d+", text)]
    problems += [f"je-form {m!r}" for m in re.findall(r"\b(je|jij|jouw|jou|jullie)\b", text,
                                                       re.I)]
    problems += [f"plural after 1: {m!r}" for m in re.findall(
        r"(?<![\d,.])1 (?:[a-zë]+ )?(?:aanspanningen|herhalingen|sessies|dagen|verdiepingen|"
        r"metingen|seconden|keren|liften)\b", text)]
    return problems


def english_problems(text: str) -> list[str]:
    text = _plain(text)
    problems = [f"Dutch word {w!r}" for w in _words(text, DUTCH)]
    problems += [f"code {c!r}" for c in sorted(set(re.findall(r"\b[a-z]+_[a-z0-9_]+\b", text)))]
    problems += [f"decimal comma {m!r}" for m in re.findall(r"\d,\d+", text)]
    problems += [f"plural after 1: {m!r}" for m in re.findall(
        r"(?<![\d,.])1 (?:[a-z]+ )?(?:times|repetitions|contractions|sessions|days|lifts|"
        r"seconds)\b", text)]
    return problems


def check(text: str, lang: str, what: str) -> None:
    problems = dutch_problems(text) if lang == "nl" else english_problems(text)
    assert not problems, f"{what} ({lang}): {problems}\n{text}"


def page_text(page: str) -> str:
    """An HTML page as read: without style and tags, with its tooltips (title="...")."""
    page = re.sub(r"<style.*?</style>", " ", page, flags=re.S)
    titles = re.findall(r'title="([^"]*)"', page)
    body = re.sub(r"<[^>]+>", " ", page)
    return html.unescape(" ".join([body, *titles]))


# --- sessions: every protocol, simulated, recorded, in a patient's history ------------------
@pytest.fixture(scope="module")
def sessions(tmp_path_factory):
    """pid -> (recording path, live result); a history database holding them all, with two
    more a1-strength sessions (a progress suggestion needs the same protocol twice)."""
    folder = tmp_path_factory.mktemp("language")
    out = {}
    db = History(folder / "history.sqlite3")
    runs = [(pid, 3, "sitting") for pid in PROTOCOLS] + [("a1-strength", 4, "lying"),
                                                          ("a1-strength", 5, "standing")]
    for pid, seed, posture in runs:
        src = SimulatedSource(pid, 500.0, seed=seed)
        session = Session(protocols.load(pid), src.channels, src.fs_hz, start_s=src.start_s)
        path = folder / f"{pid}-{seed}.edf"
        rec = SessionRecorder(path, src.channels, src.fs_hz, SIM_FULL_SCALE, session,
                              {"name": "sim", "fs_hz": src.fs_hz, "posture": posture}, PATIENT)
        end = run(BlockList(src.blocks), session, [rec])
        db.add(path)
        out.setdefault(pid, (path, end.result.to_dict()))
    return out, db


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_protocols_summary_reads_plainly(sessions, lang):
    by_pid, _ = sessions
    for pid, (_, result) in by_pid.items():
        text = result["summary"][f"text_{lang}"]
        assert text, pid
        check(text, lang, f"summary of {pid}")
        # EMG is muscle activity, not strength: fatigue is never "kracht"
        assert "kracht" not in text.lower() and "strength" not in text.lower()
        patient = result["summary"][f"patient_text_{lang}"]
        check(patient, lang, f"patient's summary of {pid}")
        check_patient_words(patient, f"patient's summary of {pid}")


@pytest.mark.parametrize("lang", ["nl", "en"])
@pytest.mark.parametrize("pid", PROTOCOLS)
def test_session_report(sessions, pid, lang):
    path, result = sessions[0][pid]
    page = session_report(path, lang)
    text = page_text(page)
    check(text, lang, f"session report of {pid}")
    assert texts.posture("sitting", lang) in text  # the posture in words ("zittend")
    if result["reps"] and any(r["flags"] for r in result["reps"]):
        flag = next(f for r in result["reps"] for f in r["flags"])
        assert texts.flag_name(flag, lang) in text and texts.flag_why(flag, lang) in text


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_cli_tables(sessions, lang):
    for pid, (path, _) in sessions[0].items():
        found = analysis(read_recording(path), protocol=protocols.load(pid))
        doc = found.to_dict()
        table = tables.format_table(doc, lang).replace(doc["file"], "FILE")
        check(table, lang, f"contractions table of {pid}")
        check(tables.format_reps(found.scored, lang), lang, f"repetition table of {pid}")
        timeline = tables.format_timeline(protocols.load(pid), lang)
        # the protocol's source in Dutch words (walkthrough: "bron: Leaflet B, exercise 5");
        # in English it may quote the leaflet's Dutch ("knijp voor u hoest of niest")
        check("\n".join(line for line in timeline.splitlines()
                        if lang == "nl" or not line.startswith(texts.text("source", lang) + ":")),
              lang, f"timeline of {pid}")
        assert "shared/spec" not in timeline


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_progress_report_and_table(sessions, lang):
    _, db = sessions
    prog = progress(db.sessions(PATIENT))
    if prog.suggestion is None:  # the simulated patient did not earn one: show one anyway
        prog.suggestion = {"protocol": "a1-strength", "change": "hold_s", "from": 5.0,
                           "to": 6.0, "why": "", "met_shares": [1.0, 0.8]}
    page = page_text(progress_report(PATIENT, prog, lang))
    check(page, lang, "progress report")
    table = tables.format_progress(PATIENT, prog, lang)
    check(table, lang, "progress table")
    assert "a1-strength" not in table  # the exercise by its name, in the language
    assert protocols.load("a1-strength").name[lang] in table
    for text in (page, table):
        assert "hold_s" not in text and texts.text("suggestion", lang).lower() in text.lower()
    if lang == "nl" and prog.suggestion["change"] == "hold_s":
        assert "vasthouden" in page and "van de herhalingen gehaald" in page


def gui_texts(win: TherapistWindow) -> str:
    """Everything the therapist's window and the patient's view show as words."""
    out = [win.windowTitle()]
    out += [w.text() for w in win.findChildren(QtWidgets.QLabel) if w.isVisibleTo(win)]
    out += [w.text() for w in win.findChildren(QtWidgets.QAbstractButton)]
    out += [win.posture.itemText(i) for i in range(win.posture.count())]  # other boxes: ids
    out += [box.text() for box in win.findChildren(QtWidgets.QAbstractSpinBox)]
    table = win.table
    out += [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    for r in range(table.rowCount()):
        for c in range(table.columnCount()):
            item = table.item(r, c)
            out += [item.text(), item.toolTip()] if item else []
    for plot, axis in ((win.plot, "bottom"), (win.plot, "left"), (win.raw_plot, "left"),
                       (win.patient_view.plot, "bottom")):
        out.append(plot.getPlotItem().getAxis(axis).labelText)
    out += [win.patient_view.cue.text(), i18n.tr("floor", win.lang)]
    return "\n".join(out)


@pytest.mark.parametrize("pid", PROTOCOLS)
def test_gui_replay_in_dutch_then_english(sessions, pid, qtbot, tmp_path):
    path, result = sessions[0][pid]
    win = TherapistWindow("sim", None, pid, "nl", tmp_path, speed=1000.0)
    qtbot.addWidget(win)
    win.open_recording(str(path), 1000.0)
    qtbot.waitUntil(lambda: win.controller.frame().status == "finished", timeout=60000)
    qtbot.waitUntil(lambda: win.table.rowCount() == len(result["reps"]), timeout=5000)
    win.redraw()
    dutch = gui_texts(win)
    assert result["summary"]["text_nl"] in dutch
    check(dutch, "nl", f"GUI, {pid}")
    win.set_language("en")
    win.redraw()
    english = gui_texts(win)
    assert result["summary"]["text_en"] in english
    check(english, "en", f"GUI, {pid}")
    win.close()


def test_gui_status_and_cues_in_dutch(qtbot, tmp_path):
    win = TherapistWindow("sim", None, "b1-awareness", "nl", tmp_path)
    qtbot.addWidget(win)
    win.redraw()
    check(gui_texts(win) + "\n" + win.status.text(), "nl", "GUI at rest")
    assert i18n.tr("replaying", "nl") == "terugkijken"  # a replay is not a "herhaling"
    win.close()
    for name, words in protocols.CUES.items():
        check(words["nl"], "nl", f"cue {name}")
        check(words["en"], "en", f"cue {name}")
    for pid in PROTOCOLS:
        p = protocols.load(pid)
        check(f"{p.name['nl']}. {p.description['nl']}", "nl", f"name of {pid}")
        check(f"{p.name['en']}. {p.description['en']}", "en", f"name of {pid}")


# --- the table itself ------------------------------------------------------------------------
def test_every_flag_has_dutch_and_english_words():
    """A new Flag fails here until it has its row in texts.FLAGS."""
    for flag in Flag:
        row = texts.FLAGS.get(flag.value)
        assert row and len(row) == 4 and all(row), f"{flag.value}: no row in texts.FLAGS"
        nl_name, en_name, nl_why, en_why = row
        check(f"{nl_name}: {nl_why}", "nl", flag.value)
        check(f"{en_name}: {en_why}", "en", flag.value)
        assert flag.description == en_why


def test_every_sentence_in_both_languages_singular_and_plural():
    """Every summary sentence at once (all flags on every repetition, every summary key),
    then with ones: singular forms."""
    def reps(n):
        return [RepScore.from_dict({"index": i, "met": False, "flags": [f.value for f in Flag],
                                    "target_hold_s": 0.5, "floors_pct_mvc": [],
                                    "floors_distinct": True, "rest_level": 8.43,
                                    "rest_ratio": 2.1}) for i in range(1, n + 1)]

    for n in (1, 3):
        summary = {"reps": n, "reps_met": 1, "quick_count": n, "endurance_hold_s": [18.4] * n,
                   "quick_skipped": list(range(2, n + 2)), "quick_skipped_between": 1,
                   "hold_fatigue": {"first_s": 6.0, "last_s": 2.0, "shorter": True},
                   "floors_distinct": 1, "release_quick": 1, "fatigue_ratio": 0.55,
                   "glazer": {"pre-baseline": {"mean": 2.84}, "post-baseline": {"mean": 3.1}},
                   "perfect": {"E": 7.5, "R": n, "F": 1}, "resting_tone": {"unit": "µV"},
                   "no_mvc": True, "mvc_estimated": True, "control_faded_from": 4,
                   "incomplete": True, "planned_reps": n + 2, "mvc_from_recording": True,
                   "signal_check": {"unit": "uV", "rest": 3.0, "mvc": 4.5, "ratio": 1.5,
                                    "weak": True, "squeezes": [25.0, 42.0, 70.0],
                                    "squeezes_agree": False, "pressure_only": True}}
        for lang in ("nl", "en"):
            text = sentences.summary_text(summary, reps(n), lang)
            check(text, lang, "all sentences")
            shown = [key for key, _ in sentences.summary_items(summary, reps(n))]
            # with Glazer and PERFECT numbers it is an assessment: no "Hield ... vast"
            assert set(shown) == set(sentences.SENTENCES) - {
                "no_reps", "reps_met_mixed", "quick_count_steady", "reps_met"}
            practice = {k: v for k, v in summary.items() if k not in ("glazer", "perfect")}
            check(sentences.summary_text(practice, reps(n), lang), lang, "all sentences")
            assert "reps_met" in [key for key, _ in sentences.summary_items(practice, reps(n))]
    one = {"reps": 1, "reps_met": 1, "quick_count": 1, "fatigue_ratio": None,
           "resting_tone": {"limit": 7.0}}
    assert sentences.summary_text(one, reps(1)[:1], "nl") == (
        "Herhaling 1 niet beoordeeld: het signaal was verstoord (signaal onderbroken, signaal "
        "afgekapt, elektrode los, pieken, kabelstoring, storing door het lichtnet, "
        "bewegingsstoring). "
        "Hield 1 van de 1 keer 0,5 s vast. Laat begonnen bij herhaling 1. "
        "Te vroeg begonnen (in de rust ervoor) bij herhaling 1. "
        "Na herhaling 1 onvolledig ontspannen. "
        "Gespannen in rust na herhaling 1: 8,4 µV, 2,1 × de rust vooraf (grens 7 µV). "
        "Geen aanspanning bij herhaling 1. Te laat geknepen bij het hoesten bij herhaling 1: "
        "eerst knijpen, dan hoesten. Buikspieren spanden mee bij herhaling 1. "
        "Geperst in plaats van aangespannen bij herhaling 1: niet persen, adem niet inhouden. "
        "Te hard aangespannen bij herhaling 1. 1 snelle aanspanning tot vermoeidheid. "
        "Mogelijk geperst bij herhaling 1: de druk steeg traag.")
    assert "1 quick contraction before" in sentences.summary_text(one, reps(1), "en")
    assert "herhalingen 1, 2 en 3" in sentences.summary_text({"reps": 3, "reps_met": 0},
                                                             reps(3), "nl")


PATIENT_UNITS = re.compile(r"µV|MVC|×|%|cmH|\d\s*(s|Hz)\b|\d[,.]\d")


def check_patient_words(text: str, what: str) -> None:
    """The patient's sentences: no unit, no MVC, no ×, no decimals (issue 22)."""
    assert not PATIENT_UNITS.search(text), f"{what}: a unit or a measure\n{text}"


def test_every_patient_sentence_in_both_languages():
    """Each of the patient's sentences (``texts.ADVICE``, with "well" when nothing was
    found) plainly in its language, in the u-form with its subject (Dutch: "U", "Uw", or a
    subject noun; the advice "... u ..."), and every advice one sentence about next time."""
    for key, (said_nl, said_en, next_nl, next_en) in texts.ADVICE.items():
        for n in (1, 3):
            values = {"n": n, "met": 1}
            nl = texts.format_text(said_nl, "nl", **values)
            en = texts.format_text(said_en, "en", **values)
            check(nl, "nl", key)
            check(en, "en", key)
            check_patient_words(nl + " " + en, key)
            assert re.search(r"\b([Uu]w?|Er|Het|De|Dit)\b", nl), nl
        if key != sentences.WELL and sentences.PATIENT[key].good:
            assert not next_nl and not next_en
            continue
        check(next_nl, "nl", key)
        check(next_en, "en", key)
        check_patient_words(next_nl + " " + next_en, key)
        assert re.search(r"\bu\b", next_nl) and "volgende keer" in next_nl, next_nl
        assert "next time" in next_en.lower() and next_en.count(".") == next_nl.count(".") == 1


def test_numbers_per_language():
    assert texts.fmt(0.5, "nl") == "0,5" and texts.fmt(0.5, "en") == "0.5"
    assert texts.fmt(-0.2, "nl", ".0f") == "0" and texts.fmt(float("nan"), "nl") == "–"
    assert texts.fmt(None, "en") == "–" and texts.fmt(True, "nl") == "ja"
    # a time that does not exist is "–", never 0,00 (issue 22)
    assert texts.time_cell(None, "nl") == "–" and texts.time_cell(float("nan"), "en") == "–"
    assert texts.time_cell(0.38, "nl") == "0,38" and texts.time_cell(0.0, "en") == "0.00"
    assert texts.format_text("{n} {n:keer|keren}", "nl", n=1) == "1 keer"
    assert texts.format_text("{xs:.1f} s", "nl", xs=[1.25, 2.0]) == "1,2 en 2,0 s"


def test_the_window_words_are_in_the_one_catalogue():
    """The window's own words are a part of ``bbfeedback.texts`` (no key twice), and the
    GUI package holds no table of words of its own."""
    assert not set(texts.GUI) & set(texts.CORE)
    assert not hasattr(i18n, "TEXTS")
    for key, (nl, en) in texts.GUI.items():
        check(nl, "nl", key)
        check(en, "en", key)
    assert i18n.tr("col_flags", "nl") == "Opmerkingen" and i18n.tr("title", "en")


def test_the_core_table_reads_plainly():
    for key, (nl, en) in texts.TEXTS.items():
        check(re.sub(r"\{[^}]*\}", "0", nl), "nl", key)
        check(re.sub(r"\{[^}]*\}", "0", en), "en", key)
    for table in (texts.POSTURES, texts.GLAZER, texts.KINDS, texts.ALIGNMENTS,
                  texts.CHANNEL_KINDS, texts.CALIBRATION_SOURCES):
        for key, (nl, en) in table.items():
            check(nl.replace("--start-s", ""), "nl", key)
            check(en, "en", key)
    assert protocols.CUES["breathe_in"]["nl"].startswith("Loslaten")  # leaflet B: out, lift,
    # let go before breathing in


def test_quick_threshold_is_one_rule():
    from bbfeedback.exercise import scoring

    assert texts.QUICK_HOLD_S == scoring.QUICK_HOLD_S


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_table_cells_of_quick_and_endurance_reps(lang):
    """Physio review: quick reps read "0,00 / 0,5 / ja", an endurance hold "Doel 0,0"."""
    def row(hold_s: float, target_hold_s: float):
        return shown(RepScore.from_dict({"index": 1, "met": True, "hold_s": hold_s,
                                         "target_hold_s": target_hold_s}))

    quick, endurance = row(0.0, 0.5), row(18.4, 0.0)
    assert texts.held_cells(quick, lang) == ("–", "snel" if lang == "nl" else "quick")
    assert texts.held_cells(endurance, lang)[1] == texts.text("as_long_as_possible", lang)
    assert texts.held_cells(row(4.8, 5.0), "nl") == ("4,80", "5,0")
