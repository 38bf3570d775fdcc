"""Which protocol, calibrations and filters a recording is re-scored with: a bbfeedback
recording says what its session ran (protocol, calibration, notch and RMS window), and
scoring it again as it was run is what makes an analysis equal the live scores."""

from __future__ import annotations

from bbfeedback.detect.calibration import Calibration
from bbfeedback.errors import InputError
from bbfeedback.exercise import protocols
from bbfeedback.exercise.calibrator import NO_MVC_SOURCES
from bbfeedback.exercise.protocols import Protocol
from bbfeedback.recording import Recording, log
from bbfeedback.signal.pipeline import PipelineConfig


def recorded_protocol(recording: Recording) -> str | None:
    """The id of the protocol a bbfeedback recording ran (None: not one of ours)."""
    pid = recording.meta.settings.get("protocol")
    return pid if isinstance(pid, str) else None


def protocol_for(recording: Recording, chosen: str | None, own_channels: bool
                 ) -> Protocol | None:
    """``--protocol`` if given (a warning when the file ran another), else the protocol a
    bbfeedback recording ran (unless channels were chosen), else none (contractions only)."""
    ran = recorded_protocol(recording)
    if chosen is None:
        return recorded_protocol_itself(recording) if ran and not own_channels else None
    proto = protocols.load(chosen)
    if ran and proto.id != ran:
        log.warning("%s: recorded with %s, scored now as %s", recording.path, ran, proto.id)
    return proto


def recorded_protocol_itself(recording: Recording) -> Protocol:
    """The protocol the recorded session ran: as recorded in full (with the therapist's
    changes), else the bundled one its settings name."""
    text = recording.meta.last("protocol")
    if text is not None:
        try:
            return protocols.loads(text, f"{recording.path} (recorded protocol)")
        except InputError as exc:
            recording.warn(f"{exc}; using the protocol its settings name")
    pid = recorded_protocol(recording)
    if pid is None:
        raise InputError("no bbfeedback session in this file (no protocol was recorded): "
                         "choose one", recording.path)
    if pid not in protocols.builtin_ids():  # a name from a file is never opened as a path
        raise InputError(f"recorded with protocol {pid!r}, which is not a bundled one: give "
                         "it with --protocol FILE.toml", recording.path)
    return protocols.load(pid)


def recorded_calibrations(recording: Recording) -> dict[str, Calibration]:
    """The calibration the live session used, as recorded (checked by ``schemas``); a
    channel's without an MVC above rest is not used (scores need one), unless the live session
    scored without one (calibration "none", or "previous" without an MVC): then it is used
    as it was, µV only, so that the file scores as the session did."""
    out = {}
    for name, cal in (recording.meta.last("calibration") or {}).items():
        c = Calibration.from_dict(cal)
        if c.mvc is None and c.source in NO_MVC_SOURCES:
            out[name] = c
            continue
        if c.mvc is None or c.mvc <= c.baseline_mean:
            recording.warn(f"recorded calibration of {name!r} has no MVC above rest; "
                           "calibrating from the signal")
            continue
        out[name] = c
    return out


def recorded_filters(settings: dict, fs_hz: float, where: object
                     ) -> tuple[list[float] | None, float | None]:
    """The notch frequencies and envelope window a recording was made with (checked by
    ``schemas.Settings``), the notch only if it fits this rate (a notch at or above the
    Nyquist frequency is damage: ignored with a warning)."""
    notch, window = settings.get("notch_hz"), settings.get("window_s")
    if notch is not None and not all(f < fs_hz / 2 for f in notch):
        log.warning("%s: recorded notch_hz %.40r does not fit %g Hz; detecting the hum "
                    "instead", where, notch, fs_hz)
        notch = None
    return ([float(f) for f in notch] if notch is not None else None), window


def recorded_if_same_filters(recorded: dict[str, Calibration], notch: list[float] | None,
                             window_s: float | None, config: PipelineConfig,
                             where: object) -> dict[str, Calibration]:
    """The recorded calibration (``recorded``), if this analysis filters as the recording
    did: a baseline and an MVC measured through a 50 Hz notch are no scale for a signal with
    its hum left in (``--mains off``) or with another RMS window."""
    if not recorded:
        return {}
    same = (notch is None or config.notch_hz == notch) and (
        window_s is None or config.window_s == window_s)
    if not same:
        notched = (f"notch at {', '.join(f'{f:g}' for f in config.notch_hz)} Hz"
                   if config.notch_hz else "no notch")
        log.warning("%s: filtered otherwise than when recorded (%s, window %g s): "
                    "calibrating from the signal, not with the recorded calibration", where,
                    notched, config.window_s)
        return {}
    return recorded
