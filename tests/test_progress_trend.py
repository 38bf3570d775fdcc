"""The trend of a metric over sessions (``app/change.py``, ``trend``): its slope and 95 %
interval are scipy's, a step is told from a steady gain, and a long history stays quick."""

import time
from datetime import datetime, timedelta

import numpy as np
import pytest
from scipy import stats
from test_progress_noise import _session

from bbfeedback.app import change
from bbfeedback.app.history import progress


@pytest.mark.parametrize("seed", range(10))
def test_slope_and_interval_are_those_of_linregress(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 30))
    days = np.sort(rng.uniform(0, 90, n))
    y = 30 + 0.2 * days + rng.normal(0, 3, n)
    got = change.trend(list(y), "mvc", "uV", list(days))
    fit = stats.linregress(days, y)
    t = stats.t.ppf(0.975, n - 2)
    assert got.per == "week" and got.n == n
    assert got.slope == pytest.approx(7 * fit.slope, abs=1e-4)
    assert got.ci[0] == pytest.approx(7 * (fit.slope - t * fit.stderr), abs=1e-4)
    assert got.ci[1] == pytest.approx(7 * (fit.slope + t * fit.stderr), abs=1e-4)
    real = got.ci[0] > 0 or got.ci[1] < 0
    if got.verdict == "improving" and got.shape == "steady":
        assert real and got.fitted_change_pct > 21.0


def test_a_step_in_noisy_runs_and_a_slow_steady_gain():
    assert change.trend([40, 38, 43, 60, 62, 58], "mvc", "uV").shape == "step"
    slow = change.trend([20 + k for k in range(10)], "mvc", "uV")  # each step 3-5 %
    assert (slow.verdict, slow.shape) == ("improving", "steady")
    # one high session at the end is not yet a step (two sessions must confirm it)
    assert change.trend([20, 21, 20, 21, 40], "mvc", "uV").shape != "step"
    # rest: 1 µV more is a real decline only beyond 43.8 % as well
    assert change.trend([2.0, 2.1, 1.9, 3.5, 3.6, 3.4], "rest", "uV").verdict == "declining"
    assert change.trend([5.0, 5.1, 4.9, 6.2, 6.1, 6.3], "rest", "uV").verdict == "no_trend"


def test_a_rest_level_that_could_not_be_measured_is_no_baseline():
    first = _session(40.0, rest=float("nan"))
    later = [_session(40.0, rest=r, day=f"2026-11-2{d}T10:00:00")
             for d, r in ((1, 3.0), (2, 3.1))]
    rows = progress([first, *later]).rows
    assert [r["changes"]["rest"]["vs_first"]["verdict"] for r in rows] == [
        "missing", "first", "within_error"]


def test_a_long_history_stays_quick():
    start = datetime(2026, 1, 1, 8, 0)
    rng = np.random.default_rng(1)
    sessions = [_session(float(40 + rng.uniform(-3, 3)), rest=float(3 + rng.uniform(-.2, .2)),
                         day=(start + timedelta(hours=4 * k)).isoformat(timespec="seconds"))
                for k in range(400)]
    t0 = time.perf_counter()
    prog = progress(sessions)
    assert time.perf_counter() - t0 < 10.0
    assert prog.rows[-1]["changes"]["mvc"]["trend"]["verdict"] == "no_trend"
    assert prog.rows[-1]["changes"]["rest"]["vs_first"]["verdict"] == "within_error"
