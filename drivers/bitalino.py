"""BITalino (r)evolution live frames (firmware BITalino_v5.1): 115200 baud, up to 1000 Hz.

A frame of n channels is the tail of an 8-byte image ending in seq[3:0] | CRC4; channels
1-4 have 10 bits, 5-6 six bits. The weak 4-bit CRC passes a wrong alignment 1 time in 16,
so the parser locks only on 3 frames in a row with consecutive sequence numbers.
EMG transfer function: mV = (ADC / 2^n - 0.5) * 3.3 / 1009 * 1000.
"""

from __future__ import annotations

import numpy as np
from bbfeedback.drivers.framing import FixedFrameParser

BAUD = 115200
FRAME_LEN = {1: 3, 2: 4, 3: 6, 4: 7, 5: 8, 6: 8}
CRC_TABLE = np.array([0, 3, 6, 5, 12, 15, 10, 9, 11, 8, 13, 14, 7, 4, 1, 2], np.uint8)
RATE_CMD = {1: 0x03, 10: 0x43, 100: 0x83, 1000: 0xC3}
STOP = b"\x00"


def start_command(mask: int) -> bytes:
    return bytes(((mask << 2) | 0x01,))


def _byte_table() -> np.ndarray:
    """CRC state after one whole byte: BYTE_TABLE[crc, byte] (two nibble steps in one)."""
    crc = np.arange(16, dtype=np.uint8)[:, None]
    byte = np.arange(256, dtype=np.uint8)[None, :]
    crc = CRC_TABLE[crc] ^ (byte >> 4)
    return CRC_TABLE[crc] ^ (byte & 0x0F)


BYTE_TABLE = _byte_table()


def crc4(frames: np.ndarray) -> np.ndarray:
    """CRC4 (x^4+x+1) of each row, MSB first, the last low nibble taken as zero."""
    crc = np.zeros(frames.shape[0], np.uint8)
    last = frames.shape[1] - 1
    for j in range(last):
        crc = BYTE_TABLE[crc, frames[:, j]]
    return BYTE_TABLE[crc, frames[:, last] & 0xF0]


def _image(frames: np.ndarray) -> np.ndarray:
    """Left-pad frames to the full 8-byte image."""
    img = np.zeros((frames.shape[0], 8), np.int64)
    img[:, 8 - frames.shape[1]:] = frames
    return img


def decode_counts(frames: np.ndarray, n: int) -> np.ndarray:
    b = _image(frames)
    s = [((b[:, 6] & 0x0F) << 6) | (b[:, 5] >> 2),
         ((b[:, 5] & 0x03) << 8) | b[:, 4],
         (b[:, 3] << 2) | (b[:, 2] >> 6),
         ((b[:, 2] & 0x3F) << 4) | (b[:, 1] >> 4),
         ((b[:, 1] & 0x0F) << 2) | (b[:, 0] >> 6),
         b[:, 0] & 0x3F]
    return np.column_stack(s[:n])


def encode(counts: np.ndarray, first_seq: int = 0, digital: int = 0) -> list[bytes]:
    """Frames for rows of counts (channels 1-4: 10 bits, 5-6: 6 bits); ``digital`` holds
    I1 I2 O1 O2 as bits 3..0."""
    counts = np.asarray(counts, np.int64)
    n = counts.shape[1]
    out = []
    for k, row in enumerate(counts):
        s = list(row) + [0] * (6 - n)
        img = [
            ((s[4] & 0x3) << 6) | (s[5] & 0x3F),
            ((s[3] & 0xF) << 4) | ((s[4] >> 2) & 0xF),
            ((s[2] & 0x3) << 6) | ((s[3] >> 4) & 0x3F),
            (s[2] >> 2) & 0xFF,
            s[1] & 0xFF,
            ((s[0] & 0x3F) << 2) | ((s[1] >> 8) & 0x3),
            ((digital & 0xF) << 4) | ((s[0] >> 6) & 0xF),
            ((first_seq + k) % 16) << 4,
        ]
        frame = np.array([img[8 - FRAME_LEN[n]:]], np.uint8)
        frame[0, -1] |= crc4(frame)[0]
        out.append(frame.tobytes())
    return out


def emg_uV(counts: np.ndarray, bits: np.ndarray) -> np.ndarray:
    return (counts / 2.0**bits - 0.5) * 3.3 / 1009 * 1e6


class BitalinoParser(FixedFrameParser):
    seq_modulo = 16
    lock_frames = 3
    continue_lock = False  # a 4-bit CRC and a 4-bit counter are too weak to lock on one frame
    strict_sequence = True  # while locked, a frame must also continue the 4-bit count

    def __init__(self, channels: int = 1):
        super().__init__()
        self.n_channels = channels
        self.frame_len = FRAME_LEN[channels]
        self.bits = np.array([10, 10, 10, 10, 6, 6][:channels], float)

    def valid(self, f: np.ndarray) -> np.ndarray:
        return crc4(f) == (f[:, -1] & 0x0F)

    def sequence(self, f: np.ndarray) -> np.ndarray:
        return (f[:, -1] >> 4).astype(int)

    def _chained(self, buf: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        L = self.frame_len
        idx = offsets[:, None] + np.arange(L)[None, :]
        seqs = [self.sequence(buf[idx + j * L]) for j in range(self.lock_frames)]
        ok = np.ones(offsets.size, bool)
        for a, b in zip(seqs, seqs[1:], strict=False):
            ok &= (b - a) % 16 == 1
        return ok

    def counts(self, f: np.ndarray) -> np.ndarray:
        return decode_counts(f, self.n_channels)

    def to_physical(self, counts: np.ndarray) -> np.ndarray:
        return emg_uV(counts, self.bits)


def from_physical(values_uV: np.ndarray, channels: int) -> np.ndarray:
    bits = np.array([10, 10, 10, 10, 6, 6][:channels], float)
    counts = (np.asarray(values_uV) / 1e6 * 1009 / 3.3 + 0.5) * 2.0**bits
    return np.clip(np.round(counts), 0, 2.0**bits - 1).astype(int)
