"""Progress that knows measurement noise: is a change between two sessions larger than the
measurement's minimal detectable change (MDC), or within its error?

Pelvic-floor sEMG repeats only moderately well, so a session-to-session difference of 10-20 %
is often noise. Each metric of the progress table has its MDC here as a percentage of the
earlier value, with its source (README, "History and reports"); a metric the sources give no
figure for is not judged (``no_figure``). Absolute EMG levels depend on the device (electrode,
amplifier, noise floor): they are compared only between two sessions on the same device.

Verdicts (JSON codes; the words are in ``texts.CHANGES``): ``improved`` / ``declined`` (the
change exceeds the MDC, in the metric's good or bad direction), ``within_error``,
``other_device`` and ``device_unknown`` (a device-bound metric, not compared),
``not_measured`` (an MVC copied from the previous session or estimated), ``no_figure``
(no MDC in the sources: not judged), ``first`` (no earlier session to compare with),
``missing`` (a value is missing or zero in one of the two sessions).
"""

from __future__ import annotations

from dataclasses import dataclass

# Koenig, Luginbuehl & Radlinger 2017, Ann Phys Rehabil Med 60(6):382-386: PFM EMG at rest and
# at MVC in healthy women, women with weak PFM and with stress urinary incontinence:
# SEM% 7.5-15.7, minimal difference MD% 21.0-43.8. Pereira-Baldon et al. 2020, Neurourol
# Urodyn (doi 10.1002/nau.24332): peak RMS of the PFM-MVC has the lowest SEM and MDC.
KOENIG_2017 = "Koenig 2017 (MD% 21.0-43.8); Pereira-Baldon 2020"


@dataclass(frozen=True)
class Metric:
    key: str  # the progress row's key
    mdc_pct: float | None  # minimal detectable change, % of the earlier value; None: no figure
    higher_is_better: bool
    device_bound: bool  # an EMG level (or a ratio of them): compared on one device only
    source: str


METRICS: tuple[Metric, ...] = (
    # peak RMS at MVC has the lowest error: the low end of Koenig's MD% range
    Metric("mvc", 21.0, True, True, KOENIG_2017),
    # EMG at rest (a few µV, near the device's noise floor) as % of MVC: the error of both
    # levels, so the high end of the range; lower resting tone is better relaxation
    Metric("resting_tone_pct", 43.8, False, True, KOENIG_2017),
    # no MDC for these in the sources (Laycock 2001 gives only inter-examiner r for E, R, F;
    # Oleksy 2021 calls Glazer time measures poorly reliable): not judged
    Metric("best_hold_s", None, True, False, "-"),
    Metric("quick_count", None, True, False, "-"),
    Metric("fatigue_ratio", None, True, False, "-"),
)
BY_KEY = {m.key: m for m in METRICS}
# an MVC not squeezed for in that session (``exercise/calibrator.py``): copied from the
# previous session, estimated from a half squeeze or from the recording, or none: not judged
UNMEASURED_MVC = ("session-previous", "session-gentle", "session-rest", "estimated")


def device_name(session_device: dict | None) -> str | None:
    """A session's device, as the recording named it (its port may change between sessions;
    the device does not)."""
    name = (session_device or {}).get("name")
    return (str(name).strip() or None) if name is not None else None


def judge(metric: str, before: float | None, after: float | None,
          device_before: str | None = None, device_after: str | None = None,
          unit_before: str | None = None, unit_after: str | None = None,
          sources: tuple[str | None, str | None] = (None, None)) -> dict:
    """The verdict on one metric between an earlier and a later session: ``verdict``, the
    change in % of the earlier value (``change_pct``), the ``mdc_pct`` used and its source.
    ``sources``: the two sessions' calibration sources (an MVC not measured is not judged)."""
    m = BY_KEY[metric]
    out: dict = {"verdict": "missing", "change_pct": None, "mdc_pct": m.mdc_pct,
                 "source": m.source}
    if metric == "mvc" and any(src in UNMEASURED_MVC for src in sources):
        out["verdict"] = "not_measured"
        return out
    if m.device_bound:
        if unit_before is None or unit_after is None:  # no calibration: nothing to compare
            return out
        if "uV" not in (unit_before, unit_after):  # the figures are for EMG, not pressure
            out["verdict"] = "no_figure"
            return out
        if device_before is None or device_after is None:
            out["verdict"] = "device_unknown"
            return out
        if device_before != device_after or unit_before != unit_after:
            out["verdict"] = "other_device"
            return out
    if before is None or after is None or before == 0:
        return out
    change = 100.0 * (after - before) / abs(before)
    out["change_pct"] = round(change, 1)
    if m.mdc_pct is None:
        out["verdict"] = "no_figure"
    elif abs(change) <= m.mdc_pct:
        out["verdict"] = "within_error"
    else:
        out["verdict"] = "improved" if (change > 0) == m.higher_is_better else "declined"
    return out


def changes(rows: list[dict]) -> list[dict | None]:
    """Per progress row (in time order), each metric judged against the previous session of
    the same protocol (None for the first one of its protocol). A row needs ``protocol``,
    ``date``, ``device`` (the name, or None), ``unit``, ``mvc_source`` and the metrics' keys."""
    out: list[dict | None] = []
    last: dict[str | None, dict] = {}
    for row in rows:
        prev = last.get(row["protocol"])
        last[row["protocol"]] = row
        if prev is None:
            out.append(None)
            continue
        out.append({m.key: {**judge(m.key, prev.get(m.key), row.get(m.key), prev.get("device"),
                                    row.get("device"), prev.get("unit"), row.get("unit"),
                                    (prev.get("mvc_source"), row.get("mvc_source"))),
                            "compared_with": prev["date"]}
                    for m in METRICS})
    return out
