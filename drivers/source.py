"""What every live source shares (serial device, simulated sensor, replay): a worker thread
that puts Blocks and status events on a queue, and the consumer's side of that queue.

Status events are never dropped. A bounded source puts them with ``_put_status``: when the
queue is full they wait in a short side list, in order, and come out before anything the
worker hands on later (``get`` and ``drain`` read the side list once the queue is empty, so a
status is not stuck there when the worker has nothing more to put). Blocks go through
``_offer_block``, which never waits: it says whether the block found room, and the source
decides what a refused block means (``DeviceStream`` turns it into ``lost_before``).
"""

from __future__ import annotations

import queue
import threading
from collections import deque


class ThreadedSource:
    """Base: subclasses implement ``_run`` (on the thread) and put items on ``queue``."""

    def __init__(self, name: str, max_items: int = 0):
        self.queue: queue.Queue = queue.Queue(maxsize=max_items)
        self._held: deque = deque()  # statuses that found the queue full, oldest first
        self._held_lock = threading.Lock()  # the side list and every put next to it
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=name)

    def _run(self) -> None:
        raise NotImplementedError

    def start(self):
        self._thread.start()
        return self

    # --- worker side -----------------------------------------------------------------------
    def _release_held(self) -> bool:
        """Move held statuses into the queue while it has room (call with the lock held);
        True when none is left waiting."""
        while self._held:
            try:
                self.queue.put_nowait(self._held[0])
            except queue.Full:
                return False
            self._held.popleft()
        return True

    def _put_status(self, status) -> None:
        """Queue a status event; never waits and never drops it."""
        with self._held_lock:
            if self._release_held():
                try:
                    self.queue.put_nowait(status)
                    return
                except queue.Full:
                    pass
            self._held.append(status)

    def _offer_block(self, block) -> bool:
        """Queue a block if there is room (after any held status); never waits."""
        with self._held_lock:
            if not self._release_held():
                return False
            try:
                self.queue.put_nowait(block)
                return True
            except queue.Full:
                return False

    # --- consumer side ---------------------------------------------------------------------
    def get(self, timeout: float | None = None):
        """The next Block or status event, or None after ``timeout`` seconds."""
        with self._held_lock:
            try:
                return self.queue.get_nowait()
            except queue.Empty:
                pass
            if self._held:  # newer than anything that was queued: their turn now
                return self._held.popleft()
        try:  # nothing is held, so anything put from now on goes through the queue
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def drain(self) -> list:
        """Everything waiting, in order, without blocking."""
        with self._held_lock:
            items = []
            while True:
                try:
                    items.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            items.extend(self._held)
            self._held.clear()
            return items

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._interrupt()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _interrupt(self) -> None:
        """Wake the thread if it blocks somewhere ``_stop`` cannot reach."""

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()
