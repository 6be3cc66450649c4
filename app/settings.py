"""Process settings, read once from TASKSTREAM_* environment variables."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from typing import Literal

from pydantic import AliasChoices, Field, IPvAnyNetwork, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.contract import (
    ENV_APP_API_TOKEN,
    ENV_DAPR_API_TOKEN,
    ENV_OTLP_ENDPOINT,
    PUBSUB_NAME,
    SETTINGS_PREFIX,
    TOPICS,
)
from app.logs import LogFormat
from app.quotas import Quotas, RecurrenceBounds

PLACEHOLDER_JWT_SECRET = "dev-only-insecure-placeholder-key-change-me"  # noqa: S105
MIN_JWT_SECRET_LENGTH = 32
PLACEHOLDER_WEBHOOK_SECRET_KEY = "dev-only-insecure-webhook-key-change-me"  # noqa: S105

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
    # Failed logins per minute for one account from one client address (app.throttle).
    login_attempts_per_minute: int = Field(default=10, ge=1)
    login_failures_per_address_per_minute: int = Field(default=30, ge=1)
    # Beyond this many per minute from all addresses, only addresses that failed are refused.
    login_failures_per_account_per_minute: int = Field(default=100, ge=1)
    registrations_per_address_per_hour: int = Field(default=10, ge=1)
    # Entries per throttle counter (login has three, registration one); ~320 bytes each.
    throttle_capacity: int = Field(default=10_000, ge=10)
    # Peers whose X-Forwarded-For is believed (the edge's addresses); empty: none is.
    trusted_proxies: list[IPvAnyNetwork] = Field(default_factory=list)
    # Argon2 hashes at once; unset, a quarter of the container's memory limit decides.
    password_hash_concurrency: int | None = Field(default=None, ge=1, le=64)
    password_hash_wait_seconds: float = Field(default=10.0, gt=0, le=60)
    log_level: str = "INFO"
    # auto: text on a terminal, JSON lines otherwise (containers, files).
    log_format: LogFormat = "auto"
    # Tracing (app/tracing.py): off unless an OTLP/HTTP endpoint is set, the collector's base
    # URL (…:4318); OpenTelemetry's own variable is honoured too.
    otlp_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            ENV_OTLP_ENDPOINT, "OTEL_EXPORTER_OTLP_ENDPOINT", "otlp_endpoint"
        ),
    )
    # New traces kept; a request or event that arrives sampled stays sampled.
    trace_sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)

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
    # Each webhook call, resolution to last byte read, ends by this deadline.
    webhook_deadline_seconds: float = Field(default=10.0, gt=0, le=120)
    # The receiver's answer is read up to this size and no further (only its status counts).
    webhook_max_response_bytes: int = Field(default=65_536, ge=1024, le=4_194_304)
    webhook_concurrency: int = Field(default=8, ge=1, le=64)
    webhook_in_flight_per_user: int = Field(default=1, ge=1, le=8)
    # Seals webhook secrets at rest: a database read alone cannot sign requests.
    webhook_secret_key: SecretStr = SecretStr(PLACEHOLDER_WEBHOOK_SECRET_KEY)
    # Dev and tests only: let webhooks reach receivers on loopback.
    webhook_allow_loopback: bool = False
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

    # Recurrence bounds and per-user quotas (README, "Limits and quotas").
    recurrence_max_years: int = Field(default=RecurrenceBounds.max_years, ge=1, le=100)
    recurrence_min_spacing_minutes: int = Field(
        default=int(RecurrenceBounds.min_spacing.total_seconds()) // 60, ge=1, le=7 * 24 * 60
    )
    recurrence_step_budget: int = Field(default=RecurrenceBounds.step_budget, ge=100, le=10**6)
    quota_tasks_per_user: int = Field(default=Quotas.tasks_per_user, ge=1)
    quota_series_per_user: int = Field(default=Quotas.series_per_user, ge=1)
    quota_tags_per_user: int = Field(default=Quotas.tags_per_user, ge=1)

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
    def _refuse_dapr_without_tokens_outside_dev(self) -> Settings:
        # Without the app token any pod that reaches a worker could post it events; without
        # the API token the app's calls would be refused by a sidecar that requires one.
        if self.environment in ("dev", "test") or self.event_bus != "dapr":
            return self
        missing = [
            name
            for name, token in (
                (ENV_APP_API_TOKEN, self.app_api_token),
                (ENV_DAPR_API_TOKEN, self.dapr_api_token),
            )
            if token is None
        ]
        if missing:
            raise ValueError(
                f"{' and '.join(missing)} must be set when {SETTINGS_PREFIX}EVENT_BUS=dapr and "
                f"{SETTINGS_PREFIX}ENVIRONMENT={self.environment}: Dapr's tokens are required "
                "outside dev and test"
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

    @model_validator(mode="after")
    def _refuse_unsafe_webhook_settings_outside_dev(self) -> Settings:
        if self.environment in ("dev", "test"):
            return self
        if self.webhook_allow_loopback:
            raise ValueError(
                f"{SETTINGS_PREFIX}WEBHOOK_ALLOW_LOOPBACK is for dev and test only, not "
                f"{SETTINGS_PREFIX}ENVIRONMENT={self.environment}"
            )
        key = self.webhook_secret_key.get_secret_value()
        if key == PLACEHOLDER_WEBHOOK_SECRET_KEY or len(key) < MIN_JWT_SECRET_LENGTH:
            raise ValueError(
                f"{SETTINGS_PREFIX}WEBHOOK_SECRET_KEY must be a random value of at least "
                f"{MIN_JWT_SECRET_LENGTH} characters when {SETTINGS_PREFIX}ENVIRONMENT="
                f"{self.environment}; the built-in placeholder is for dev only"
            )
        return self

    @property
    def recurrence_bounds(self) -> RecurrenceBounds:
        return RecurrenceBounds(
            max_years=self.recurrence_max_years,
            min_spacing=timedelta(minutes=self.recurrence_min_spacing_minutes),
            step_budget=self.recurrence_step_budget,
        )

    @property
    def quotas(self) -> Quotas:
        return Quotas(
            tasks_per_user=self.quota_tasks_per_user,
            series_per_user=self.quota_series_per_user,
            tags_per_user=self.quota_tags_per_user,
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings; tests build their own Settings instead."""
    return Settings()
