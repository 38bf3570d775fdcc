"""OpenBCI Cyton through its USB dongle: 33-byte packets at 250 Hz, 115200 baud.

A0 | sample number | 8 x int24 big-endian | 6 aux bytes | footer C0..C6. Scale
4.5 V / gain / (2^23 - 1) (0.02235 µV per count at the default gain 24). Commands: ``v``
soft reset (banner ending in ``$$$``), ``d`` default channel settings, ``b`` start, ``s`` stop.
"""

from __future__ import annotations

import numpy as np
from bbfeedback.drivers.framing import FixedFrameParser

FRAME_LEN = 33
HEADER = 0xA0
BAUD = 115200
FS_HZ = 250.0
START, STOP, RESET, DEFAULTS = b"b", b"s", b"v", b"d"
BANNER = b"OpenBCI V3 8-16 channel\nADS1299 Device ID: 0x3E\nFirmware: v3.1.2\n$$$"


def uv_per_count(gain: float = 24.0) -> float:
    return 4.5 / gain / (2**23 - 1) * 1e6


class CytonParser(FixedFrameParser):
    frame_len = FRAME_LEN
    seq_modulo = 256
    lock_frames = 2  # A0 is common inside data: lock on header+footer of two frames in a row

    def __init__(self, channels: int = 2, gain: float = 24.0):
        super().__init__()
        self.n_channels = channels
        self.scale = uv_per_count(gain)

    def valid(self, f: np.ndarray) -> np.ndarray:
        return (f[:, 0] == HEADER) & ((f[:, 32] & 0xF0) == 0xC0) & ((f[:, 32] & 0x0F) <= 6)

    def sequence(self, f: np.ndarray) -> np.ndarray:
        return f[:, 1].astype(int)

    def _chained(self, buf: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        return np.ones(offsets.size, bool)  # a dropped packet must not delay the lock

    def counts(self, f: np.ndarray) -> np.ndarray:
        b = f[:, 2:2 + 3 * self.n_channels].astype(np.int64).reshape(len(f), -1, 3)
        v = (b[:, :, 0] << 16) | (b[:, :, 1] << 8) | b[:, :, 2]
        return np.where(v >= 1 << 23, v - (1 << 24), v)

    def to_physical(self, counts: np.ndarray) -> np.ndarray:
        return counts * self.scale


def encode(counts: np.ndarray, first_sample: int = 0) -> list[bytes]:
    """Packets for rows of int24 counts (up to 8 channels, missing ones 0), footer C0."""
    counts = np.asarray(counts, np.int64)
    out = []
    for k, row in enumerate(counts):
        ch = list(row) + [0] * (8 - len(row))
        body = b"".join((int(c) & 0xFFFFFF).to_bytes(3, "big") for c in ch)
        out.append(bytes((HEADER, (first_sample + k) % 256)) + body + bytes(6) + b"\xC0")
    return out


def from_physical(values_uV: np.ndarray, gain: float = 24.0) -> np.ndarray:
    limit = 2**23 - 1
    return np.clip(np.round(np.asarray(values_uV) / uv_per_count(gain)), -limit, limit)
