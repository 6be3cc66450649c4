"""Domain errors and their one mapping to RFC 9457 problem documents."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://taskstream.dev/problems/"

log = logging.getLogger(__name__)


class FieldError(BaseModel):
    """One invalid field of a request."""

    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None
    # Extension member: the quota or bound a request ran into (README, "Limits and quotas").
    limit: str | None = None


class DomainError(Exception):
    """Base of every error the services raise on purpose."""

    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors) if errors is not None else None
        self.headers = headers or {}


class NotFound(DomainError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(DomainError):
    status, slug, title = 409, "conflict", "Conflict"


class PreconditionFailed(DomainError):
    status, slug, title = 412, "precondition-failed", "Precondition failed"


class Unprocessable(DomainError):
    status, slug, title = 422, "validation-error", "Invalid request"


class Unauthorized(DomainError):
    status, slug, title = 401, "unauthorized", "Not authenticated"


class TooManyRequests(DomainError):
    status, slug, title = 429, "too-many-requests", "Too many requests"


class PayloadTooLarge(DomainError):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class ServiceUnavailable(DomainError):
    status, slug, title = 503, "service-unavailable", "Service unavailable"


class QuotaExceeded(DomainError):
    """A per-user hard limit; `limit` names it in the problem document."""

    status, slug, title = 422, "quota-exceeded", "Quota exceeded"

    def __init__(self, limit: str, detail: str) -> None:
        super().__init__(detail)
        self.limit = limit


def invalid_field(field: str, msg: str, *, kind: str = "value_error") -> Unprocessable:
    """A 422 naming one body field, for checks pydantic cannot express."""
    return Unprocessable(msg, errors=[FieldError(loc=["body", field], msg=msg, type=kind)])


def problem_response(
    status: int,
    slug: str,
    title: str,
    detail: str | None,
    *,
    instance: str | None = None,
    errors: Sequence[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    limit: str | None = None,
) -> JSONResponse:
    problem = Problem(
        type=PROBLEM_BASE + slug,
        title=title,
        status=status,
        detail=detail,
        instance=instance,
        errors=list(errors) if errors is not None else None,
        limit=limit,
    )
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


_HTTP_SLUGS: dict[int, tuple[str, str]] = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Not authenticated"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    412: ("precondition-failed", "Precondition failed"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation-error", "Invalid request"),
    429: ("too-many-requests", "Too many requests"),
    503: ("service-unavailable", "Service unavailable"),
}


def _field_errors(raw: Sequence[Any]) -> list[FieldError]:
    locs = [[p if isinstance(p, int) else str(p) for p in item.get("loc", ())] for item in raw]
    # A field typed `X | None` fails once per member, each loc ending in pydantic's name for
    # the member ("none", "function-after[...]"); clients need the field, not those names.
    nullable = {tuple(loc[:-1]) for loc in locs if loc and loc[-1] == "none"}
    errors = []
    for item, loc in zip(raw, locs, strict=True):
        if tuple(loc[:-1]) in nullable and loc[-1] == "none":
            continue
        for at in range(len(loc) - 1, 0, -1):
            if tuple(loc[:at]) in nullable:
                loc = loc[:at] + loc[at + 1 :]
                break
        errors.append(
            FieldError(loc=loc, msg=str(item.get("msg", "")), type=str(item.get("type", "")))
        )
    return errors


def install_problem_handlers(app: FastAPI) -> None:
    """Map every error a request can raise to a problem+json response."""

    async def domain_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DomainError)
        return problem_response(
            exc.status,
            exc.slug,
            exc.title,
            exc.detail,
            instance=request.url.path,
            errors=exc.errors,
            headers=exc.headers,
            limit=getattr(exc, "limit", None),
        )

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = _field_errors(exc.errors())
        detail = "; ".join(f"{'.'.join(map(str, e.loc))}: {e.msg}" for e in errors[:5])
        return problem_response(
            422,
            "validation-error",
            "Invalid request",
            detail,
            instance=request.url.path,
            errors=errors,
        )

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        slug, title = _HTTP_SLUGS.get(exc.status_code, ("http-error", "HTTP error"))
        return problem_response(
            exc.status_code,
            slug,
            title,
            str(exc.detail),
            instance=request.url.path,
            headers=dict(exc.headers or {}),
        )

    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(
            500,
            "internal-error",
            "Internal server error",
            "The server failed to handle this request; it has been logged.",
            instance=request.url.path,
        )

    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected_error)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting the problem documents a route can return."""
    documented: dict[int | str, dict[str, Any]] = {}
    # Anything that takes input can also get an unparseable body or parameter (400).
    for status in sorted({*statuses, 400} if 422 in statuses else set(statuses)):
        _, title = _HTTP_SLUGS.get(status, ("", "Error"))
        documented[status] = {
            "model": Problem,
            "description": title,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
    return documented
