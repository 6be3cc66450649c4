"""The API application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from sqlalchemy.engine import Engine

from app import contract, tracing
from app.api.routes import auth, notifications, ops, series, tags, tasks
from app.db import make_engine, readers, shares_one_connection
from app.errors import Problem, install_problem_handlers
from app.limits import AdmissionMiddleware, BodyLimitMiddleware
from app.logs import RequestContextMiddleware
from app.metrics import MetricsMiddleware
from app.readiness import readiness_checks
from app.security import PasswordHashing, container_memory_limit, hashing_slots
from app.services.webhook_targets import Resolver, system_resolver
from app.settings import Settings, get_settings
from app.throttle import AddressThrottle, LoginLimits, LoginThrottle

API_PREFIX = f"{contract.API_PATH}/v1"


def create_app(
    settings: Settings | None = None,
    engine: Engine | None = None,
    *,
    resolver: Resolver = system_resolver,
) -> FastAPI:
    """Build the API; the engine is made in the lifespan unless a test hands one in (and a
    test hands in a resolver for webhook hosts, so no lookup leaves the machine)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = engine is None
        app.state.engine = engine or make_engine(
            settings.database_url, pool_size=settings.database_pool_size
        )
        app.state.readers = readers(app.state.engine)
        app.state.readiness_checks = readiness_checks(settings, app.state.engine)
        try:
            yield
        finally:
            if owned:
                app.state.engine.dispose()

    app = FastAPI(
        title="taskstream",
        version="0.1.0",
        summary="Tasks with due dates, reminders, search and recurring series.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.resolver = resolver
    _install_abuse_limits(app, settings)
    install_problem_handlers(app)
    for router in (auth.router, tasks.router, tags.router, series.router, notifications.router):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(ops.router)
    _summaries_from_docstrings(app)
    # The engine's pool holds pool_size + the same again in overflow (app.db.make_engine).
    one_connection = shares_one_connection(settings.database_url)
    app.add_middleware(
        AdmissionMiddleware,
        limit=1 if one_connection else 2 * settings.database_pool_size,
        write_limit=1 if settings.is_sqlite else None,
    )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "If-Match", "Idempotency-Key"],
            expose_headers=["ETag", "Location"],
        )
    app.add_middleware(MetricsMiddleware)
    # Outermost, so every log line of the request, the access line included, carries its id.
    app.add_middleware(RequestContextMiddleware)
    _register_problem_schema(app)
    tracing.instrument_app(app)
    return app


def _install_abuse_limits(app: FastAPI, settings: Settings) -> None:
    """The login and registration throttles and the password hashing slots (README: Limits)."""
    app.state.login_throttle = LoginThrottle(LoginLimits.from_settings(settings))
    app.state.registration_throttle = AddressThrottle(
        limit=settings.registrations_per_address_per_hour,
        window=3600.0,
        capacity=settings.throttle_capacity,
    )
    slots = settings.password_hash_concurrency or hashing_slots(container_memory_limit())
    app.state.password_hashing = PasswordHashing(
        slots=slots, wait_seconds=settings.password_hash_wait_seconds
    )


def _summaries_from_docstrings(app: FastAPI) -> None:
    for route in app.routes:
        if isinstance(route, APIRoute) and route.summary is None and route.endpoint.__doc__:
            route.summary = route.endpoint.__doc__.strip().splitlines()[0]


def _register_problem_schema(app: FastAPI) -> None:
    """Make sure the Problem schema is in the OpenAPI components the routes reference."""
    original = app.openapi

    def openapi() -> dict[str, object]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = original()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, definition in (
            Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            .get("$defs", {})
            .items()
        ):
            components.setdefault(name, definition)
        problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        problem.pop("$defs", None)
        components.setdefault("Problem", problem)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
