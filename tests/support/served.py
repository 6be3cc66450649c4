"""Serve an ASGI app with a real uvicorn on loopback, in a background thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp

from tests.support.ports import LOOPBACK, free_port, port_open


@contextmanager
def served(app: ASGIApp, name: str = "served-app") -> Iterator[int]:
    """Run `app` until the block ends; yield the port it listens on."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host=LOOPBACK, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not port_open(port) and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        assert port_open(port), f"{name} did not start listening"
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)
