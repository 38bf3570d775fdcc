"""Opening a live source by name: the simulated sensor or a serial device (driver + port)."""

from __future__ import annotations

from dataclasses import dataclass

from bbfeedback.app.simulated import SimulatedSource
from bbfeedback.drivers import ascii_lines
from bbfeedback.drivers.devices import DeviceSpec, make_device
from bbfeedback.drivers.openeeg_p2 import P2Calibration
from bbfeedback.drivers.serial_transport import DeviceStream
from bbfeedback.errors import InputError
from bbfeedback.signal.blocks import Channel


@dataclass
class LiveSource:
    """A started source with what a recording or a session needs to know about it."""

    stream: object  # DeviceStream | SimulatedSource
    name: str
    fs_hz: float
    channels: tuple[Channel, ...]
    full_scale: dict[str, tuple[float, float]]
    start_s: float | None  # first work cue of a simulated patient (None: starts at once)
    port: str | None = None

    @property
    def ranges(self) -> dict[str, tuple[float, float]]:
        """Each channel's range, as the recorder writes it in the file's header (so a
        session and its file see saturation alike)."""
        return {c.name: self.full_scale.get(c.kind, DEFAULT_RANGE) for c in self.channels}


DEFAULT_RANGE = (-2000.0, 2000.0)  # = the recorder's range for a kind the source does not give
SIM_FULL_SCALE = {"emg": (-2000.0, 2000.0), "pressure": (-100.0, 400.0)}


def device_spec(device: str, rate: float | None = None, columns: str | None = None,
                device_file: str | None = None, p2_gain: float | None = None,
                p2_vref: float | None = None) -> DeviceSpec:
    spec = None
    if device == "ascii":
        if device_file:
            spec = ascii_lines.load_spec(device_file)
        elif columns:
            spec = ascii_lines.AsciiSpec(ascii_lines.parse_columns(columns))
    cal = P2Calibration(p2_gain or P2Calibration.gain, p2_vref or P2Calibration.vref_v)
    return make_device(device, rate, spec, cal)


def open_source(device: str, port: str | None, protocol: object = "a1-strength",
                rate: float | None = None, seed: int = 0, speed: float = 1.0,
                stream: str | None = None, **spec_options) -> LiveSource:
    """``stream``: the LSL stream's name for ``device`` "lsl" (the GUI gives it as ``port``)."""
    if stream and device != "lsl":
        raise InputError("--stream is for --device lsl (the name of an LSL stream)")
    if device == "lsl":
        return _open_lsl(stream or port)
    if device == "sim":
        src = SimulatedSource(protocol, rate or 1000.0, seed=seed, speed=speed)
        return LiveSource(src.start(), "sim", src.fs_hz, src.channels, SIM_FULL_SCALE,
                          src.start_s)
    spec = device_spec(device, rate, **spec_options)
    if not port:
        raise InputError(f"--device {device} needs --port (see: bbfeedback ports)")
    stream = DeviceStream(spec, port).start()
    scale = {"emg": spec.full_scale, "pressure": (-100.0, 400.0)}
    return LiveSource(stream, device, spec.fs_hz, spec.channels, scale, None, port)


def _open_lsl(name: str | None) -> LiveSource:
    """An LSL stream as a device (pylsl is imported only here: other commands start fast)."""
    if not name:
        raise InputError("--device lsl needs --stream NAME (the name of an LSL stream)")
    from bbfeedback.drivers.lsl_inlet import DEFAULT_FULL_SCALE, LslInletSource

    src = LslInletSource(name)
    return LiveSource(src.start(), "lsl", src.fs_hz, src.channels, DEFAULT_FULL_SCALE, None,
                      name)
