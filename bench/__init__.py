"""Benchmarks: each module starts what it measures on loopback and prints figures."""
