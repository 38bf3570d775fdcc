"""Qt user interface (PySide6 + pyqtgraph). Depends on the core; the core never imports it."""
