"""Progress that knows measurement noise (issues 12 and 21): every session is compared with
the first session of the same exercise on the same device, with the previous one, and as a
trend (slope with its 95 % interval); a change is real only beyond the metric's minimal
detectable change (``app/change.py``). Known-truth fake sessions: steady gain, noise only,
one jump, rest unchanged in µV, pressure in cmH2O."""

import json
from datetime import datetime, timedelta

import numpy as np
import pytest
from test_history_reports import _fake
from test_language import dutch_problems, english_problems, page_text

from bbfeedback.app import change, tables
from bbfeedback.app.history import progress
from bbfeedback.app.report import progress_report, to_json

START = datetime(2026, 11, 2, 10, 0)


def _day(k: int, days: int = 7) -> str:
    return (START + timedelta(days=days * k)).isoformat(timespec="seconds")


def _session(mvc, device="BITalino", tone=None, day="2026-11-20T10:00:00", unit="uV",
             rest=2.0, source="recorded"):
    s = _fake("a1-strength", 4, day=day)
    s["calibration"] = {"pfm": {"baseline_mean": rest, "baseline_sd": 0.3, "mvc": mvc,
                                "unit": unit, "source": source}}
    s["device"] = {"name": device, "main": "pfm"} if device else {"main": "pfm"}
    if tone is not None:
        s["summary"]["resting_tone"] = {"pct_mvc": tone, "unit": unit}
    return s


def _pair(mvc_after, device_after="BITalino", tone=(10.0, 10.0), unit="uV"):
    return progress([_session(40.0, tone=tone[0], unit=unit),
                     _session(mvc_after, device_after, tone[1], "2026-11-27T10:00:00",
                              unit)])


def _six(mvcs, rests=None, unit="uV", days=7):
    rests = rests or [2.0] * len(mvcs)
    return progress([_session(m, day=_day(k, days), unit=unit, rest=r)
                     for k, (m, r) in enumerate(zip(mvcs, rests, strict=True))])


def _verdicts(prog, metric="mvc", which="vs_first"):
    return [r["changes"][metric][which]["verdict"] for r in prog.rows]


def _trends(prog, metric="mvc"):
    return [r["changes"][metric]["trend"]["verdict"] for r in prog.rows]


def _mvc(prog, which="vs_first"):
    return prog.rows[-1]["changes"]["mvc"][which]


# --- two sessions ---------------------------------------------------------------------------
def test_the_first_session_is_the_baseline():
    first = _pair(44.0).rows[0]["changes"]["mvc"]
    assert first["vs_first"]["verdict"] == first["vs_previous"]["verdict"] == "first"
    assert first["trend"]["verdict"] == "too_few"


def test_a_10_percent_mvc_change_is_within_measurement_error():
    for after in (44.0, 36.0):  # +10 % and -10 %
        for which in ("vs_first", "vs_previous"):
            got = _mvc(_pair(after), which)
            assert got["verdict"] == "within_error" and abs(got["change_pct"]) == 10.0
        assert _pair(after).rows[-1]["changes"]["mvc"]["mdc_pct"] == 21.0


def test_a_60_percent_mvc_change_is_real_either_way():
    up, down = _mvc(_pair(64.0)), _mvc(_pair(16.0))
    assert (up["verdict"], up["change_pct"]) == ("improved", 60.0)
    assert (down["verdict"], down["change_pct"]) == ("declined", -60.0)


def test_the_mdc_edge():
    assert _mvc(_pair(48.4))["verdict"] == "within_error"  # +21 %: not beyond the MDC
    assert _mvc(_pair(48.8))["verdict"] == "improved"  # +22 %


def test_another_device_is_not_compared_for_emg_levels():
    changes = _pair(80.0, device_after="NeuroTrac").rows[-1]["changes"]
    assert changes["mvc"]["vs_previous"]["verdict"] == "other_device"
    assert changes["mvc"]["vs_previous"]["change_pct"] is None  # not even a number to misread
    assert changes["rest"]["vs_previous"]["verdict"] == "other_device"
    # on the new device this session is its own baseline, never compared with the old one
    assert changes["mvc"]["vs_first"]["verdict"] == "first"
    assert changes["mvc"]["trend"]["n"] == 1
    unknown = _pair(80.0, device_after=None).rows[-1]["changes"]
    assert unknown["mvc"]["vs_first"]["verdict"] == "device_unknown"
    assert unknown["mvc"]["vs_previous"]["verdict"] == "device_unknown"


