"""Device drivers: transports, incremental parsers and the simulated sensor (no Qt here)."""
