"""Serial ports and a guess of the device behind each (pyserial's ``list_ports`` only: the
``ports`` command starts without numpy or a parser)."""

from __future__ import annotations

from dataclasses import dataclass

from serial.tools import list_ports


@dataclass
class PortInfo:
    device: str
    description: str
    vid: int | None
    pid: int | None
    serial_number: str | None
    guess: str | None


def list_serial_ports() -> list[PortInfo]:
    out = []
    for p in sorted(list_ports.comports(), key=lambda p: p.device):
        text = f"{p.description} {p.manufacturer or ''} {p.product or ''}"
        out.append(PortInfo(p.device, p.description, p.vid, p.pid, p.serial_number,
                            guess_device(p.vid, p.pid, text)))
    return out


def guess_device(vid: int | None, pid: int | None, text: str) -> str | None:
    """Best guess of the device behind a USB serial port."""
    low = text.lower()
    if "bitalino" in low:
        return "bitalino"
    if (vid, pid) == (0x0403, 0x6015) or "openbci" in low:
        return "cyton"
    if vid in (0x2341, 0x2A03, 0x1A86, 0x10C4) or "arduino" in low or "olimex" in low:
        return "p2 or ascii"
    if vid == 0x0403:
        return "p2 (FTDI adapter)"
    return None