def test_an_mvc_not_measured_that_session_is_not_judged_nor_a_baseline():
    assert _mvc(progress([_session(40.0), _session(80.0, day="2026-11-27T10:00:00")]))[
        "verdict"] == "improved"
    for source in ("session-previous", "session-gentle"):
        later = _session(80.0, day="2026-11-27T10:00:00", source=source)
        prog = progress([_session(40.0), later])
        assert _mvc(prog)["verdict"] == _mvc(prog, "vs_previous")["verdict"] == "not_measured"
        assert prog.rows[-1]["changes"]["rest"]["vs_first"]["verdict"] == "within_error"
    # a first session with a copied MVC is no baseline: the next measured one is
    prog = progress([_session(80.0, source="session-previous"),
                     _session(40.0, day="2026-11-27T10:00:00"),
                     _session(44.0, day="2026-12-04T10:00:00")])
    assert _verdicts(prog) == ["not_measured", "first", "within_error"]


def test_metrics_without_a_source_figure_are_not_judged():
    changes = _pair(64.0).rows[-1]["changes"]
    for key in ("best_hold_s", "quick_count", "fatigue_ratio"):
        assert changes[key]["mdc_pct"] is None and changes[key]["mdc_abs"] is None
        assert changes[key]["vs_first"]["verdict"] in ("no_figure", "missing")
        assert changes[key]["trend"]["verdict"] == "no_figure"
    assert changes["best_hold_s"]["vs_first"]["verdict"] == "no_figure"  # 5 s and 5 s


def test_only_sessions_of_the_same_protocol_are_compared():
    other = _session(80.0, day="2026-11-25T10:00:00")
    other["protocol"] = "a3-quick"
    prog = progress([_session(40.0), other, _session(44.0, day="2026-11-27T10:00:00")])
    assert prog.rows[1]["changes"]["mvc"]["vs_first"]["verdict"] == "first"
    assert _mvc(prog)["compared_with"] == prog.rows[0]["date"]
    assert _mvc(prog, "vs_previous")["compared_with"] == prog.rows[0]["date"]
    assert _mvc(prog)["verdict"] == "within_error"


def test_json_carries_the_judgement_per_metric():
    doc = json.loads(to_json(_six([20, 26, 32, 38, 44, 50])))
    last = doc["sessions"][-1]
    assert last["device"] == "BITalino" and last["rest"] == 2.0
    assert set(last["changes"]) == {m.key for m in change.METRICS}
    mvc = last["changes"]["mvc"]
    assert mvc["vs_first"]["verdict"] == "improved" and mvc["vs_first"]["change_pct"] == 150.0
    assert mvc["vs_previous"]["verdict"] == "within_error"
    assert mvc["trend"]["verdict"] == "improving" and mvc["trend"]["ci"] == [6.0, 6.0]
    assert mvc["trend"]["per"] == "week" and mvc["trend"]["since"] == doc["sessions"][0]["date"]


# --- six sessions: known truth --------------------------------------------------------------
def test_six_sessions_of_steady_gain():
    """20 -> 50 µV in equal steps (+150 %): each step is within the 21 % (from the 4th on),
    but the gain against the first session and the trend are real."""
    prog = _six([20, 26, 32, 38, 44, 50])
    assert _verdicts(prog) == ["first"] + ["improved"] * 5  # +30 % already at the 2nd
    assert _verdicts(prog, which="vs_previous") == ["first", "improved", "improved",
                                                    "within_error", "within_error",
                                                    "within_error"]
    assert _trends(prog) == ["too_few", "too_few"] + ["improving"] * 4
    last = prog.rows[-1]["changes"]["mvc"]["trend"]
    assert last["shape"] == "steady" and last["slope"] == pytest.approx(6.0)  # µV a week
    assert last["ci"][0] > 0 and last["fitted_change_pct"] == pytest.approx(150.0)


def test_the_trend_is_per_session_when_sessions_share_a_day():
    prog = _six([20, 26, 32, 38, 44, 50], days=0)
    assert prog.rows[-1]["changes"]["mvc"]["trend"]["per"] == "session"
    assert prog.rows[-1]["changes"]["mvc"]["trend"]["slope"] == pytest.approx(6.0)


@pytest.mark.parametrize("seed", range(20))
def test_six_sessions_of_noise_only(seed):
    """40 ± 3 µV at random: never a real change, never a trend, never a step."""
    rng = np.random.default_rng(seed)
    prog = _six([round(40 + rng.uniform(-3, 3), 1) for _ in range(6)])
    assert set(_verdicts(prog)[1:]) == {"within_error"}
    assert set(_verdicts(prog, which="vs_previous")[1:]) == {"within_error"}
    assert set(_trends(prog)[2:]) == {"no_trend"}


