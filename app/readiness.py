"""Readiness probes shared by the API and the workers."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from sqlalchemy.engine import Engine

from app.db import ping
from app.events.publisher import dapr_api_headers
from app.settings import Settings


def readiness_checks(settings: Settings, engine: Engine) -> dict[str, Callable[[], None]]:
    checks: dict[str, Callable[[], None]] = {"database": lambda: ping(engine)}
    if settings.event_bus == "dapr":
        endpoint = settings.dapr_http_endpoint.rstrip("/")
        # daprd exempts its health endpoints from the token; sending it costs nothing and
        # keeps every call to the sidecar alike.
        headers = dapr_api_headers(settings.dapr_api_token)

        def sidecar() -> None:
            # The outbound health endpoint turns healthy once components (the broker) are up.
            response = httpx.get(f"{endpoint}/v1.0/healthz/outbound", timeout=2.0, headers=headers)
            response.raise_for_status()

        checks["dapr"] = sidecar
    return checks
