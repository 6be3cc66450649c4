"""Settings refuse an unsafe signing key outside dev, and dev must be chosen."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.settings import PLACEHOLDER_JWT_SECRET, PLACEHOLDER_WEBHOOK_SECRET_KEY, Settings


def test_without_an_environment_setting_the_process_is_prod_and_refuses_the_placeholder_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TASKSTREAM_ENVIRONMENT", raising=False)
    monkeypatch.delenv("TASKSTREAM_JWT_SECRET", raising=False)
    with pytest.raises(ValidationError, match="TASKSTREAM_JWT_SECRET") as refused:
        Settings()
    assert "TASKSTREAM_ENVIRONMENT=dev" in str(refused.value), (
        "the refusal should say how to choose dev for local work"
    )


def test_without_an_environment_setting_a_real_key_runs_as_prod(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TASKSTREAM_ENVIRONMENT", raising=False)
    monkeypatch.setenv("TASKSTREAM_JWT_SECRET", "k" * 48)
    monkeypatch.setenv("TASKSTREAM_WEBHOOK_SECRET_KEY", "w" * 48)
    assert Settings().environment == "prod", "an unset environment must not fail open to dev"


def test_the_placeholder_key_is_accepted_in_dev() -> None:
    assert Settings(environment="dev").jwt_secret.get_secret_value() == PLACEHOLDER_JWT_SECRET


@pytest.mark.parametrize("secret", [PLACEHOLDER_JWT_SECRET, "too-short"])
def test_a_placeholder_or_short_key_is_refused_in_prod(secret: str) -> None:
    with pytest.raises(ValidationError, match="TASKSTREAM_JWT_SECRET"):
        Settings(environment="prod", jwt_secret=secret)  # type: ignore[arg-type]


def test_a_long_random_key_is_accepted_in_prod() -> None:
    Settings(
        environment="prod",
        jwt_secret="k" * 48,  # type: ignore[arg-type]
        webhook_secret_key="w" * 48,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("key", [PLACEHOLDER_WEBHOOK_SECRET_KEY, "too-short"])
def test_a_placeholder_or_short_webhook_key_is_refused_in_prod(key: str) -> None:
    with pytest.raises(ValidationError, match="TASKSTREAM_WEBHOOK_SECRET_KEY"):
        Settings(
            environment="prod",
            jwt_secret="k" * 48,  # type: ignore[arg-type]
            webhook_secret_key=key,  # type: ignore[arg-type]
        )


def test_settings_come_from_taskstream_environment_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TASKSTREAM_DATABASE_URL", "sqlite:///elsewhere.db")
    monkeypatch.setenv("TASKSTREAM_CORS_ORIGINS", '["https://app.example.com"]')
    settings = Settings()
    assert settings.database_url == "sqlite:///elsewhere.db"
    assert settings.cors_origins == ["https://app.example.com"]


def test_loopback_webhooks_are_refused_outside_dev_and_test() -> None:
    assert Settings(environment="test", webhook_allow_loopback=True).webhook_allow_loopback
    with pytest.raises(ValidationError, match="TASKSTREAM_WEBHOOK_ALLOW_LOOPBACK"):
        Settings(
            environment="prod",
            jwt_secret="k" * 48,  # type: ignore[arg-type]
            webhook_secret_key="w" * 48,  # type: ignore[arg-type]
            webhook_allow_loopback=True,
        )


def test_dapr_without_its_tokens_is_refused_in_prod() -> None:
    keys = {"jwt_secret": "k" * 48, "webhook_secret_key": "w" * 48}
    with pytest.raises(ValidationError, match="APP_API_TOKEN and DAPR_API_TOKEN"):
        Settings(environment="prod", event_bus="dapr", **keys)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="DAPR_API_TOKEN"):
        Settings(environment="prod", event_bus="dapr", app_api_token="a" * 32, **keys)  # type: ignore[arg-type]
    Settings(
        environment="prod",
        event_bus="dapr",
        app_api_token="a" * 32,  # type: ignore[arg-type]
        dapr_api_token="d" * 32,  # type: ignore[arg-type]
        **keys,  # type: ignore[arg-type]
    )
    assert Settings(environment="dev", event_bus="dapr").app_api_token is None
