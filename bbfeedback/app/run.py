"""The one consumer loop: a source's blocks through the session engine to every sink.

``record``, the GUI's worker, replay and offline analysis all call ``run``. Sources hand out
``Block``s and ``Status`` events (``get(timeout)``); the loop puts each block on the sample
clock (a jump of ``start_sample`` is a gap, whatever the source said), lets the sinks admit
it (the recorder quantises it to what the file will hold), runs the session on it and hands
the block and the session's events to every sink, in order, on this thread.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from bbfeedback.drivers.status import Status, StatusKind
from bbfeedback.exercise.result import SessionResult
from bbfeedback.exercise.session import Event, Session
from bbfeedback.signal.blocks import Block, SampleGuard

# statuses after which a source gives no more
ENDING = (StatusKind.STOPPED, StatusKind.ERROR, StatusKind.LOST, StatusKind.SEEK)
# A link that ends this close to ``until_sample`` ended where the caller wanted to stop: the
# device's own end (an emulator of that length, a board switched off on time). Parsers keep
# back a frame or two (BITalino emits a frame once two more followed; the first, perhaps cut,
# line or packet is dropped while locking), so the last samples of a device that stops
# exactly at the limit never come: without this slack a clean run ended "device lost".
END_SLACK_S = 0.01
END_SLACK_SAMPLES = 4


class SinkFailed(Exception):
    """A sink can take no more (the recorder's disk is full): the run ends at once with
    reason ``write-failed``, every sink finished without a result (scores would name samples
    that are not on disk), and the message as the run's last status. The sink itself has
    already made safe what it had written."""


class Sink:
    """Receives what the run loop sees; every call comes from the loop's thread."""

    def admit(self, block: Block) -> Block:
        """The block as this sink will keep it (the recorder: quantised to the file)."""
        return block

    def block(self, block: Block, events: list[Event], session: Session | None) -> None:
        """A block on the sample clock and what the session made of it."""

    def status(self, status: Status) -> None:
        """A connection event (connected, disconnected, reconnected, warning, ...)."""

    def finish(self, session: Session | None, events: list[Event],
               result: SessionResult | None) -> None:
        """The end: the session's last events and its result (None without a protocol)."""


class EndReason(StrEnum):
    """Why a run ended (a StrEnum: equal to its word)."""

    LIMIT = "limit"  # --seconds, or the device's own end at the limit
    ENDED = "ended"  # the protocol's last step is over
    STOPPED = "stopped"  # the source ended (end of a replay, a device's stop)
    ERROR = "error"
    LOST = "lost"  # the device was given up
    SEEK = "seek"  # a replay jumps: another run follows
    STOP_REQUESTED = "stop-requested"  # the user pressed Stop (or SIGTERM)
    INTERRUPTED = "interrupted"  # Ctrl-C
    WRITE_FAILED = "write-failed"  # a sink raised SinkFailed: a full disk


@dataclass
class RunEnd:
    """How a run ended and what it saw."""

    reason: EndReason
    end_sample: int
    lost_samples: int
    disconnects: int
    result: SessionResult | None
    last_status: Status | None = None

    def __post_init__(self) -> None:
        self.reason = EndReason(self.reason)


class Watchdog:
    """No block for ``silent_s`` (wall clock) is a ``silent`` status, said once; none for
    ``give_up_s`` a ``lost`` one, which ends the run. Only for live sources: a paused replay
    is quiet on purpose."""

    def __init__(self, name: str, silent_s: float = 3.0, give_up_s: float | None = None):
        self.name = name
        self.silent_s = silent_s
        self.give_up_s = give_up_s
        self._last = time.monotonic()
        self._said = False

    def check(self, item: Block | Status | None) -> Block | Status | None:
        now = time.monotonic()
        if isinstance(item, Block):
            self._last, self._said = now, False
            return item
        if item is not None:
            return item
        quiet = now - self._last
        if self.give_up_s is not None and quiet >= self.give_up_s:
            return Status(StatusKind.LOST, f"{self.name}: no data for {quiet:.0f} s; device lost")
        if quiet >= self.silent_s and not self._said:
            self._said = True
            return Status(StatusKind.SILENT, f"{self.name}: no data for {self.silent_s:g} s")
        return None


class BlockList:
    """A finished list of blocks as a source (offline analysis, reports)."""

    def __init__(self, blocks: Iterable[Block]):
        self._blocks = iter(blocks)

    def get(self, timeout: float | None = None) -> Block | Status:
        block = next(self._blocks, None)
        return Status(StatusKind.STOPPED, "end of recording") if block is None else block


def on_clock(block: Block, expected: int) -> Block | None:
    """The block with ``lost_before`` equal to its jump past ``expected`` (the sample clock
    is the truth); samples before ``expected`` (a repeat) are cut; an all-repeat or empty
    block is None (a jump it carried shows again at the next block)."""
    if block.end_sample <= expected or block.n_samples == 0:
        return None
    if block.start_sample < expected:
        cut = expected - block.start_sample
        return Block(block.data[cut:], block.fs_hz, block.channels, expected, 0, block.meta)
    jump = block.start_sample - expected
    if jump != block.lost_before:
        return dataclasses.replace(block, lost_before=jump)
    return block


def run(source, session: Session | None, sinks: list[Sink], *, until_sample: int | None = None,
        stop: threading.Event | None = None, first_sample: int = 0,
        finish: bool = True, watchdog: Watchdog | None = None,
        drain_on_stop: bool = False, until_ended: bool = False) -> RunEnd:
    """Consume ``source`` until it ends, ``until_sample`` is reached or ``stop`` is set;
    with ``until_ended`` (a live session) also when the session's protocol has ended
    (``Session.ended``: its last step is over, however long its as-long-as-possible holds
    took); then finish the session and the sinks (also on Ctrl-C). A ``seek`` (replay) or
    ``finish=False`` leaves both open: the caller goes on with another run. A ``watchdog``
    (live sources) names a silent link and, if it allows, gives up on it (reason ``lost``).
    ``drain_on_stop``: what the source already holds when ``stop`` is set is taken too (for
    at most a second): a recording stopped by the user keeps every sample received."""
    expected, lost, disconnects = first_sample, 0, 0
    reason, last = EndReason.STOPPED, None
    fs_hz: float | None = None  # the source's rate, once a block showed it
    draining_until: float | None = None
    guard = SampleGuard()
    try:
        while True:
            if stop is not None and stop.is_set() and draining_until is None:
                reason = EndReason.STOP_REQUESTED
                if not drain_on_stop:
                    break
                draining_until = time.monotonic() + 1.0
            item = source.get(timeout=0.05 if draining_until is None else 0)
            if draining_until is not None and (item is None or time.monotonic() > draining_until):
                break
            if watchdog is not None:
                item = watchdog.check(item)
            if item is None:
                continue
            if not isinstance(item, Block):
                if _ended_at_limit(item, expected, until_sample, fs_hz):
                    reason = EndReason.LIMIT  # the device's own end: no disconnect to report
                    break
                last = item
                disconnects += item.kind == StatusKind.DISCONNECTED
                for s in sinks:
                    s.status(item)
                if item.kind in ENDING:
                    reason = EndReason(item.kind)
                    break
                continue
            block = on_clock(item, expected)
            if block is None:
                continue
            fs_hz = block.fs_hz
            if until_sample is not None:  # exactly up to the limit, never a fill beyond it
                if block.start_sample >= until_sample:  # lost up to the limit, and past it:
                    block = Block(block.data[:0], block.fs_hz, block.channels, until_sample,
                                  until_sample - expected, block.meta)  # a gap to the limit
                else:
                    block = block.head(until_sample - block.start_sample)
            block = _guarded(guard, block, sinks)
            for s in sinks:
                block = s.admit(block)
            lost += block.lost_before
            expected = block.end_sample
            events = session.process(block) if session is not None else []
            for s in sinks:
                s.block(block, events, session)
            if until_sample is not None and expected >= until_sample:
                reason = EndReason.LIMIT
                break
            if until_ended and session is not None and session.ended:
                reason = EndReason.ENDED
                break
    except KeyboardInterrupt:
        reason = EndReason.INTERRUPTED
    except SinkFailed as exc:  # the sinks are told why, then closed without a result
        failed = Status(StatusKind.ERROR, str(exc), expected)
        for s in sinks:
            try:
                s.status(failed)
            except Exception:  # noqa: BLE001 - the failure is the one to show
                pass
        _close_after_crash(sinks)
        return RunEnd(EndReason.WRITE_FAILED, expected, lost, disconnects, None, failed)
    except Exception:  # a bug: the sinks still close (the recording is saved), then it shows
        _close_after_crash(sinks)
        raise
    if draining_until is not None and reason not in (EndReason.LIMIT, EndReason.ENDED,
                                           EndReason.INTERRUPTED):
        reason = EndReason.STOP_REQUESTED  # whatever the drain met, the user stopped it
    if reason == EndReason.SEEK or not finish:
        return RunEnd(reason, expected, lost, disconnects, None, last)
    events = session.finish() if session is not None else []
    result = session.scored() if session is not None and session.calibrated() else None
    for s in sinks:
        s.finish(session, events, result)
    return RunEnd(reason, expected, lost, disconnects, result, last)


def _ended_at_limit(item: Status, expected: int, until_sample: int | None,
                    fs_hz: float | None) -> bool:
    """Whether a link that went away (or ended) did so at the limit the caller asked for,
    within what parsers keep back (``END_SLACK_S``): a clean end, not a lost device."""
    if until_sample is None or fs_hz is None or item.kind not in (StatusKind.DISCONNECTED, *ENDING):
        return False
    if item.kind == StatusKind.SEEK:
        return False
    slack = max(END_SLACK_SAMPLES, round(END_SLACK_S * fs_hz))
    return 0 <= until_sample - expected <= slack


def _guarded(guard: SampleGuard, block: Block, sinks: list[Sink]) -> Block:
    """The block with every sample a usable number; the first repair is told to the sinks
    (the recorder notes it in the file)."""
    before = guard.replaced
    block = guard.check(block)
    if before == 0 and guard.replaced:
        for s in sinks:
            s.status(Status(StatusKind.WARNING, "samples that are not numbers (NaN, infinite "
                            "or out of range) were held at the last good value",
                            block.start_sample))
    return block


def _close_after_crash(sinks: list[Sink]) -> None:
    for s in sinks:
        try:
            s.finish(None, [], None)
        except Exception:  # noqa: BLE001 - the first error is the one to show
            pass
