"""BITalino (r)evolution live frames (firmware BITalino_v5.1): 115200 baud, up to 1000 Hz.

A frame of n channels is the tail of an 8-byte image ending in seq[3:0] | CRC4; channels
1-4 have 10 bits, 5-6 six bits. The weak 4-bit CRC passes a wrong alignment 1 time in 16 and
the counter has 4 bits, so the parser never emits a frame on its CRC alone (see
``BitalinoParser``). EMG transfer function: mV = (ADC / 2^n - 0.5) * 3.3 / 1009 * 1000.
"""

from __future__ import annotations

import numpy as np
from bbfeedback.drivers.framing import MAX_BUFFER, Decoded, FixedFrameParser

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


# --- parsing -----------------------------------------------------------------------------
# Evidence in bits: a window of noise passes a check of b bits with probability 2^-b. CRC4:
# 4 bits. A link between two frames: the counter step (1: 4 bits, 2..4: 2 bits, more: 0) plus
# the digital nibble I1 I2 O1 O2 unchanged (4 bits: it changes only when a button is pressed
# or the host sets an output).
MAX_STEP = 4  # inside a run of back-to-back frames the counter may advance by 1..4
MAX_GAP = 7  # a frame decided across a gap: at most 7 places between its neighbours, so
# that two windows of noise side by side can never span a whole turn of the counter (their
# steps add up to <= 15) and put the sample clock ahead
ANCHOR_BITS = 24  # a run found by scanning must show this much to be where the stream resumes
ANCHOR_FRAMES = 4  # ... within at most this many frames (plus its link to the last frame)
PENDING_FRAMES = 64  # frames waiting for the next run are dropped after this much noise
MAX_GAP_RUNS = 16  # two-frame runs seen while scanning that may fill the gap before a run


def _link_bits(a: tuple[int, int], b: tuple[int, int]) -> int | None:
    """Evidence that frame b (seq, digital) follows frame a; None when it cannot (same seq)."""
    step = (b[0] - a[0]) % 16
    if step == 0:
        return None
    return (4 if step == 1 else 2 if step <= MAX_STEP else 0) + (4 if a[1] == b[1] else 0)


