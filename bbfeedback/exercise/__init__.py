"""Protocols, the session engine on the sample clock, scores and summaries."""
