"""Request limits: a body size cap, and admission bounded by what the database can serve."""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import problem_response


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413,
            "payload-too-large",
            "Payload too large",
            f"Request bodies are limited to {self.max_bytes} bytes.",
        )
        await response(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _TooLarge:
            await self._reject(scope, receive, send)


class _TooLarge(Exception):
    pass


# Methods whose routes only read; on SQLite their transactions run beside the writer.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class AdmissionMiddleware:
    """Admits at most `limit` requests at a time to the worker threads and the database,
    and of those at most `write_limit` that may write (any method but GET, HEAD, OPTIONS).

    A request holds one pooled connection from its first dependency until its response
    is serialised, hopping between worker threads on the way (each sync dependency, the
    route and the serialisation run in one). With more requests in flight than pooled
    connections, every thread could end up waiting for a connection while every
    connection waits for a thread. Waiting here costs no thread. The limit is the pool's
    capacity. SQLite has one writer: its writers are admitted one at a time, since the
    rest would only hold a thread and a connection while queueing on its file lock;
    its readers read their WAL snapshots beside it (app.db.readers). Probes and metrics
    are not queued.
    """

    UNQUEUED = ("/healthz", "/metrics")

    def __init__(self, app: ASGIApp, limit: int, write_limit: int | None = None) -> None:
        self.app = app
        self.slots = asyncio.Semaphore(limit)
        self.write_slots = asyncio.Semaphore(write_limit) if write_limit is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.UNQUEUED:
            await self.app(scope, receive, send)
            return
        if self.write_slots is None or scope["method"] in READ_METHODS:
            async with self.slots:
                await self.app(scope, receive, send)
            return
        # The writer's turn first, so a queued writer holds none of the readers' slots.
        async with self.write_slots, self.slots:
            await self.app(scope, receive, send)
