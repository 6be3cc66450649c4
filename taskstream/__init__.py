"""The composition root: the `taskstream` command and the whole system in one process.

It sits above `app` (the API service), `workers` and `infra` and is the only package that
assembles them; none of them imports it (tests/test_layers.py keeps the rules).
"""
