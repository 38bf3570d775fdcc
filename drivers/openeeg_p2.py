"""OpenEEG ModularEEG P2 packets (Olimex SHIELD-EKG-EMG, EKG-EMG-PA, ModularEEG).

17 bytes: A5 5A 02 counter ch1..ch6 (big-endian 10-bit) switches; 57600 baud, one-way, about
250-257 Hz (the Olimex demo 250 Hz, the AVR firmware 257.1 Hz). The µV scale depends on the
board's gain trimmer and reference voltage, so it is a per-device calibration
(``P2Calibration``), not a constant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from bbfeedback.drivers.framing import FixedFrameParser

FRAME_LEN = 17
SYNC = (0xA5, 0x5A, 0x02)
BAUD = 57600


@dataclass(frozen=True)
class P2Calibration:
    """µV = (count - midpoint) * vref / 2^bits / gain * 1e6.

    Defaults: Olimex SHIELD-EKG-EMG gain 10 x 80 x 3.56 = 2848 (trimmer mid-range), 3.3 V
    reference. Measure your board with its CAL square wave and set these.
    """

    gain: float = 2848.0
    vref_v: float = 3.3
    bits: int = 10

    @property
    def uv_per_count(self) -> float:
        return self.vref_v / 2**self.bits / self.gain * 1e6

    @property
    def midpoint(self) -> int:
        return 2 ** (self.bits - 1)


class P2Parser(FixedFrameParser):
    frame_len = FRAME_LEN
    seq_modulo = 256
    lock_frames = 1  # A5 5A 02 cannot occur inside a packet (10-bit data, switches <= 0x0F)

    def __init__(self, channels: int = 2, calibration: P2Calibration | None = None):
        super().__init__()
        self.n_channels = channels
        self.calibration = calibration or P2Calibration()

    def valid(self, f: np.ndarray) -> np.ndarray:
        return ((f[:, 0] == SYNC[0]) & (f[:, 1] == SYNC[1]) & (f[:, 2] == SYNC[2])
                & (f[:, 4:16:2] <= 3).all(axis=1) & (f[:, 16] <= 0x0F))

    def sequence(self, f: np.ndarray) -> np.ndarray:
        return f[:, 3].astype(int)

    def counts(self, f: np.ndarray) -> np.ndarray:
        hi = f[:, 4:4 + 2 * self.n_channels:2].astype(int)
        lo = f[:, 5:5 + 2 * self.n_channels:2].astype(int)
        return hi * 256 + lo

    def to_physical(self, counts: np.ndarray) -> np.ndarray:
        cal = self.calibration
        return (counts - cal.midpoint) * cal.uv_per_count


def encode(counts: np.ndarray, first_counter: int = 0, switches: int = 0x0F) -> list[bytes]:
    """Packets for rows of 10-bit counts (up to 6 channels; missing ones sent as midpoint)."""
    counts = np.clip(np.asarray(counts, int), 0, 1023)
    out = []
    for k, row in enumerate(counts):
        ch = list(row) + [512] * (6 - len(row))
        body = b"".join(bytes((c >> 8, c & 0xFF)) for c in ch)
        out.append(bytes((*SYNC, (first_counter + k) % 256)) + body + bytes((switches,)))
    return out


def from_physical(values_uV: np.ndarray, calibration: P2Calibration | None = None) -> np.ndarray:
    cal = calibration or P2Calibration()
    return np.round(np.asarray(values_uV) / cal.uv_per_count + cal.midpoint).astype(int)
