"""Incremental parsing of fixed-length binary frames: bytes in, samples out, no I/O.

A parser locks on ``lock_frames`` consecutive valid frames, then reads frame after frame at
a fixed stride (vectorised: one numpy check for a whole run of frames). A counter is trusted
only with the frame that carries it: every frame read, locked or locking, must pass its check
and advance the counter by 1..``max_jump`` (line noise that happens to pass a header/footer
check would otherwise bring a random counter: hundreds of samples counted lost that never
were). A frame that fails unlocks the parser and the search for the next lock starts there
(one byte further if the frame was not valid). Nothing raises on bad input: bytes that cannot
start a lock are counted as discarded. Lost frames come from the device's sequence counter.
Invariant: bytes_in = consumed + discarded + buffered.

This suits frames whose check is strong (P2's sync bytes, Cyton's header and footer). A
device with a weak check (BITalino: 4-bit CRC, 4-bit counter) needs more than a valid frame
to believe one: ``bitalino.BitalinoParser`` keeps ``ParserStats``/``Decoded`` and ``_decode``
but decides frame by frame what fits the sequence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MAX_BUFFER = 1 << 16  # never hold more than this many undecided bytes


@dataclass
class ParserStats:
    bytes_in: int = 0
    consumed: int = 0  # bytes of decoded frames
    discarded: int = 0  # bytes skipped while searching for a frame
    frames_ok: int = 0
    lost_frames: int = 0  # from sequence-counter gaps
    resyncs: int = 0


@dataclass
class Decoded:
    """Samples decoded from one feed: physical values, their sequence numbers, and for each
    sample how many frames were lost right before it."""

    values: np.ndarray  # (n, channels)
    seq: np.ndarray  # (n,)
    lost_before: np.ndarray  # (n,)
    raw: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))  # device counts

    @property
    def n(self) -> int:
        return self.values.shape[0]


class FixedFrameParser:
    """Base for devices whose frames all have ``frame_len`` bytes.

    Subclasses give ``frame_len``, ``seq_modulo``, ``n_channels``, ``valid(frames)`` (a bool
    per row of a (m, frame_len) uint8 array), ``sequence(frames)`` and ``counts(frames)``
    (raw ADC counts), and ``to_physical(counts)``.
    """

    frame_len: int = 1
    seq_modulo: int = 256
    lock_frames: int = 2
    continue_lock: bool = True
    max_jump: int = 4
    n_channels: int = 1
    has_counter: bool = True  # the device numbers its frames (losses can be counted)

    def __init__(self) -> None:
        self.stats = ParserStats()
        self._buf = np.empty(0, dtype=np.uint8)
        self._locked = False
        self._last_seq: int | None = None  # of the last decoded frame (for loss counting)
        self._seq_hint: int | None = None  # same, but kept current inside one feed

    # --- per device ------------------------------------------------------------------------
    def valid(self, frames: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def sequence(self, frames: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def counts(self, frames: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def to_physical(self, counts: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    # --- generic ---------------------------------------------------------------------------
    def feed(self, data: bytes) -> Decoded:
        """Parse more bytes; never raises on any input."""
        self.stats.bytes_in += len(data)
        new = np.frombuffer(bytes(data), dtype=np.uint8)
        buf = np.concatenate([self._buf, new]) if self._buf.size else new
        pos, runs = 0, []
        L = self.frame_len
        while True:
            if self._locked:
                n = (buf.size - pos) // L
                if n == 0:
                    break
                frames = buf[pos:pos + n * L].reshape(n, L)
                valid = self.valid(frames)
                seq = self.sequence(frames)
                ok = valid & self._plausible(seq, self._seq_hint)
                good = n if ok.all() else int(np.argmin(ok))
                if good:
                    runs.append(frames[:good])
                    pos += good * L
                    self._seq_hint = int(seq[good - 1])
                if good < n:
                    self._locked = False
                    self.stats.resyncs += 1
                    if not valid[good]:  # a valid frame with a counter jump may start a lock
                        self.stats.discarded += 1
                        pos += 1
                    continue
                break
            found, decided = self._search(buf, pos)
            self.stats.discarded += decided - pos
            pos = decided
            if found is None:
                break
            self._locked = True
            first = buf[found:found + self.frame_len][None, :]
            self._seq_hint = int(self.sequence(first)[0]) - 1  # the lock frame itself continues
        rest = buf[pos:]
        if rest.size > MAX_BUFFER:  # cannot happen with sane frame lengths; stay bounded
            self.stats.discarded += rest.size - MAX_BUFFER
            rest = rest[-MAX_BUFFER:]
        self._buf = rest.copy() if rest.size else rest
        frames = np.concatenate(runs) if runs else np.empty((0, L), np.uint8)
        self.stats.consumed += frames.size
        return self._decode(frames)

    def _search(self, buf: np.ndarray, pos: int) -> tuple[int | None, int]:
        """(first offset >= pos where a lock starts, or None; offset up to which the bytes
        are decided and may be dropped).

        A lock is ``lock_frames`` valid frames in a row, or - when ``continue_lock`` - one
        valid frame whose sequence number continues the last one by at most ``max_jump``
        (so the first packet after line noise is not lost). Offsets that cannot be decided
        with the bytes at hand are kept, so the result does not depend on the split.
        """
        L, k = self.frame_len, self.lock_frames
        last_full = buf.size - L
        if last_full < pos:
            return None, pos
        offs = np.arange(pos, last_full + 1)
        idx = offs[:, None] + np.arange(L)[None, :]
        valid = self.valid(buf[idx])
        accept = np.zeros(offs.size, bool)
        if self.continue_lock and self._seq_hint is not None and valid.any():
            jump = (self.sequence(buf[idx]) - self._seq_hint) % self.seq_modulo
            accept |= valid & (jump >= 1) & (jump <= self.max_jump)
        decidable = offs <= buf.size - k * L
        if decidable.any():
            d = np.flatnonzero(decidable)
            ok = valid[d].copy()
            for j in range(1, k):
                ok &= self.valid(buf[idx[d] + j * L])
            if k > 1 and ok.any():
                ok &= self._chained(buf, offs[d])
                c = np.flatnonzero(ok)  # and every step plausible, whatever _chained allows
                seqs = [self.sequence(buf[idx[d[c]] + j * L]) for j in range(k)]
                for j in range(1, k):
                    ok[c] &= self._plausible(seqs[j], seqs[j - 1])
            accept[d] |= ok
        undecided = valid & ~accept & ~decidable
        hit = np.flatnonzero(accept)
        wait = np.flatnonzero(undecided)
        if hit.size and (not wait.size or hit[0] < wait[0]):
            return int(offs[hit[0]]), int(offs[hit[0]])
        if wait.size:
            return None, int(offs[wait[0]])
        return None, last_full + 1

    def _plausible(self, seq: np.ndarray, before: np.ndarray | int | None) -> np.ndarray:
        """Each counter advances by 1..max_jump from the one before it (``before``: the
        previous counters, or the one before the first when given a scalar)."""
        if before is None:
            return np.ones(seq.size, bool)
        if np.ndim(before) == 0:
            step = np.empty_like(seq)
            step[0] = seq[0] - before
            np.subtract(seq[1:], seq[:-1], out=step[1:])
            step %= self.seq_modulo
        else:
            step = (seq - before) % self.seq_modulo
        return (step >= 1) & (step <= self.max_jump)

    def _chained(self, buf: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Consecutive sequence numbers across the lock frames (when the device has them)."""
        L = self.frame_len
        idx = offsets[:, None] + np.arange(L)[None, :]
        first = self.sequence(buf[idx])
        second = self.sequence(buf[idx + L])
        return (second - first) % self.seq_modulo == 1

    def _decode(self, frames: np.ndarray) -> Decoded:
        m = frames.shape[0]
        if m == 0:
            return Decoded(np.empty((0, self.n_channels)), np.empty(0, int), np.empty(0, int),
                           np.empty((0, self.n_channels)))
        seq = self.sequence(frames).astype(int)
        prev = np.empty_like(seq)
        prev[0] = seq[0] - 1 if self._last_seq is None else self._last_seq
        prev[1:] = seq[:-1]
        lost = (seq - prev - 1) % self.seq_modulo
        self._last_seq = int(seq[-1])
        self.stats.frames_ok += m
        self.stats.lost_frames += int(lost.sum())
        counts = self.counts(frames)
        return Decoded(self.to_physical(counts), seq, lost, counts)

    @property
    def buffered(self) -> int:
        return int(self._buf.size)
