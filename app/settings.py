"""Process settings, read once from TASKSTREAM_* environment variables."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.contract import PUBSUB_NAME, SETTINGS_PREFIX, TOPICS

PLACEHOLDER_JWT_SECRET = "dev-only-insecure-placeholder-key-change-me"  # noqa: S105
MIN_JWT_SECRET_LENGTH = 32

Environment = Literal["dev", "test", "staging", "prod"]


class Settings(BaseSettings):
    """Everything a taskstream process can be told from outside."""

    model_config = SettingsConfigDict(env_prefix=SETTINGS_PREFIX, extra="ignore")

    # Fails closed: an image started without this setting is production; dev is chosen.
    environment: Environment = "prod"
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

    # Retention (app/retention.py): how long finished rows are kept; pending work never expires.
    retention_interval_seconds: float = Field(default=600.0, gt=0)
    retention_batch_size: int = Field(default=1000, ge=1, le=50_000)
    history_retention_days: int = Field(default=365, ge=1)
    outbox_retention_days: int = Field(default=7, ge=1)
    inbox_retention_days: int = Field(default=14, ge=1)
    idempotency_retention_hours: int = Field(default=48, ge=1)
    dead_letter_retention_days: int = Field(default=30, ge=1)
    webhook_delivery_retention_days: int = Field(default=30, ge=1)
    reminder_retention_days: int = Field(default=30, ge=1)
    read_notification_retention_days: int = Field(default=90, ge=1)

    @model_validator(mode="after")
    def _refuse_placeholder_key_outside_dev(self) -> Settings:
        if self.environment in ("dev", "test"):
            return self
        secret = self.jwt_secret.get_secret_value()
        if secret == PLACEHOLDER_JWT_SECRET or len(secret) < MIN_JWT_SECRET_LENGTH:
            raise ValueError(
                f"{SETTINGS_PREFIX}JWT_SECRET must be a random value of at least "
                f"{MIN_JWT_SECRET_LENGTH} characters when {SETTINGS_PREFIX}ENVIRONMENT="
                f"{self.environment}; the built-in placeholder is for dev only "
                f"(for local work set {SETTINGS_PREFIX}ENVIRONMENT=dev)"
            )
        return self

    @model_validator(mode="after")
    def _inbox_outlives_the_broker(self) -> Settings:
        # A redelivery the broker can still make must still find its inbox entry.
        longest = max(topic.retention_hours for topic in TOPICS)
        if self.inbox_retention_days * 24 <= longest:
            raise ValueError(
                f"{SETTINGS_PREFIX}INBOX_RETENTION_DAYS must exceed the broker's topic "
                f"retention of {longest} hours, or redelivered events would be handled twice"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings; tests build their own Settings instead."""
    return Settings()
