"""The supported devices: baud rate, sample rate, channels, parser, commands, encoder.

A device = transport + parser + the commands it needs. ``encode``/``to_counts`` turn a
physical signal into the exact bytes the device sends (the emulators use them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from bbfeedback.drivers import ascii_lines, bitalino, openbci_cyton, openeeg_p2
from bbfeedback.drivers.names import DEVICE_NAMES
from bbfeedback.drivers.ports import guess_device  # noqa: F401 - re-exported

from bbfeedback.errors import InputError
from bbfeedback.signal.blocks import EMG, Channel

TWO_EMG = (Channel.of_kind("pfm", EMG), Channel.of_kind("abdominal", EMG))


@dataclass(frozen=True)
class DeviceSpec:
    name: str
    baud: int
    fs_hz: float
    channels: tuple[Channel, ...]
    make_parser: Callable[[], object]
    to_counts: Callable[[np.ndarray], np.ndarray]
    encode: Callable[[np.ndarray, int], list[bytes]]
    seq_modulo: int
    start: bytes = b""  # sent after opening (and after every reconnect)
    stop: bytes = b""
    init: tuple[bytes, ...] = ()
    usb_ids: tuple[tuple[int, int | None], ...] = ()
    hints: tuple[str, ...] = field(default_factory=tuple)
    full_scale: tuple[float, float] = (-2000.0, 2000.0)  # for EDF physical range


def make_device(name: str, fs_hz: float | None = None,
                ascii_spec: ascii_lines.AsciiSpec | None = None,
                p2_calibration: openeeg_p2.P2Calibration | None = None) -> DeviceSpec:
    """Spec of a serial device by name (``sim`` has none: it is not a serial device)."""
    if name == "p2":
        cal = p2_calibration or openeeg_p2.P2Calibration()
        span = 512 * cal.uv_per_count
        return DeviceSpec(
            "p2", openeeg_p2.BAUD, fs_hz or 250.0, TWO_EMG,
            lambda: openeeg_p2.P2Parser(2, cal),
            lambda v: openeeg_p2.from_physical(v, cal),
            lambda c, s: openeeg_p2.encode(c, s), 256,
            usb_ids=((0x2341, None), (0x1A86, 0x7523), (0x0403, 0x6001)),
            hints=("olimex", "arduino", "ch340"), full_scale=(-span, span))
    if name == "cyton":
        return DeviceSpec(
            "cyton", openbci_cyton.BAUD, openbci_cyton.FS_HZ, TWO_EMG,
            lambda: openbci_cyton.CytonParser(2), openbci_cyton.from_physical,
            lambda c, s: openbci_cyton.encode(c, s), 256,
            start=openbci_cyton.START, stop=openbci_cyton.STOP,
            init=(openbci_cyton.RESET, openbci_cyton.DEFAULTS),
            usb_ids=((0x0403, 0x6015),), hints=("openbci", "ft231x"),
            full_scale=(-187500.0, 187500.0))
    if name == "bitalino":
        return DeviceSpec(
            "bitalino", bitalino.BAUD, fs_hz or 1000.0, TWO_EMG,
            lambda: bitalino.BitalinoParser(2), lambda v: bitalino.from_physical(v, 2),
            lambda c, s: bitalino.encode(c, s), 16,
            start=bitalino.start_command(0b11), stop=bitalino.STOP,
            init=(bytes((bitalino.RATE_CMD.get(int(fs_hz or 1000), 0xC3),)),),
            hints=("bitalino",), full_scale=(-1700.0, 1700.0))
    if name == "ascii":
        spec = ascii_spec or ascii_lines.DEFAULT_SPEC
        if fs_hz:
            spec = ascii_lines.AsciiSpec(spec.columns, fs_hz, spec.baud, spec.counter,
                                         spec.counter_modulo, spec.name)
        return DeviceSpec(
            "ascii", spec.baud, spec.fs_hz, spec.channels, lambda: ascii_lines.AsciiParser(spec),
            lambda v: ascii_lines.from_physical(v, spec),
            lambda c, s: ascii_lines.encode(c, s, spec), spec.counter_modulo,
            usb_ids=((0x2341, None), (0x1A86, 0x7523), (0x10C4, 0xEA60)),
            hints=("arduino", "ch340", "cp210"),
            full_scale=(-5000.0, 5000.0))
    raise InputError(f"unknown device {name!r} (use one of {', '.join(DEVICE_NAMES)})")


