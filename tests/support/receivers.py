"""A loopback HTTP receiver for webhook calls that records them and answers as told."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from tests.support.http_server import QuietHandler, serving
from tests.support.ports import LOOPBACK

Behaviour = Callable[[BaseHTTPRequestHandler], None]
CHUNK = 64 * 1024


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)


@dataclass
class Receiver:
    """Answers each path with its behaviour (200 when none is set); counts bytes it sent."""

    port: int = 0
    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    sent_bytes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str, *, host: str = LOOPBACK, scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    def paths(self) -> list[str]:
        with self.lock:
            return [r.path for r in self.received]


def answer(status: int, headers: dict[str, str] | None = None) -> Behaviour:
    def behave(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return behave


def after(seconds: float, then: Behaviour) -> Behaviour:
    def behave(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        then(handler)

    return behave


def trickle(every: float, times: int) -> Behaviour:
    """A 200 whose body comes one byte every `every` seconds, `times` bytes in all."""

    def behave(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(times))
        handler.end_headers()
        handler.wfile.flush()
        for _ in range(times):
            time.sleep(every)
            handler.wfile.write(b".")
            handler.wfile.flush()

    return behave


def flood(total: int, receiver: Receiver) -> Behaviour:
    """A 200 with a body of `total` bytes, sent as fast as the client takes it."""

    def behave(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(total))
        handler.end_headers()
        block = b"x" * CHUNK
        for _ in range(total // CHUNK):
            handler.wfile.write(block)
            with receiver.lock:
                receiver.sent_bytes += CHUNK

    return behave


@contextmanager
def receiving(tls: ssl.SSLContext | None = None) -> Iterator[Receiver]:
    """Serve a Receiver on 127.0.0.1 until the block ends."""
    receiver = Receiver()

    class Handler(QuietHandler):
        def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with receiver.lock:
                receiver.received.append(Received(self.path, dict(self.headers), body))
            # The sender hangs up on a slow or huge answer, as it should.
            with suppress(BrokenPipeError, ConnectionResetError, ssl.SSLError):
                receiver.behaviours.get(self.path, answer(200))(self)

    with serving(Handler, "webhook-receiver", tls) as port:
        receiver.port = port
        yield receiver