def test_six_sessions_with_one_jump():
    """20, 21, 20, then 40, 41, 40 µV: improved against the first from the jump on, one
    improved step against the previous one, and the trend is that one step (seen once two
    sessions confirm it)."""
    prog = _six([20, 21, 20, 40, 41, 40])
    assert _verdicts(prog) == ["first", "within_error", "within_error", "improved",
                               "improved", "improved"]
    assert _verdicts(prog, which="vs_previous") == ["first", "within_error", "within_error",
                                                    "improved", "within_error",
                                                    "within_error"]
    assert _trends(prog) == ["too_few", "too_few", "no_trend", "no_trend", "improving",
                             "improving"]
    last = prog.rows[-1]["changes"]["mvc"]["trend"]
    assert last["shape"] == "step" and last["step_date"] == prog.rows[3]["date"]
    # a steady gain is never called a step, a step never steady
    steady = _six([20, 26, 32, 38, 44, 50]).rows[-1]["changes"]["mvc"]["trend"]
    assert steady["shape"] == "steady" and steady["step_date"] is None


def test_one_jump_down_is_a_decline():
    prog = _six([40, 41, 40, 20, 21, 20])
    assert _verdicts(prog)[3:] == ["declined"] * 3
    assert _trends(prog)[-1] == "declining"


def test_rest_unchanged_in_uV_is_within_error_whatever_the_pct_mvc():
    """Issue 21: an unchanged rest read "echte achteruitgang (+1683 %)" as a % of a % MVC near
    0. Rest is judged in µV on the same device: 3.0 ± 0.2 µV is within error."""
    rests = [3.0, 3.2, 2.8, 3.1, 2.9, 3.0]
    sessions = [_session(40.0, tone=t, day=_day(k), rest=r)
                for k, (r, t) in enumerate(zip(rests, (0.1, 1.8, -0.02, 0.5, 0.05, 1.7),
                                               strict=True))]
    prog = progress(sessions)
    assert _verdicts(prog, "rest") == ["first"] + ["within_error"] * 5
    assert _trends(prog, "rest")[2:] == ["no_trend"] * 4
    for row in prog.rows[1:]:
        rest = row["changes"]["rest"]
        assert rest["unit"] == "uV" and abs(rest["vs_first"]["change"]) <= 0.2 + 1e-9
        assert rest["mdc_pct"] == 43.8 and rest["mdc_floor_uV"] == 1.0
    for lang in ("nl", "en"):
        shown = tables.format_progress("P-042", prog, lang)
        assert "1683" not in shown and "+1,7" not in shown and "+1.7" not in shown


def test_rest_in_uV_needs_43_8_percent_and_one_uV():
    def rest(before, after):
        return progress([_session(40.0, rest=before),
                         _session(40.0, rest=after, day="2026-11-27T10:00:00")]
                        ).rows[-1]["changes"]["rest"]["vs_first"]

    assert rest(2.0, 4.0)["verdict"] == "declined"  # +100 %, +2 µV: more tense
    assert rest(6.0, 3.0)["verdict"] == "improved"  # -50 %, -3 µV: more relaxed
    assert rest(1.0, 1.9)["verdict"] == "within_error"  # +90 % but 0.9 µV: the noise floor
    assert rest(4.0, 5.5)["verdict"] == "within_error"  # +1.5 µV but 37.5 %


def test_pressure_gets_absolute_mdcs_in_cmH2O():
    """Tennfjord 2017: rest 8.7 cmH2O, strength (squeeze above rest) 7.6 cmH2O."""
    def last(mvc_after, rest_after):
        prog = progress([_session(40.0, unit="cmH2O", rest=10.0),
                         _session(mvc_after, unit="cmH2O", rest=rest_after,
                                  day="2026-11-27T10:00:00")])
        return prog.rows[-1]["changes"]

    got = last(45.0, 10.0)["mvc"]
    assert got["mdc_abs"] == 7.6 and got["value"] == 35.0
    assert got["vs_first"]["verdict"] == "within_error" and got["vs_first"]["change"] == 5.0
    assert last(48.0, 10.0)["mvc"]["vs_first"]["verdict"] == "improved"  # +8 > 7.6
    assert last(48.0, 18.0)["mvc"]["vs_first"]["verdict"] == "within_error"  # rest rose too
    rest = last(40.0, 18.0)["rest"]
    assert rest["mdc_abs"] == 8.7 and rest["vs_first"]["verdict"] == "within_error"  # +8
    # resting pressure is tone as much as over-activity: a real rise, not better or worse
    assert last(40.0, 19.0)["rest"]["vs_first"]["verdict"] == "higher"
    assert last(40.0, 0.5)["rest"]["vs_first"]["verdict"] == "lower"
    prog = _six([40.0] * 6, rests=[10.0, 14.0, 18.0, 22.0, 26.0, 30.0], unit="cmH2O")
    assert _trends(prog, "rest")[-1] == "rising"
    assert _trends(prog, "mvc")[-1] == "declining"  # the squeeze above rest fell by 20


