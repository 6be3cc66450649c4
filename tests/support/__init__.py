"""Helpers that let tests run real engines (Kafka, daprd, PostgreSQL) on loopback."""
