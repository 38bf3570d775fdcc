"""One calibration per visit: exercises done in one visit share its MVC.

Every protocol starts with a rest and (``max``) three maximal squeezes, so four exercises in
one visit would cost twelve maximal squeezes, and after a total rupture leaflet B asks for no
maximal ones at all. When the therapist leaves the calibration to the protocol, a session
reuses the MVC measured earlier in the same visit: the same patient, on the same device,
within ``VISIT_S`` of that session's start. The rest is measured again (10 s: the posture may
have changed), the MVC is copied (source ``session-visit``: progress does not count it as a
new measurement). The therapist can still choose another mode (``max`` to measure again,
``previous`` for the last session's MVC, ``none`` for µV only).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bbfeedback.app.change import device_name
from bbfeedback.app.history import History, session_calibrations
from bbfeedback.detect.calibration import Calibration
from bbfeedback.errors import InputError

# a clinic visit is 30-60 min, a home set a few minutes; two hours keeps one visit together
# and never joins two home sets of a morning and an afternoon (leaflet A: 4-6 sets a day)
VISIT_S = 2 * 3600.0
MEASURED = ("session", "session-gentle")  # an MVC squeezed for in that session


def visit_calibration(sessions: list[dict], device: str | None,
                      now: datetime | None = None) -> dict[str, Calibration]:
    """The calibration of the patient's latest session in this visit (``sessions`` in time
    order, as ``History.sessions`` gives them) on ``device`` whose MVC was measured then;
    {} when there is none."""
    now = now or datetime.now()
    for s in reversed(sessions):
        try:
            started = datetime.fromisoformat(s["started"])
        except (TypeError, ValueError):
            continue
        if started.tzinfo is not None:
            started = started.astimezone().replace(tzinfo=None)
        if not timedelta(0) <= now - started <= timedelta(seconds=VISIT_S):
            continue
        if device_name(s.get("device")) != device:
            continue
        cals = session_calibrations(s)
        if any(c.mvc is not None and c.source in MEASURED for c in cals.values()):
            return cals
    return {}


def calibration_for(calibration: str | None, patient: str, db: str | None, proto,
                    device: str | None) -> tuple[str | None, dict | None]:
    """The calibration mode and the earlier calibration a session starts with: the
    therapist's choice as given ("previous": the last session's MVC), or, when the protocol's
    own mode is left, this visit's MVC where there is one (mode ``visit``)."""
    from bbfeedback.app.record import previous_calibration_of

    if calibration is None and proto is not None and patient != "X":
        try:
            history = History(db, create=False)  # only read: a missing one is none
        except InputError:
            return None, None  # no history to ask: the protocol's own calibration
        try:
            cals = visit_calibration(history.sessions(patient), device)
        except InputError:
            cals = {}
        finally:
            history.close()
        if cals:
            return "visit", cals
    return calibration, previous_calibration_of(calibration, patient, db, proto, device)
