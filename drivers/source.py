"""What every live source shares (serial device, simulated sensor, replay): a worker thread
that puts Blocks and status events on a queue, and the consumer's side of that queue."""

from __future__ import annotations

import queue
import threading


class ThreadedSource:
    """Base: subclasses implement ``_run`` (on the thread) and put items on ``queue``."""

    def __init__(self, name: str, max_items: int = 0):
        self.queue: queue.Queue = queue.Queue(maxsize=max_items)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=name)

    def _run(self) -> None:
        raise NotImplementedError

    def start(self):
        self._thread.start()
        return self

    def get(self, timeout: float | None = None):
        """The next Block or status event, or None after ``timeout`` seconds."""
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def drain(self) -> list:
        items = []
        while True:
            try:
                items.append(self.queue.get_nowait())
            except queue.Empty:
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
