"""What a source says besides samples (kept light: the run loop and offline analysis import
it without the serial drivers)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class StatusKind(StrEnum):
    """What happened to the link (a StrEnum: equal to its word in logs and JSON)."""

    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    RECONNECTED = "reconnected"
    WARNING = "warning"
    SILENT = "silent"  # no data for a while (the watchdog); the link may come back
    LOST = "lost"  # given up: no more samples will come
    ERROR = "error"
    STOPPED = "stopped"  # the source's own end
    SEEK = "seek"  # a replay jumps: the run ends and another begins


@dataclass
class Status:
    """A connection event; ``kind`` is one of ``StatusKind`` (a word is taken and checked)."""

    kind: StatusKind
    message: str
    sample: int = 0
    lost_samples: int = 0

    def __post_init__(self) -> None:
        self.kind = StatusKind(self.kind)  # an unknown kind is a bug: found where it is made
