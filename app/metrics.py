"""Prometheus metrics of the HTTP layer and a middleware that records them."""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.contract import METRIC_HTTP_LATENCY, METRIC_HTTP_REQUESTS

REQUESTS = Counter(METRIC_HTTP_REQUESTS, "HTTP requests served", ["method", "route", "status"])
LATENCY = Histogram(
    METRIC_HTTP_LATENCY,
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


def route_template(scope: Scope) -> str:
    """The matched route with its parameters named, e.g. /api/v1/tasks/{task_id}."""
    if scope.get("route") is None:
        return "unmatched"
    values = {str(v): k for k, v in (scope.get("path_params") or {}).items()}
    segments = str(scope["path"]).split("/")
    return "/".join("{" + values[s] + "}" if s in values else s for s in segments)


class MetricsMiddleware:
    """Counts requests by route template (not raw path, to keep label cardinality bounded)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_code = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            template = route_template(scope)
            REQUESTS.labels(scope["method"], template, str(status_code)).inc()
            LATENCY.labels(scope["method"], template).observe(time.perf_counter() - started)


def metrics_response(_: Request | None = None) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
