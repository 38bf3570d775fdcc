"""Session-level judgements from known truth (issue 22): the quick count over the patient's own
flicks until they fade (two in a row), fatigue as holds getting shorter, PERFECT's R on her
own E, an assessment never "te kort", Glazer's flick rule in its table, "–" where no time
exists, and the patient's sentences. Every session here is built from ``RepScore`` and
``Contraction`` objects and an envelope made by hand (not the simulated patient), so the
truth is known exactly. The rules and their sources: docs/scoring.md, "Summary rules"."""

import re
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from bbfeedback import texts
from bbfeedback.app import tables
from bbfeedback.app.report import _rep_table
from bbfeedback.detect.calibration import Calibration
from bbfeedback.detect.contractions import Contraction
from bbfeedback.exercise import protocols, scoring, sentences
from bbfeedback.exercise.protocols import WORK
from bbfeedback.exercise.result import RunInfo, SessionResult
from bbfeedback.exercise.scores import Flag, LiftScore, RepScore
from bbfeedback.exercise.shown import ASSESSMENT_KEYS, shown
from bbfeedback.exercise.summary import (
    ASSESSMENTS,
    QuickCount,
    SessionFacts,
    quick_count,
    summarise,
)
from bbfeedback.exercise.trace_store import Trace

RATE_HZ = 100.0
CAL = Calibration(baseline_mean=2.0, baseline_sd=0.3, mvc=52.0)  # 1 % MVC = 0.5 µV
RAMP_S = 0.1
ENDURANCE_S = 18.0  # an as-long-as-possible hold (no target) lasts this long by default
PROTOCOLS = protocols.builtin_ids()


def level(pct: float) -> float:
    return CAL.level(pct)


# --- a session made by hand ------------------------------------------------------------------
class Envelope:
    """An envelope at rest, with squeezes added as trapezoids (``RAMP_S`` up and down)."""

    def __init__(self, duration_s: float):
        self.values = np.full(int(duration_s * RATE_HZ), CAL.baseline_mean)
        self.contractions: list[Contraction] = []

    def squeeze(self, onset_s: float, length_s: float, pct: float, after_pct: float = 0.0,
                until_s: float | None = None) -> None:
        """A squeeze to ``pct`` % MVC for ``length_s``; after it the level falls to
        ``after_pct`` % MVC (0: rest) and stays there until ``until_s``."""
        t = np.arange(self.values.size) / RATE_HZ
        top, low = level(pct), level(after_pct)
        up = np.clip((t - onset_s) / RAMP_S, 0, 1)
        down = np.clip((onset_s + length_s - t) / RAMP_S, 0, 1)
        shape = CAL.baseline_mean + (top - CAL.baseline_mean) * np.minimum(up, down)
        inside = (t >= onset_s) & (t <= onset_s + length_s)
        self.values[inside] = np.maximum(self.values[inside], shape[inside])
        if after_pct and until_s is not None:  # the level falls only to after_pct
            tail = (t >= onset_s + RAMP_S) & (t < until_s)
            self.values[tail] = np.maximum(self.values[tail], low)
        self.contractions.append(Contraction(
            "pfm", onset_s, onset_s + length_s, top, top, "uV", RAMP_S, RAMP_S,
            int(onset_s * RATE_HZ), int((onset_s + length_s) * RATE_HZ),
            float(CAL.pct_mvc(top)), float(CAL.pct_mvc(top))))

    @property
    def trace(self) -> Trace:
        return Trace(self.values, RATE_HZ, 0.0)


def rep_steps(proto) -> list[list]:
    """The work steps of each repetition, in order."""
    groups: dict[int, list] = {}
    for s in proto.timeline():
        if s.rep is not None:
            groups.setdefault(s.rep, []).append(s)
    return list(groups.values())


