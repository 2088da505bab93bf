"""The adapter contract: everything an adapter and the core share. It imports nothing from ``gateway``."""
