"""Calibration (rest, MVC) and contraction detection on envelopes."""