class BitalinoParser(FixedFrameParser):
    """Frames are emitted only when they validate and fit the sequence, never on the CRC alone.

    - Inside a run (frames back to back) a frame must pass its CRC, advance the counter by
      1..MAX_STEP and keep the digital nibble; it is emitted once two more frames have
      continued the run (noise right after a good frame passes CRC, counter and digital
      nibble 1 time in 2^12; three frames in a row about 1 in 2^30). Latency: two frames
      (2 ms at 1000 Hz); at the end of a stream the last two frames stay buffered.
    - When the run breaks (noise; a counter jump > MAX_STEP; the digital inputs change), its
      last frames wait and the bytes are scanned one by one from just after the first of
      them for where the stream resumes: a run with >= ANCHOR_BITS of evidence (3 frames in a
      row, or 2 that also continue the last frame). Pairs of frames in a row passed on the
      way are kept aside.
    - Then the waiting frames, those pairs and the new run's first frame are emitted as far as
      they fit in order between the good frames around them: back to back with a neighbour,
      the counter between the neighbours' with at most MAX_GAP places there, the digital
      nibble unchanged where noise is next to it, and no other valid frame in the same gap
      claiming that place (a lone frame lost between two bursts of noise would otherwise let
      a window of noise with its counter take its place). A single frame between two bursts
      cannot be told from noise and is lost (counted as lost); so are the frames around a
      gap of more than MAX_GAP places (4 or more frames dropped in a row next to noise or to
      the frames in question).
    - Lost samples are the counter steps minus one (modulo 16). Over a gap where nothing
      could be kept for 16 frames or more a whole turn of the counter is missed: the sample
      clock then falls behind by 16 (never runs ahead).

    What stays possible: a window of noise next to a good frame whose CRC, counter and
    digital nibble happen to fit exactly the place of a frame that never arrived (12 bits of
    check: about 1 in 4000 such places). Measured at 1000 Hz with noise after 30 % of the
    frames and 20 % dropped: about 4 per 40 s, each at its right place on the sample clock.
    The digital inputs should be steady: a change costs nothing in a clean stream, but up to
    two frames next to noise or next to another change within a frame or two (a bouncing
    button); never more invented frames.
    """

    seq_modulo = 16

    def __init__(self, channels: int = 1):
        super().__init__()
        self.n_channels = channels
        self.frame_len = FRAME_LEN[channels]
        self.bits = np.array([10, 10, 10, 10, 6, 6][:channels], float)
        self._prev: tuple[int, int] | None = None  # (seq, digital) of the last emitted frame
        self._prev_end = 0  # buffer offset right after it (negative once dropped)
        self._pending: list[int] = []  # buffer offsets of frames after it, not yet decided
        self._gap_runs: list[int] = []  # offsets of two-frame runs passed while scanning
        self._seen: list[tuple[int, int, int]] = []  # (offset, seq, digital) of valid frames
        # passed while scanning: a frame next to noise whose place in the sequence is also
        # claimed by one of them is not kept (it is the real one or they both are noise)
        self._head_gap = True  # the first pending frame does not follow _prev back to back
        self._in_run = False  # reading frame after frame at _at (else scanning from _scan)
        self._at = 0
        self._scan = 0

    def valid(self, f: np.ndarray) -> np.ndarray:
        return crc4(f) == (f[:, -1] & 0x0F)

    def sequence(self, f: np.ndarray) -> np.ndarray:
        return (f[:, -1] >> 4).astype(int)

    def counts(self, f: np.ndarray) -> np.ndarray:
        return decode_counts(f, self.n_channels)

    def to_physical(self, counts: np.ndarray) -> np.ndarray:
        return emg_uV(counts, self.bits)

    # --- the decision procedure ------------------------------------------------------------
    def feed(self, data: bytes) -> Decoded:
        """Parse more bytes; never raises. The frames emitted do not depend on how the
        stream is split into feeds (a decision waits for the bytes it needs)."""
        self.stats.bytes_in += len(data)
        new = np.frombuffer(bytes(data), dtype=np.uint8)
        buf = np.concatenate([self._buf, new]) if self._buf.size else new
        L = self.frame_len
        self._b, self._ok_all = buf, None
        self._m = max(buf.size - L + 1, 0)  # offsets holding a whole frame
        emitted: list[int] = []
        while True:
            keep = self._run(emitted) if self._in_run else self._search(emitted)
            if keep is not None:
                break
        if buf.size - keep > MAX_BUFFER:  # cannot happen (waiting frames expire): stay bounded
            self._drop_pending()
            self._gap_runs, self._seen = [], []
            keep = buf.size - MAX_BUFFER
            self._scan = max(self._scan, keep)
            self._in_run = False
        frames = (buf[np.asarray(emitted)[:, None] + np.arange(L)] if emitted
                  else np.empty((0, L), np.uint8))
        self.stats.consumed += frames.size
        self.stats.discarded += keep - frames.size
        self._buf = buf[keep:].copy()
        self._pending = [p - keep for p in self._pending]
        self._gap_runs = [p - keep for p in self._gap_runs]
        self._seen = [(o - keep, q, d) for o, q, d in self._seen]
        self._prev_end -= keep
        self._at -= keep
        self._scan -= keep
        return self._decode(frames)

    def _frame(self, p: int) -> tuple[int, int]:
        """(sequence number, digital nibble) of the frame at offset p."""
        b, L = self._b, self.frame_len
        return int(b[p + L - 1]) >> 4, int(b[p + L - 2]) >> 4

    @property
    def _ok(self) -> np.ndarray:
        """CRC check at every offset (computed when scanning)."""
        if self._ok_all is None:
            self._ok_all = (self.valid(np.lib.stride_tricks.sliding_window_view(
                self._b, self.frame_len)) if self._m else np.zeros(0, bool))
        return self._ok_all

    def _keep_from(self, p: int) -> int:
        return min([p, *self._pending[:1], *self._gap_runs[:1]])

    def _fits(self, left: tuple[int, int] | None, left_end: int, f: int, right: int) -> bool:
        """Frame f between ``left`` (emitted, ending at ``left_end``) and the trusted frame
        ``right``: its counter between theirs with at most MAX_GAP places there. Back to back
        with both (no byte of noise around it; dropped frames leave no bytes): the digital
        nibble the same as on one side at least (inputs may change). Noise on one side: back
        to back with the other (counter +1..MAX_STEP) and the same digital nibble all three (a
        window of noise passes CRC and digital nibble 1 time in 256, then lands in the gap
        G/16 of the time)."""
        L = self.frame_len
        fv, rv = self._frame(f), self._frame(right)
        s2 = (rv[0] - fv[0]) % 16
        if left is None:  # start of the stream
            return f + L == right and 1 <= s2 <= MAX_STEP and fv[1] == rv[1]
        s1 = (fv[0] - left[0]) % 16
        if s1 == 0 or s2 == 0 or s1 + s2 - 1 > MAX_GAP:
            return False
        if left_end == f and f + L == right:
            return left[1] == fv[1] or fv[1] == rv[1]
        cl = left_end == f and s1 <= MAX_STEP
        cr = f + L == right and s2 <= MAX_STEP
        return (cl or cr) and left[1] == fv[1] == rv[1]

    def _emit(self, f: int, emitted: list[int]) -> None:
        emitted.append(f)
        self._prev = self._frame(f)
        self._prev_end = f + self.frame_len
        self._head_gap = False

    def _run(self, emitted: list[int]) -> int | None:
        """Read back-to-back frames at _at; returns the offset to keep from when it must
        wait for bytes, None when it switched to scanning."""
        L, pend = self.frame_len, self._pending
        n = (self._b.size - self._at) // L if self._b.size > self._at else 0
        if n:
            frames = self._b[self._at:self._at + n * L].reshape(n, L)
            q, d = (frames[:, -1] >> 4).astype(int), (frames[:, -2] >> 4).astype(int)
            last = self._frame(pend[-1]) if pend else self._prev
            pq = np.concatenate([[last[0]], q[:-1]])
            pd = np.concatenate([[last[1]], d[:-1]])
            step = (q - pq) % 16
            ok = self.valid(frames) & (step >= 1) & (step <= MAX_STEP) & (d == pd)
            good = n if ok.all() else int(np.argmin(ok))
            pend.extend(range(self._at, self._at + good * L, L))
            self._at += good * L
            if self._head_gap and len(pend) >= 3:  # a run's first frame: check it fits
                if self._fits(self._prev, self._prev_end, pend[0], pend[1]):
                    self._emit(pend[0], emitted)
                else:  # the run found is trusted from its second frame on
                    self._emit(pend[1], emitted)
                    pend.pop(0)
                pend.pop(0)
            if len(pend) >= 3:  # inside the run: each frame continues the one before
                emitted.extend(pend[:-2])
                self._emit(pend[-3], [])
                del pend[:-2]
            if good < n:  # the run broke: scan from just after its first undecided frame
                self._in_run = False
                self._scan = pend[0] + 1 if pend else self._at
                self.stats.resyncs += 1
                return None
        return self._keep_from(self._at)

    def _search(self, emitted: list[int]) -> int | None:
        """Scan byte by byte for the next run; None when found (reading the run again)."""
        L = self.frame_len
        for p in (self._scan + np.flatnonzero(self._ok[self._scan:self._m])).tolist():
            self._expire(p)
            found, frames = self._anchor(p)
            if found is None:  # needs more bytes
                self._scan = p
                return self._keep_from(p)
            if found:
                self._in_run, self._at = True, self._resolve(p, emitted) + L
                return None
            if frames == 2:  # two frames in a row, then noise: maybe a short run
                self._gap_runs = [*self._gap_runs, p][-MAX_GAP_RUNS:]
            self._seen.append((p, *self._frame(p)))
        self._scan = max(self._scan, self._m)
        self._expire(self._scan)
        return self._keep_from(self._scan)

    def _expire(self, p: int) -> None:
        """Frames waiting since more than PENDING_FRAMES frames' worth of bytes are dropped."""
        span = PENDING_FRAMES * self.frame_len
        if self._pending and p > self._pending[0] + span:
            self._drop_pending()
        if self._gap_runs and p > self._gap_runs[0] + span:
            self._gap_runs = [g for g in self._gap_runs if p <= g + span]
        if self._seen and p > self._seen[0][0] + span:
            self._seen = [c for c in self._seen if p <= c[0] + span]

    def _anchor(self, p: int) -> tuple[bool | None, int]:
        """Whether the stream resumes at p (None: needs more bytes), and how many frames in
        a row were seen there."""
        L = self.frame_len
        lefts = [self._prev] + ([self._frame(self._pending[-1])]
                                if self._pending and self._pending[-1] + L <= p else [])
        bits = max((_link_bits(a, self._frame(p)) or 0) if a is not None else 0
                   for a in lefts)  # continuing the last frame counts as evidence
        for j in range(ANCHOR_FRAMES):
            o = p + j * L
            if o >= self._m:
                return None, j
            if not self._ok[o]:
                return False, j
            if j:
                a, b = self._frame(o - L), self._frame(o)
                step = (b[0] - a[0]) % 16
                if not 1 <= step <= MAX_STEP or a[1] != b[1]:
                    return False, j
                bits += _link_bits(a, b)
            bits += 4
            if bits >= ANCHOR_BITS:
                return True, j + 1
        return False, ANCHOR_FRAMES

    def _resolve(self, head: int, emitted: list[int]) -> int:
        """Emit the frames that fit between the last emitted frame and the run found at
        ``head`` (as many as possible): the waiting frames and two-frame runs passed while
        scanning. Returns where the new run starts. Its head is one frame after noise like
        the others: when it competes with them for a place in the sequence, the side with
        more frames wins, and on a tie neither is taken (the run then starts with its second
        frame, part of what was found)."""
        L = self.frame_len
        units = [(f,) for f in self._pending if f + L <= head]
        units += [(g, g + L) for g in self._gap_runs if g + 2 * L <= head]
        units.sort()
        # the head and the waiting frames claim places in the sequence like those seen
        self._seen += [(f, *self._frame(f)) for f in [*self._pending, head]]
        with_head = self._best(units, head)
        lo = with_head[-1] + L if with_head else self._prev_end
        head_contested = self._contested(head, lo, head)
        without = self._best(units, head + L)
        if len(without) <= len(with_head) and not head_contested:
            keep, start = with_head, head
        else:
            keep = without if len(without) > len(with_head) + 1 else [
                f for f in with_head if f in without]
            start = head + L
        for f in keep:
            self._emit(f, emitted)
        self._gap_runs, self._seen = [], []
        if start == head:
            self._pending = [head]
            self._head_gap = True
        else:  # the run found is trusted from its second frame on
            self._emit(start, emitted)
            self._pending = []
        return start

    def _best(self, units: list[tuple[int, ...]], right: int) -> list[int]:
        """The most frames, from whole units in order, that fit before the frame ``right``
        (longest path: each frame must fit between the frames chosen around it)."""
        L = self.frame_len
        start = (self._prev, self._prev_end)

        def bound(u: tuple[int, ...]) -> tuple[tuple[int, int], int]:
            return self._frame(u[-1]), u[-1] + L

        def fits(left: tuple, u: tuple[int, ...], nxt: int) -> bool:
            (vals, end), path = left, [*u, nxt]
            for f, r in zip(path, path[1:], strict=False):
                if (f < end or not self._fits(vals, end, f, r)
                        or self._contested(f, end, r)):
                    return False
                vals, end = self._frame(f), f + L
            return True

        # best[(i, j)]: most frames on a path ending ... unit i, unit j (i = -1: the start),
        # every frame before unit j checked
        best: dict[tuple[int, int], tuple[int, tuple[int, int] | None]] = {
            (-1, j): (len(u), None) for j, u in enumerate(units)}
        for k in range(len(units)):
            for j in range(k):
                for i in range(-1, j):
                    got = best.get((i, j))
                    left = start if i < 0 else bound(units[i])
                    if got is None or not fits(left, units[j], units[k][0]):
                        continue
                    n = got[0] + len(units[k])
                    if n > best.get((j, k), (0, None))[0]:
                        best[(j, k)] = (n, (i, j))
        top, at = 0, None
        for (i, j), (n, _) in best.items():
            if n > top and fits(start if i < 0 else bound(units[i]), units[j], right):
                top, at = n, (i, j)
        path: list[int] = []
        while at is not None:
            path[:0] = units[at[1]]
            at = best[at][1]
        return path

    def _contested(self, f: int, lo: int, hi: int) -> bool:
        """Another valid frame in the same gap (bytes lo..hi) claims f's place."""
        L, v = self.frame_len, self._frame(f)
        return any(lo <= o and o + L <= hi and abs(o - f) >= L and (q, d) == v
                   for o, q, d in self._seen)

    def _drop_pending(self) -> None:
        self._pending = []
        self._head_gap = True


def from_physical(values_uV: np.ndarray, channels: int) -> np.ndarray:
    bits = np.array([10, 10, 10, 10, 6, 6][:channels], float)
    counts = (np.asarray(values_uV) / 1e6 * 1009 / 3.3 + 0.5) * 2.0**bits
    return np.clip(np.round(counts), 0, 2.0**bits - 1).astype(int)
