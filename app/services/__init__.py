"""Use cases: plain functions over a session that raise domain errors."""