def make_rep(steps, hold_s: float | None = None, pct: float = 90.0, flags=(), met=None,
             rise_s: float | None = 0.3, release_s: float | None = 0.4,
             onset_after_s: float = 0.3) -> RepScore:
    """One repetition as the scorer gives it: its target from the protocol, held ``hold_s``
    (default: the target), peak ``pct`` % MVC."""
    first = steps[0]
    target = sum(s.phase.hold_s for s in steps)
    held = (target or ENDURANCE_S) if hold_s is None else hold_s
    quick = 0 < target <= scoring.QUICK_HOLD_S
    met = (held >= target - 0.5 if target > 0 else True) if met is None else met
    flags = tuple(flags) + (() if met or quick or target <= 0 else (Flag.SHORT_HOLD,))
    peak = level(pct)
    onset = first.start_s + onset_after_s
    return RepScore(
        index=first.rep, cue_s=first.start_s, onset_s=onset, offset_s=onset + max(held, 0.3),
        target_hold_s=target, hold_s=held, step_holds_s=(held,), met=met, rise_s=rise_s,
        release_s=release_s, peak=peak, peak_pct_mvc=pct, mean=peak, mean_pct_mvc=pct,
        rest_residual_pct=1.0, rest_level=CAL.baseline_mean, rest_ratio=1.0, unit="uV",
        flags=flags, section=first.section, posture=first.posture,
        lift=LiftScore((25.0, 50.0, 75.0), (5.0, 5.0, 5.0), True, True)
        if first.scoring == "lift" else None)


def facts_for(proto, reps, env: Envelope | None = None) -> SessionFacts:
    """The facts a summary reads; without ``env`` the envelope has each repetition's squeeze
    (its onset, its hold, at least 0.4 s, its peak)."""
    steps = tuple(proto.timeline())
    if env is None:
        env = Envelope(proto.duration_s + 5.0)
        for r in reps:
            if r.onset_s is not None and r.hold_s is not None:
                env.squeeze(r.onset_s, max(r.hold_s, 0.4), r.peak_pct_mvc)
    return SessionFacts(proto, steps, {s.index: (s.start_s, s.end_s) for s in steps},
                        tuple(reps), env.trace, CAL, (), tuple(env.contractions))


def session(pid: str, how=None, env: Envelope | None = None) -> tuple[dict, list[RepScore]]:
    """(summary, reps) of ``pid`` with every repetition made by ``make_rep``; ``how``
    gives its keywords from (its steps, its place in its section from 0, the section's
    number of repetitions)."""
    proto = protocols.load(pid)
    groups = rep_steps(proto)
    sizes: dict[str, int] = {}
    for steps in groups:
        sizes[steps[0].section] = sizes.get(steps[0].section, 0) + 1
    reps, seen = [], dict.fromkeys(sizes, 0)
    for steps in groups:
        name = steps[0].section
        reps.append(make_rep(steps, **(how(steps, seen[name], sizes[name]) if how else {})))
        seen[name] += 1
    return summarise(facts_for(proto, reps, env)), reps


def result_of(pid: str, summary: dict, reps: list[RepScore]) -> SessionResult:
    """What the tables read: a result with the protocol, its repetitions and summary."""
    info = RunInfo(pid, {"nl": pid, "en": pid}, None, 0.0, "pfm", None, "cue annotations", 3.5)
    return SessionResult(info, {}, tuple(reps), summary)


# --- 1. the quick count: her own flicks until two in a row fade ---------------------------
def flicks(times: list[float], pcts: list[float] | None = None, loose: set[int] = frozenset(),
           long: set[int] = frozenset(), end_s: float | None = None) -> Envelope:
    """Flicks of 0.4 s at ``times``; ``loose``: flicks (1-based) not let go (30 % MVC until
    the next); ``long``: flicks held 3 s."""
    env = Envelope(end_s or times[-1] + 5.0)
    pcts = pcts or [90.0] * len(times)
    for k, (t, pct) in enumerate(zip(times, pcts, strict=True), 1):
        nxt = times[k] if k < len(times) else t + 1.5
        env.squeeze(t, 3.0 if k in long else 0.4, pct, 30.0 if k in loose else 0.0,
                    nxt + RAMP_S)
    return env