# --- the function a benchmark calls ---------------------------------------------------------
def test_trend_function_gives_a_typed_verdict_slope_and_interval():
    steady = change.trend([20, 26, 32, 38, 44, 50], "mvc", "uV")
    assert isinstance(steady, change.Trend)
    assert (steady.verdict, steady.shape, steady.per) == ("improving", "steady", "session")
    assert steady.slope == pytest.approx(6.0) and steady.ci == (6.0, 6.0)
    assert change.trend([41, 38, 43, 39, 42, 40], "mvc", "uV").verdict == "no_trend"
    jump = change.trend([20, 21, 20, 40, 41, 40], "mvc", "uV")
    assert (jump.verdict, jump.shape, jump.step_at) == ("improving", "step", 3)
    assert jump.ci[0] > 0  # the line's interval excludes 0 too: both rules agree here
    assert change.trend([3.0, 3.2, 2.8, 3.1, 2.9, 3.0], "rest", "uV").verdict == "no_trend"
    assert change.trend([20, 26], "mvc", "uV").verdict == "too_few"
    assert change.trend([1, 2, 3], "best_hold_s", "s").verdict == "no_figure"
    weekly = change.trend([20, 26, 32], "mvc", "uV", days=[0, 14, 28])
    assert weekly.per == "week" and weekly.slope == pytest.approx(3.0)
    # a slope whose interval excludes 0 but whose change over the span is within the MDC
    small = change.trend([40.0, 40.5, 41.0, 41.5, 42.0, 42.5], "mvc", "uV")
    assert small.ci[0] > 0 and small.verdict == "no_trend"  # +6 % < 21 %


def test_series_helper_matches_the_progress_table():
    got = change.series([20, 21, 20, 40, 41, 40], "mvc", "uV", days=[0, 7, 14, 21, 28, 35])
    assert [g["vs_first"]["verdict"] for g in got][3:] == ["improved"] * 3
    assert got[-1]["trend"]["verdict"] == "improving" and got[-1]["trend"]["shape"] == "step"


# --- words ----------------------------------------------------------------------------------
WORDS = {
    "nl": ("echte verbetering (+60 %)", "binnen de meetfout (+10 %)", "beginmeting",
           "echte achteruitgang (-60 %)"),
    "en": ("real improvement (+60 %)", "within measurement error (+10 %)", "baseline",
           "real decline (-60 %)"),
}
SIX = {
    "nl": ("gaat vooruit, gestaag (+6,0 µV per week)", "gaat vooruit, in één sprong",
           "geen trend: binnen de meetfout", "binnen de meetfout (+0,2 µV)"),
    "en": ("improving, steadily (+6.0 µV a week)", "improving, in one step",
           "no trend: within measurement error", "within measurement error (+0.2 µV)"),
}


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_table_and_report_say_it_in_both_languages(lang):
    cases = [_pair(64.0), _pair(44.0), _pair(80.0, device_after="NeuroTrac"), _pair(16.0)]
    check = dutch_problems if lang == "nl" else english_problems
    for prog, words in zip(cases, WORDS[lang], strict=True):
        table = tables.format_progress("P-042", prog, lang)
        report = progress_report("P-042", prog, lang)
        assert words in table and words in report
        visible = page_text(report)
        assert not check(table), check(table)
        assert not check(visible), check(visible)
    report = progress_report("P-042", cases[0], lang)
    assert ("21 %" in report and "43,8 %" in report and "7,6 cmH₂O" in report) \
        if lang == "nl" else ("21 %" in report and "43.8 %" in report
                              and "7.6 cmH₂O" in report)


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_table_tells_steady_gain_noise_and_one_jump_apart(lang):
    steady, jump = _six([20, 26, 32, 38, 44, 50]), _six([20, 21, 20, 40, 41, 40])
    noise = _six([41, 38, 43, 39, 42, 40], rests=[3.0, 3.2, 3.0, 3.1, 2.9, 3.2])
    shown = [tables.format_progress("P-042", p, lang).splitlines() for p in
             (steady, jump, noise)]
    check = dutch_problems if lang == "nl" else english_problems
    last = [lines[7] for lines in shown]  # the header, then six sessions
    assert SIX[lang][0] in last[0] and SIX[lang][1] in last[1] and SIX[lang][2] in last[2]
    assert SIX[lang][3] in last[2]  # rest +0.2 µV against the first
    assert len(set(last)) == 3
    for lines, prog in zip(shown, (steady, jump, noise), strict=True):
        assert not check("\n".join(lines)), check("\n".join(lines))
        visible = page_text(progress_report("P-042", prog, lang))
        assert not check(visible), check(visible)
