"""Schemathesis against the app's own OpenAPI: no 5xx, no response off its schema."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from app.db import make_engine, run_migrations
from app.main import create_app
from app.settings import Settings
from tests.conftest import register_user
from tests.support.resolvers import FakeResolver

# Knows no host: every fuzzed webhook name is refused without a query leaving the machine.
_RESOLVER = FakeResolver({})


def _app(tmp: Path) -> tuple[FastAPI, dict[str, str]]:
    engine = make_engine(f"sqlite:///{tmp / 'fuzz.db'}")
    run_migrations(engine)
    unthrottled = Settings(
        environment="test",
        login_attempts_per_minute=10_000,
        login_failures_per_address_per_minute=10_000,
        registrations_per_address_per_hour=10_000,
    )
    app = create_app(unthrottled, engine, resolver=_RESOLVER)
    with TestClient(app) as client:
        user = register_user(client, "fuzz@example.com")
        client.post("/api/v1/tasks", headers=user.headers, json={"title": "seed", "tags": ["a"]})
    return app, user.headers


_APP, _HEADERS = _app(Path(__import__("tempfile").mkdtemp(prefix="taskstream-fuzz-")))
schema = schemathesis.openapi.from_asgi("/openapi.json", _APP)


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_the_api_honours_its_own_openapi(case: schemathesis.Case) -> None:
    case.call_and_validate(
        headers=_HEADERS,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )


_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


class _Workflow(schema.as_state_machine()):  # type: ignore[misc]
    """Chains calls through the links schemathesis infers (POST /tasks → PATCH /tasks/{id}…)."""

    def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, object]:
        return {"headers": _HEADERS}

    def validate_response(
        self, response: object, case: schemathesis.Case, *args: object, **kwargs: object
    ) -> None:
        case.validate_response(response, checks=_CHECKS)  # type: ignore[arg-type]


@pytest.mark.slow
def test_sequences_of_calls_through_the_openapi_links_find_no_server_error() -> None:
    _Workflow.run(
        settings=settings(
            max_examples=25,
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
    )


def test_fuzzed_webhook_hosts_are_looked_up_offline() -> None:
    assert _APP.state.resolver is _RESOLVER, "the fuzzed app resolves webhook hosts over DNS"
    with TestClient(_APP) as client:
        body = {"url": "https://fuzzed-host.example/hook", "secret": "s" * 20}
        response = client.put("/api/v1/notifications/webhook", headers=_HEADERS, json=body)
    assert response.status_code == 422, response.text
    assert "fuzzed-host.example" in _RESOLVER.asked, "the host was not asked of the stand-in"
