"""Liveness, readiness and metrics for the platform."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from app.metrics import metrics_response

router = APIRouter(tags=["operations"])

ReadinessCheck = Callable[[], None]


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]


@router.get("/healthz")
def healthz() -> Health:
    """The process is alive."""
    return Health(status="ok")


@router.get("/readyz", responses={503: {"model": Readiness, "description": "Not ready"}})
def readyz(request: Request) -> JSONResponse:
    """Every dependency (database, Dapr sidecar when configured) answers."""
    checks: dict[str, ReadinessCheck] = request.app.state.readiness_checks
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:
            results[name] = f"failing: {type(exc).__name__}"
    ready = all(result == "ok" for result in results.values())
    body = Readiness(status="ok" if ready else "unavailable", checks=results)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get("/metrics", response_class=Response)
def metrics() -> Response:
    """Prometheus metrics."""
    return metrics_response()
