"""What a source says besides samples (kept light: the run loop and offline analysis import
it without the serial drivers)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Status:
    """A connection event: connected, disconnected, reconnected, warning, stopped."""

    kind: str
    message: str
    sample: int = 0
    lost_samples: int = 0
