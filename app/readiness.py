"""Readiness probes shared by the API and the workers."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from sqlalchemy.engine import Engine

from app.db import ping
from app.settings import Settings


def readiness_checks(settings: Settings, engine: Engine) -> dict[str, Callable[[], None]]:
    checks: dict[str, Callable[[], None]] = {"database": lambda: ping(engine)}
    if settings.event_bus == "dapr":
        endpoint = settings.dapr_http_endpoint.rstrip("/")

        def sidecar() -> None:
            # The outbound health endpoint turns healthy once components (the broker) are up.
            response = httpx.get(f"{endpoint}/v1.0/healthz/outbound", timeout=2.0)
            response.raise_for_status()

        checks["dapr"] = sidecar
    return checks
