"""Log lines every process writes: JSON for machines, text for a terminal, with request context.

Each line carries what ties it to one request or event — the request id, the W3C trace id,
the user id, the event id — taken from a per-request context that the request middleware
and the event consumers fill in. Only those identifiers are added; no header, body or
setting reaches a log line unless code logs it on purpose.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, TextIO

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.contract import HEALTH_PATH, METRICS_PATH, READY_PATH

LogFormat = Literal["auto", "json", "text"]
REQUEST_ID_HEADER = "X-Request-ID"
# A caller's request id is kept only when it is short and plain; anything else is replaced,
# so no client can inject line breaks or megabytes into the logs.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# version-traceid-parentid-flags; an all-zero trace id is invalid (W3C Trace Context).
_TRACEPARENT = re.compile(r"[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# One line per request, with the request's ids; it replaces uvicorn's access log.
ACCESS = logging.getLogger("taskstream.access")
QUIET_PATHS = frozenset({HEALTH_PATH, READY_PATH, METRICS_PATH})


@dataclass
class LogContext:
    """What ties a log line to its request or event; one object shared by the request's
    threads, so a value set in a dependency (the user) shows in the lines after it."""

    request_id: str | None = None
    trace_id: str | None = None
    user_id: str | None = None
    event_id: str | None = None

    def fields(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items() if v is not None}


_CONTEXT: ContextVar[LogContext | None] = ContextVar("taskstream_log_context", default=None)
# Set while tracing is on (app.tracing): the current span's trace id, which then wins over
# the one read from a traceparent header or CloudEvent.
_trace_id_source: Callable[[], str | None] | None = None


def use_trace_ids(source: Callable[[], str | None] | None) -> None:
    global _trace_id_source
    _trace_id_source = source


def current() -> LogContext | None:
    return _CONTEXT.get()


def bind(context: LogContext) -> None:
    """Make `context` the one this task or thread logs with."""
    _CONTEXT.set(context)


def set_user(user_id: object) -> None:
    """Record the authenticated user of the current request, if there is one."""
    context = _CONTEXT.get()
    if context is not None:
        context.user_id = str(user_id)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, context ids, exception."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = _CONTEXT.get()
        if context is not None:
            line.update(context.fields())
        if _trace_id_source is not None and (trace_id := _trace_id_source()) is not None:
            line["trace_id"] = trace_id
        http = getattr(record, "http", None)
        if isinstance(http, dict):
            line["http"] = http
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The terminal's format, with the request id when there is one."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        context = _CONTEXT.get()
        if context is not None and context.request_id is not None:
            return f"{text} [request {context.request_id}]"
        return text


def resolve_format(wanted: LogFormat, stream: TextIO) -> Literal["json", "text"]:
    """`auto` is text on a terminal and JSON everywhere else (a container's stdout)."""
    if wanted != "auto":
        return wanted
    return "text" if stream.isatty() else "json"


def configure_logging(level: str, wanted: LogFormat, stream: TextIO | None = None) -> None:
    """Send every logger, uvicorn's included, through one handler in the chosen format."""
    out = stream or sys.stderr
    handler = logging.StreamHandler(out)
    formatter = JsonFormatter() if resolve_format(wanted, out) == "json" else TextFormatter()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True


def request_id_of(given: str | None) -> str:
    return given if given is not None and _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def trace_id_of(traceparent: str | None) -> str | None:
    found = _TRACEPARENT.fullmatch(traceparent.strip()) if traceparent else None
    if found is None or set(found.group(1)) == {"0"}:
        return None
    return found.group(1)


class RequestContextMiddleware:
    """Gives each HTTP request its log context, answers with its X-Request-ID and writes
    its access line (method, path, status, duration) once it is done."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        context = LogContext(
            request_id=request_id_of(headers.get(REQUEST_ID_HEADER.lower())),
            trace_id=trace_id_of(headers.get("traceparent")),
        )
        token = _CONTEXT.set(context)
        request_id = context.request_id or ""
        started = time.perf_counter()
        status = 500  # what the server answers when the app fails before responding

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            # The path without its query string: queries may hold what users search for.
            # Probes and scrapes every few seconds would drown the rest; failures still show.
            quiet = scope["path"] in QUIET_PATHS and status < 400
            ACCESS.log(
                logging.DEBUG if quiet else logging.INFO,
                "%s %s %d",
                scope["method"],
                scope["path"],
                status,
                extra={
                    "http": {
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    }
                },
            )
            _CONTEXT.reset(token)
