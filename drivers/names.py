"""The device names a user can choose (kept apart from the drivers: the command line lists
them without importing numpy or a parser)."""

DEVICE_NAMES = ("sim", "p2", "cyton", "ascii", "bitalino", "lsl")
