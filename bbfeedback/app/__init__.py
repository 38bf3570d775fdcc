"""What users run: the run loop, record, analyze, replay, history, reports, CLI."""
