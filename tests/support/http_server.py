"""A throwaway HTTP server on loopback for the receivers tests stand up (webhooks, OTLP)."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support.ports import LOOPBACK


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that keeps the test output free of access lines."""

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serving(
    handler: type[BaseHTTPRequestHandler], name: str, tls: ssl.SSLContext | None = None
) -> Iterator[int]:
    """Serve `handler` on 127.0.0.1 (over TLS with `tls`) until the block ends; the port."""
    server = ThreadingHTTPServer((LOOPBACK, 0), handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