CUES_3S = [5.0 + 3 * k for k in range(12)]
QUICK_CASES = {  # name: (envelope, count, why it ended, single lapses skipped)
    # own pace every 1.5 s, 16 strong then fading: 16 (the protocol cues 12: no ceiling)
    "16-strong-then-fading": (flicks([5 + 1.5 * k for k in range(20)], [90.0] * 16 + [30.0] * 4),
                              16, "weaker", ()),
    # a3 with 11 of 12 met (flick 5 weak): 11, never 2
    "11-of-12-one-weak": (flicks(CUES_3S, [90.0] * 4 + [30.0] + [90.0] * 7), 11, None, (5,)),
    "11-of-12-one-not-let-go": (flicks(CUES_3S, loose={5}), 11, None, (5,)),
    "one-held-3-s": (flicks(CUES_3S, long={7}), 11, None, (7,)),
    "two-not-let-go-in-a-row": (flicks(CUES_3S, loose={5, 6}), 4, "not_released", ()),
    "two-weaker-in-a-row": (flicks(CUES_3S, [90.0] * 7 + [40.0] * 5), 7, "weaker", ()),
    "lapse-then-fading": (flicks(CUES_3S, [90.0] * 3 + [30.0, 90.0, 90.0] + [30.0] * 6),
                          5, "weaker", (4,)),
    "slow-reaction-0.85-s": (flicks([t + 0.85 for t in CUES_3S]), 12, None, ()),
    "only-6-every-5-s": (flicks([5.0 + 5 * k for k in range(6)], end_s=45.0), 6, None, ()),
}


@pytest.mark.parametrize("name", QUICK_CASES)
def test_quick_count_ends_on_two_fading_flicks_in_a_row(name):
    env, count, ended, skipped = QUICK_CASES[name]
    got = quick_count(env.contractions, (5.0, 45.0), env.trace, CAL, 0.6)
    assert got == QuickCount(count, ended, skipped, len(env.contractions)), name


QUICK = [pid for pid in PROTOCOLS
         if any(s.scoring == "quick" for s in protocols.load(pid).timeline())]


def quick_span(proto) -> tuple[float, float]:
    steps = [s for s in proto.timeline() if s.scoring == "quick"]
    return steps[0].start_s, steps[-1].end_s


