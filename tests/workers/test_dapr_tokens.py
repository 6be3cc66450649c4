"""With Dapr's app token configured, only daprd (which sends it) reaches a worker's Dapr routes."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from app.contract import DAPR_API_TOKEN_HEADER, DEAD_LETTER_ROUTE, NOTIFIER, RECURRER
from app.errors import PROBLEM_MEDIA_TYPE
from app.events.publisher import DaprPublisher
from app.readiness import readiness_checks
from app.settings import Settings
from workers.notifier import app as notifier
from workers.recurrer import app as recurrer

APP_TOKEN = "app-token-from-the-secret-0123456789"
DAPR_TOKEN = "dapr-token-from-the-secret-987654321"
BUILDERS = {NOTIFIER.name: notifier, RECURRER.name: recurrer}


def _worker(engine: Engine, name: str, **settings: object) -> TestClient:
    module = BUILDERS[name]
    app = module.create_worker_app(
        module.build_consumer(engine), Settings(environment="test", **settings), engine, []
    )
    return TestClient(app)


def _dapr_routes(name: str) -> list[str]:
    process = NOTIFIER if name == NOTIFIER.name else RECURRER
    return [*(s.route for s in process.subscriptions), DEAD_LETTER_ROUTE]


@pytest.mark.parametrize("name", [NOTIFIER.name, RECURRER.name])
@pytest.mark.parametrize("sent", [None, "", "wrong-token", APP_TOKEN[:-1], APP_TOKEN + "x"])
def test_a_delivery_without_the_app_token_is_refused_as_a_problem(
    engine: Engine, name: str, sent: str | None
) -> None:
    client = _worker(engine, name, app_api_token=APP_TOKEN)
    headers = {} if sent is None else {DAPR_API_TOKEN_HEADER: sent}
    for route in _dapr_routes(name):
        answer = client.post(route, json={"id": "x", "data": {}}, headers=headers)
        assert answer.status_code == 401, f"{name} {route} accepted token {sent!r}"
        assert answer.headers["content-type"] == PROBLEM_MEDIA_TYPE, answer.headers
        assert APP_TOKEN not in answer.text, "the refusal leaks the expected token"
    listing = client.get("/dapr/subscribe", headers=headers)
    assert listing.status_code == 401, f"{name} lists its subscriptions to anyone"


@pytest.mark.parametrize("name", [NOTIFIER.name, RECURRER.name])
def test_a_delivery_with_the_app_token_is_handled(engine: Engine, name: str) -> None:
    client = _worker(engine, name, app_api_token=APP_TOKEN)
    headers = {DAPR_API_TOKEN_HEADER: APP_TOKEN}
    for route in _dapr_routes(name):
        answer = client.post(route, content=b"not a cloudevent", headers=headers)
        assert answer.status_code == 200, f"{name} {route}: {answer.status_code} {answer.text}"
    assert client.get("/dapr/subscribe", headers=headers).status_code == 200


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_the_kubelet_probes_and_metrics_need_no_token(engine: Engine, path: str) -> None:
    client = _worker(engine, NOTIFIER.name, app_api_token=APP_TOKEN)
    assert client.get(path).status_code == 200, f"{path} demands the Dapr app token"


def test_without_an_app_token_configured_the_routes_stay_open_as_in_embedded_mode(
    engine: Engine,
) -> None:
    client = _worker(engine, NOTIFIER.name)
    answer = client.post(NOTIFIER.subscriptions[0].route, content=b"not a cloudevent")
    assert answer.status_code == 200, answer.text


def test_both_tokens_are_read_from_the_names_daprd_uses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_API_TOKEN", APP_TOKEN)
    monkeypatch.setenv("DAPR_API_TOKEN", DAPR_TOKEN)
    settings = Settings(environment="test")
    assert settings.app_api_token is not None, "APP_API_TOKEN was not read"
    assert settings.dapr_api_token is not None, "DAPR_API_TOKEN was not read"
    assert settings.app_api_token.get_secret_value() == APP_TOKEN
    assert settings.dapr_api_token.get_secret_value() == DAPR_TOKEN
    assert DAPR_TOKEN not in repr(settings), "a token shows in the settings' repr"


def test_an_empty_token_variable_means_no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_API_TOKEN", "")
    assert Settings(environment="test").app_api_token is None


def test_the_publisher_sends_the_dapr_api_token_on_every_call() -> None:
    seen: list[httpx.Request] = []

    def sidecar(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    publisher = DaprPublisher("http://127.0.0.1:3500", "pubsub", api_token=DAPR_TOKEN)
    publisher._client = httpx.Client(
        base_url="http://127.0.0.1:3500", transport=httpx.MockTransport(sidecar)
    )
    publisher.publish_batch([])
    publisher._bulk("task-events", [])
    assert seen, "nothing was sent"
    assert all(r.headers.get(DAPR_API_TOKEN_HEADER) == DAPR_TOKEN for r in seen), seen


def test_the_readiness_check_of_the_sidecar_sends_the_dapr_api_token(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[dict[str, str]] = []

    def fake_get(url: str, **kwargs: object) -> httpx.Response:
        seen.append(dict(kwargs.get("headers") or {}))  # type: ignore[call-overload]
        return httpx.Response(204, request=httpx.Request("GET", url))

    monkeypatch.setattr(httpx, "get", fake_get)
    settings = Settings(environment="test", event_bus="dapr", dapr_api_token=DAPR_TOKEN)
    readiness_checks(settings, engine)["dapr"]()
    assert seen == [{DAPR_API_TOKEN_HEADER: DAPR_TOKEN}], seen
