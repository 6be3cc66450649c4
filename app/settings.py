"""Process settings, read once from TASKSTREAM_* environment variables."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.contract import ENV_APP_API_TOKEN, ENV_DAPR_API_TOKEN, PUBSUB_NAME, SETTINGS_PREFIX

PLACEHOLDER_JWT_SECRET = "dev-only-insecure-placeholder-key-change-me"  # noqa: S105
MIN_JWT_SECRET_LENGTH = 32

Environment = Literal["dev", "test", "staging", "prod"]


class Settings(BaseSettings):
    """Everything a taskstream process can be told from outside."""

    model_config = SettingsConfigDict(env_prefix=SETTINGS_PREFIX, extra="ignore")

    environment: Environment = "dev"
    database_url: str = "sqlite:///./var/taskstream.db"
    database_pool_size: int = Field(default=10, ge=1, le=200)
    jwt_secret: SecretStr = SecretStr(PLACEHOLDER_JWT_SECRET)
    jwt_algorithm: Literal["HS256"] = "HS256"
    access_token_minutes: int = Field(default=30, ge=1, le=24 * 60)
    cors_origins: list[str] = Field(default_factory=list)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    login_attempts_per_minute: int = Field(default=10, ge=1)
    log_level: str = "INFO"

    event_bus: Literal["embedded", "dapr"] = "embedded"
    dapr_http_endpoint: str = "http://127.0.0.1:3500"
    pubsub_name: str = PUBSUB_NAME
    dapr_subscriptions: Literal["programmatic", "declarative"] = "programmatic"
    relay_batch_size: int = Field(default=100, ge=1, le=10_000)
    # Tasks whose events the in-process bus delivers side by side (each task's in order);
    # through Dapr the relay publishes in bulk instead.
    relay_concurrency: int = Field(default=8, ge=1, le=64)
    relay_poll_seconds: float = Field(default=0.2, gt=0)
    notifier_poll_seconds: float = Field(default=0.5, gt=0)
    recurrence_window_days: int = Field(default=14, ge=1, le=366)
    webhook_timeout_seconds: float = Field(default=5.0, gt=0)
    # Dapr's tokens, under Dapr's variable names (no prefix); None when Dapr is not told to
    # use them (embedded mode, tests). The app checks the first and sends the second.
    app_api_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices(ENV_APP_API_TOKEN, "app_api_token")
    )
    dapr_api_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices(ENV_DAPR_API_TOKEN, "dapr_api_token")
    )

    @field_validator("app_api_token", "dapr_api_token", mode="after")
    @classmethod
    def _empty_token_is_none(cls, value: SecretStr | None) -> SecretStr | None:
        return value if value is not None and value.get_secret_value() else None

    @model_validator(mode="after")
    def _refuse_placeholder_key_outside_dev(self) -> Settings:
        if self.environment in ("dev", "test"):
            return self
        secret = self.jwt_secret.get_secret_value()
        if secret == PLACEHOLDER_JWT_SECRET or len(secret) < MIN_JWT_SECRET_LENGTH:
            raise ValueError(
                f"{SETTINGS_PREFIX}JWT_SECRET must be a random value of at least "
                f"{MIN_JWT_SECRET_LENGTH} characters when {SETTINGS_PREFIX}ENVIRONMENT="
                f"{self.environment}; the built-in placeholder is for dev only"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings; tests build their own Settings instead."""
    return Settings()
