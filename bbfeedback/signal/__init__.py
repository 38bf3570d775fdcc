"""Samples as blocks, filters, envelope: the streaming signal chain."""