@pytest.mark.parametrize("pid", QUICK)
def test_own_pace_flicks_count_all_strong_ones(pid):
    """Every 1.5 s from the quick section's first cue, strong until two before its end, then
    two weak: all the strong ones count (16 where they fit), however many cues there are."""
    proto = protocols.load(pid)
    a, b = quick_span(proto)
    fit = int((b - a - 0.5) // 1.5) + 1
    strong = min(16, fit - 2)
    times = [a + 1.5 * k for k in range(strong + 2)]
    env = Envelope(proto.duration_s + 5.0)
    for k, t in enumerate(times):
        env.squeeze(t, 0.4, 90.0 if k < strong else 30.0)
    summary, _ = session(pid, env=env)
    assert summary["quick_count"] == strong and summary["quick_ended"] == "weaker"
    assert f"{strong} snelle aanspanningen tot vermoeidheid: de volgende twee" in \
        summary["text_nl"]
    assert f"{strong} quick contractions before fatigue: the next two" in summary["text_en"]
    assert f"U deed {strong} snelle aanspanningen voordat u moe werd." in \
        summary["patient_text_nl"]


@pytest.mark.parametrize("pid", QUICK)
def test_one_weak_flick_among_the_cued_ones_is_left_out_not_the_end(pid):
    """The issue's a3 with 11 of 12 met read "2 snelle aanspanningen tot vermoeidheid"."""
    proto = protocols.load(pid)
    cues = [s.start_s for s in proto.timeline() if s.scoring == "quick" and s.phase.kind == WORK]
    env = Envelope(proto.duration_s + 5.0)
    for k, t in enumerate(cues, 1):
        env.squeeze(t + 0.5, 0.4, 30.0 if k == 4 else 90.0)
    summary, reps = session(pid, env=env)
    assert summary["quick_count"] == len(cues) - 1 and summary["quick_faded"] is False
    # named by its repetition, the table's number (in the daily set after a1's and a2's)
    fourth = [r.index for r in reps if r.section == reps[-1].section][3]
    assert summary["quick_skipped"] == [fourth]
    assert f"De snelle aanspanning bij herhaling {fourth} niet meegeteld" in summary["text_nl"]
    assert f"The quick contraction in repetition {fourth} not counted" in summary["text_en"]


# --- 2. fatigue as holds getting shorter --------------------------------------------------
def hold_sections(pid: str) -> dict[str, int]:
    """Sections of holds (target over 1 s) with at least 3 repetitions: their counts."""
    out: dict[str, int] = {}
    for steps in rep_steps(protocols.load(pid)):
        if sum(s.phase.hold_s for s in steps) > scoring.QUICK_HOLD_S:
            out[steps[0].section] = out.get(steps[0].section, 0) + 1
    return {name: n for name, n in out.items() if n >= 3}


HOLDS = [pid for pid in PROTOCOLS if hold_sections(pid)]


def target_of(steps) -> float:
    return sum(s.phase.hold_s for s in steps)


def declining(steps, i: int, n: int) -> dict:
    """Holds from 1.2 x the target down to 0.4 x it over their section (6 -> 2 s for 5 s),
    every peak the same (no decline of muscle activity)."""
    target = target_of(steps)
    if target <= scoring.QUICK_HOLD_S:
        return {}
    return {"hold_s": round(target * (1.2 - 0.8 * i / max(n - 1, 1)), 2)}


@pytest.mark.parametrize("pid", HOLDS)
def test_holds_falling_from_6_to_2_s_are_said(pid):
    """Before: amplitude only, holds 6 -> 2 s gave ratio 0.94 and no sentence."""
    summary, _ = session(pid, how=declining)
    assert summary["fatigue_ratio"] in (None, 1.0)  # the peaks did not fall
    h = summary["hold_fatigue"]
    assert h["shorter"] and h["ratio"] == pytest.approx(0.4 / 1.2, abs=0.12)
    assert h["slope_s_per_rep"] < 0
    assert "De aanspanningen werden korter naarmate de oefening vorderde" in summary["text_nl"]
    assert "The squeezes got shorter as the exercise went on" in summary["text_en"]
    if protocols.load(pid).scoring not in ASSESSMENTS:
        assert "Uw aanspanningen werden korter naarmate de oefening vorderde." in \
            summary["patient_text_nl"]
        assert "Your squeezes got shorter as the exercise went on." in \
            summary["patient_text_en"]


def test_holds_of_6_to_2_s_in_a1_read_so():
    summary, _ = session("a1-strength", how=lambda steps, i, n: {"hold_s": 6.0 - i})
    h = summary["hold_fatigue"]
    assert (h["first_s"], h["last_s"], h["section"]) == (6.0, 2.0, "strength")
    assert "gemiddeld 6,0 s vastgehouden in het eerste derde, 2,0 s in het laatste" in \
        summary["text_nl"]
    assert "6" not in summary["patient_text_nl"] and " s " not in summary["patient_text_nl"]


@pytest.mark.parametrize("pid", HOLDS)
def test_steady_holds_and_one_short_one_are_not_fatigue(pid):
    summary, _ = session(pid)
    assert not (summary["hold_fatigue"] or {}).get("shorter")
    assert "korter" not in summary["text_nl"]

    def one_short(steps, i, n):  # the second hold of each section half as long
        target = target_of(steps)
        return {"hold_s": target / 2} if target > 1 and i == 1 else {}

    summary, _ = session(pid, how=one_short)
    assert "korter" not in summary["text_nl"] + summary["patient_text_nl"]


# --- 3. PERFECT: R on her own E; an assessment is never "te kort" ------------------------
def perfect_session(holds_s: list[float], fast_pct: float = 90.0):
    """PERFECT with holds that last ``holds_s`` (their level falls to rest after that) and
    ten strong fast squeezes, each relaxed."""
    proto = protocols.load("perfect")
    env = Envelope(proto.duration_s + 5.0)
    reps = []
    for steps in rep_steps(proto):
        first = steps[0]
        if first.section == "endurance-repetitions":
            e = holds_s[first.rep - 1]
            env.squeeze(first.start_s + 0.3, e, 90.0)
            reps.append(make_rep(steps, hold_s=min(e, 10.0)))
        else:
            env.squeeze(first.start_s + 0.3, 0.4, fast_pct)
            reps.append(make_rep(steps, pct=fast_pct))
    return summarise(facts_for(proto, reps, env)), reps


def test_perfect_with_fatigue_e6_r2_f10():
    summary, reps = perfect_session([6.0, 6.0, 4.0, 3.0, 3.0, 2.0, 2.0, 2.0, 2.0, 2.0])
    p = summary["perfect"]
    assert p["E"] == pytest.approx(6.0, abs=0.15) and p["R"] == 2 and p["F"] == 10
    assert [h["counted"] for h in p["holds"]] == [True, True] + [False] * 8
    # the table says why a hold did not count (walkthrough: "nee" with no remark), never
    # "te kort" (an assessment measures)
    rows = [shown(r, summary) for r in reps[:10]]
    assert [r.flags for r in rows] == [(), ()] + [("shorter_than_e",)] * 8
    assert texts.flag_name("shorter_than_e", "nl") == "korter dan E"


def test_perfect_r_counts_her_own_e_long_holds_not_the_cued_10_s():
    """Before: "Hield 0 van de 10 keer 10 s vast" and ten "te kort" for ten 6-s holds."""
    summary, reps = perfect_session([6.0] * 10)
    # met as the assessment counts it (issue 22): the ten holds of her own E, not the cued 10 s
    assert summary["perfect"]["R"] == 10 and summary["holds_met"] == 10
    assert "PERFECT: E 6 s, R 10, F 10." in summary["text_nl"]
    assert "Hield" not in summary["text_nl"] and "Held" not in summary["text_en"]
    rows = [shown(r, summary) for r in reps]
    holds = [r for r in rows if r.section == "endurance-repetitions"]
    assert all(r.met and r.target_hold_s == summary["perfect"]["E"] for r in holds)
    for lang in ("nl", "en"):
        table = tables.format_reps(result_of("perfect", summary, reps), lang)
        page = _rep_table(reps, lang, summary)
        for text in (table, page):
            assert texts.flag_name("short_hold", lang) not in text
    assert reps[0].has(Flag.SHORT_HOLD)  # the repetition itself is as scored


@pytest.mark.parametrize("pid", ASSESSMENTS)
def test_an_assessment_never_says_too_short(pid):
    """Holds at 60 % of their cue: measured, not coached, in the texts and the tables."""
    def short(steps, i, n):
        target = target_of(steps)
        return {"hold_s": 0.6 * target} if target > scoring.QUICK_HOLD_S else {}

    summary, reps = session(pid, how=short)
    assert summary["assessment"] is True and any(r.has(Flag.SHORT_HOLD) for r in reps)
    for lang in ("nl", "en"):
        flag = texts.flag_name("short_hold", lang)
        for text in (tables.format_reps(result_of(pid, summary, reps), lang),
                     _rep_table(reps, lang, summary), summary[f"text_{lang}"],
                     summary[f"patient_text_{lang}"]):
            assert flag not in text, text
        for text in (summary[f"text_{lang}"], summary[f"patient_text_{lang}"]):
            assert not re.search(r"\b(Hield|Held|held)\b", text), text


def test_assessments_are_one_rule():
    assert set(ASSESSMENT_KEYS) == set(ASSESSMENTS)


# --- 4. Glazer's table: the flick rule of its block ---------------------------------------
def test_glazer_flick_times_in_the_table_are_the_blocks():
    """Before: the table's flick rise "0,00" (the work-average rule) beside the block's
    0.38 s (the flick rule)."""
    proto = protocols.load("glazer")
    env = Envelope(proto.duration_s + 5.0)
    reps = []
    for steps in rep_steps(proto):
        first = steps[0]
        if first.section == "phasic":
            env.squeeze(first.start_s + 0.35, 0.3, 95.0)
            reps.append(make_rep(steps, rise_s=0.0, release_s=0.0))
        else:
            reps.append(make_rep(steps))
    summary = summarise(facts_for(proto, reps, env))
    block = summary["glazer"]["phasic"]
    flick = summary["glazer_flicks"]
    assert [f["index"] for f in flick] == [r.index for r in reps if r.section == "phasic"]
    assert block["onset_latency_s"] == pytest.approx(np.mean([f["onset_latency_s"]
                                                              for f in flick]), abs=1e-3)
    assert 0.35 < block["onset_latency_s"] < 0.5
    table = tables.format_reps(result_of("glazer", summary, reps), "nl")
    phasic = [line.split() for line in table.splitlines() if re.match(r"\s+[1-5] ", line)]
    assert len(phasic) == 5, table
    for cells, f in zip(phasic, flick, strict=True):  # rep, cue, held, target, met, rise, ...
        assert cells[5:7] == [texts.time_cell(f["onset_latency_s"], "nl"),
                              texts.time_cell(f["release_latency_s"], "nl")], table
        assert "0,00" not in cells[5:7]


# --- 5. "–" where no time exists, never 0,00 --------------------------------------------
@pytest.mark.parametrize("pid", PROTOCOLS)
def test_no_time_shows_a_dash_not_zero(pid):
    """Rise None (already tense), release None (a hold that ends at the cue's end), and a
    repetition not judged (no hold): "–" in the command-line table and the report."""
    def none_times(steps, i, n):
        return {"rise_s": None, "release_s": None}

    summary, reps = session(pid, how=none_times)
    reps[0] = replace(reps[0], hold_s=None, flags=(Flag.NOT_JUDGED, Flag.SPIKES), met=False)
    for lang in ("nl", "en"):
        for text in (tables.format_reps(result_of(pid, summary, reps), lang),
                     _rep_table(reps, lang, summary)):
            assert not re.search(r"(?<![\d,.])0[,.]00\b", text), text
            assert texts.NO_TIME in text
    cells = texts.held_cells(replace(shown(reps[1]), hold_s=None, target_hold_s=5.0), "nl")
    assert cells == ("–", "5,0")


def test_the_window_shows_a_dash_and_no_too_short(qtbot, tmp_path):
    from bbfeedback.gui.therapist import TherapistWindow

    win = TherapistWindow("sim", None, "perfect", "nl", tmp_path)
    qtbot.addWidget(win)
    win.controller.protocol = protocols.load("perfect")
    summary, reps = perfect_session([6.0] * 10)
    reps = [replace(r, rise_s=None, release_s=None) for r in reps]
    win._scores(SimpleNamespace(reps=reps, summary=None))  # live: before the summary
    cells = [win.table.item(r, c).text() for r in range(win.table.rowCount())
             for c in range(win.table.columnCount())]
    assert "–" in cells and "0,00" not in cells
    assert not any(texts.flag_name("short_hold", "nl") in c for c in cells)
    win._scores(SimpleNamespace(reps=reps, summary=summary))  # the end: R's holds met
    assert win.table.item(0, 2).text() == "ja"
    win.close()


# --- 6. the patient's sentences --------------------------------------------------------------
UNITS = re.compile(r"µV|MVC|×|%|cmH|\d\s*(s|sec|Hz)\b|\d[,.]\d")
ALL_PROBLEMS = ("straining", "co_contraction", "too_strong", "incomplete_relaxation",
                "no_contraction")


def behaviours():
    def problems(steps, i, n):
        return {"flags": tuple(Flag(f) for f in ALL_PROBLEMS), "met": False}

    def short(steps, i, n):
        target = target_of(steps)
        return {"hold_s": 0.5 * target} if target > 1 and i % 2 else {}

    return {"clean": None, "problems": problems, "short": short}


def check_patient(text: str, lang: str, said: list[str], advice: str) -> None:
    assert not UNITS.search(text), text
    sentences = [*said, advice]
    assert all(s[0].isupper() and s.endswith(".") for s in sentences), sentences
    assert advice.count(".") == 1, advice  # one sentence, one thing to do
    if lang == "nl":
        assert all(re.search(r"\b([Uu]w?|Er|Het|De|Dit)\b", s) for s in sentences), sentences
        assert "volgende keer" in advice
        assert not re.search(r"\b(je|jij|jouw)\b", text, re.I)
    else:
        assert all(re.search(r"\b(You|you|your|Your|The|This|No|In)\b", s)
                   for s in said), said  # the advice: "Next time, ..." (imperative)
        assert "next time" in advice.lower()


@pytest.mark.parametrize("how", ["clean", "problems", "short"])
@pytest.mark.parametrize("pid", PROTOCOLS)
def test_patient_sentences(pid, how):
    summary, reps = session(pid, how=behaviours()[how])
    for lang in ("nl", "en"):
        said, advice = sentences.patient_sentences(summary, reps, lang)
        text = summary[f"patient_text_{lang}"]
        assert text == " ".join([*said, advice])
        check_patient(text, lang, said, advice)
        assert len(said) <= 3 + sentences.PATIENT_PROBLEMS


def test_the_first_problem_gives_the_one_advice():
    summary, reps = session("a1-strength", how=lambda steps, i, n: {
        "flags": (Flag.INCOMPLETE_RELAXATION, Flag.CO_CONTRACTION)})
    said, advice = sentences.patient_sentences(summary, reps, "nl")
    assert said == ["U hield de aanspanning elke keer zo lang vast als gevraagd.",
                    "Uw buikspieren spanden mee met de bekkenbodem.",
                    "U liet na sommige aanspanningen niet helemaal los."]
    assert advice.startswith("Houdt u de volgende keer uw buik, billen en benen ontspannen")
    clean, reps = session("a1-strength")
    assert sentences.patient_sentences(clean, reps, "en") == (
        ["You held the squeeze as long as asked every time."],
        "Next time, keep it up, and practise as agreed with your physiotherapist.")
