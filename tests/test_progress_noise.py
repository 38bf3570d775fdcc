"""Progress that knows measurement noise (issue 12): a change between two sessions is called
real only when it exceeds the metric's minimal detectable change (``app/change.py``), and
absolute EMG levels are compared only on one device. Known-truth fake sessions."""

import json

import pytest
from test_history_reports import _fake
from test_language import dutch_problems, english_problems, page_text

from bbfeedback.app import change, tables
from bbfeedback.app.history import progress
from bbfeedback.app.report import progress_report, to_json


def _session(mvc, device="BITalino", tone=None, day="2026-11-20T10:00:00", unit="uV"):
    s = _fake("a1-strength", 4, day=day)
    s["calibration"] = {"pfm": {"baseline_mean": 2.0, "baseline_sd": 0.3, "mvc": mvc,
                                "unit": unit, "source": "recorded"}}
    s["device"] = {"name": device, "main": "pfm"} if device else {"main": "pfm"}
    if tone is not None:
        s["summary"]["resting_tone"] = {"pct_mvc": tone, "unit": unit}
    return s


def _pair(mvc_after, device_after="BITalino", tone=(10.0, 10.0), unit="uV"):
    return progress([_session(40.0, tone=tone[0], unit=unit),
                     _session(mvc_after, device_after, tone[1], "2026-11-27T10:00:00",
                              unit)])


def _mvc(prog):
    return prog.rows[-1]["changes"]["mvc"]


def test_the_first_session_is_not_judged():
    assert _pair(44.0).rows[0]["changes"] is None


def test_a_10_percent_mvc_change_is_within_measurement_error():
    for after in (44.0, 36.0):  # +10 % and -10 %
        got = _mvc(_pair(after))
        assert got["verdict"] == "within_error" and abs(got["change_pct"]) == 10.0
        assert got["mdc_pct"] == 21.0


def test_a_60_percent_mvc_change_is_real_either_way():
    up, down = _mvc(_pair(64.0)), _mvc(_pair(16.0))
    assert (up["verdict"], up["change_pct"]) == ("improved", 60.0)
    assert (down["verdict"], down["change_pct"]) == ("declined", -60.0)


def test_the_mdc_edge_and_resting_tone_direction():
    assert _mvc(_pair(48.4))["verdict"] == "within_error"  # +21 %: not beyond the MDC
    assert _mvc(_pair(48.8))["verdict"] == "improved"  # +22 %
    tone = _pair(40.0, tone=(20.0, 10.0)).rows[-1]["changes"]["resting_tone_pct"]
    assert tone["verdict"] == "improved" and tone["change_pct"] == -50.0  # more relaxed
    tone = _pair(40.0, tone=(10.0, 20.0)).rows[-1]["changes"]["resting_tone_pct"]
    assert tone["verdict"] == "declined"
    tone = _pair(40.0, tone=(10.0, 13.0)).rows[-1]["changes"]["resting_tone_pct"]
    assert tone["verdict"] == "within_error"  # +30 % < 43,8 %


def test_another_device_is_not_compared_for_emg_levels():
    changes = _pair(80.0, device_after="NeuroTrac").rows[-1]["changes"]
    assert changes["mvc"]["verdict"] == "other_device"
    assert changes["mvc"]["change_pct"] is None  # not even a number to misread
    assert changes["resting_tone_pct"]["verdict"] == "other_device"
    unknown = _pair(80.0, device_after=None).rows[-1]["changes"]
    assert unknown["mvc"]["verdict"] == "device_unknown"


def test_an_mvc_not_measured_that_session_is_not_judged():
    for source in ("session-previous", "session-gentle"):
        prog = progress([_session(40.0), _session(80.0, day="2026-11-27T10:00:00")])
        assert _mvc(prog)["verdict"] == "improved"
        later = _session(80.0, day="2026-11-27T10:00:00")
        later["calibration"]["pfm"]["source"] = source
        assert _mvc(progress([_session(40.0), later]))["verdict"] == "not_measured"


def test_metrics_without_a_source_figure_are_not_judged():
    changes = _pair(64.0).rows[-1]["changes"]
    for key in ("best_hold_s", "quick_count", "fatigue_ratio"):
        assert changes[key]["mdc_pct"] is None
        assert changes[key]["verdict"] in ("no_figure", "missing")
    assert changes["best_hold_s"]["verdict"] == "no_figure"  # 5 s and 5 s: a value, no MDC
    pressure = _pair(64.0, unit="cmH2O").rows[-1]["changes"]["mvc"]
    assert pressure["verdict"] == "no_figure"  # the MDC is for EMG, not squeeze pressure


def test_only_sessions_of_the_same_protocol_are_compared():
    other = _session(80.0, day="2026-11-25T10:00:00")
    other["protocol"] = "a3-quick"
    prog = progress([_session(40.0), other, _session(44.0, day="2026-11-27T10:00:00")])
    assert prog.rows[1]["changes"] is None
    assert prog.rows[2]["changes"]["mvc"]["compared_with"] == prog.rows[0]["date"]
    assert prog.rows[2]["changes"]["mvc"]["verdict"] == "within_error"


def test_json_carries_the_judgement_per_metric():
    doc = json.loads(to_json(_pair(64.0)))
    last = doc["sessions"][-1]
    assert last["device"] == "BITalino"
    assert last["changes"]["mvc"]["verdict"] == "improved"
    assert set(last["changes"]) == {m.key for m in change.METRICS}


WORDS = {
    "nl": ("echte verbetering (+60 %)", "binnen de meetfout (+10 %)",
           "ander apparaat: niet vergeleken", "echte achteruitgang (-60 %)"),
    "en": ("real improvement (+60 %)", "within measurement error (+10 %)",
           "other device: not compared", "real decline (-60 %)"),
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
    assert ("21 %" in report and "43,8 %" in report) if lang == "nl" else (
        "21 %" in report and "43.8 %" in report)
