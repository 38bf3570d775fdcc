"""bbfeedback: pelvic-floor myofeedback toolkit (core: signals, filters, detection, sessions)."""

__version__ = "0.1.0"
