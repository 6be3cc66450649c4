"""How the stack is operated: tracing's sampling and storage, and the optional kagent."""

from __future__ import annotations

import re

from infra.config_fields import ConfigError, Reader, quantity
from infra.config_model import KagentConfig, Sensitive, TracingConfig

# A probability as Dapr's samplingRate takes it: 0, 1 or a decimal between them.
SAMPLING_RATE = re.compile(r"^(0(\.[0-9]+)?|1(\.0+)?)$")
HOURS = re.compile(r"^[0-9]+h$")

# The kagent chart's providers that take an API key (helm/kagent/values.yaml, v0.9.12).
KAGENT_PROVIDERS = ("openAI", "anthropic", "gemini")


def parse_tracing(r: Reader) -> TracingConfig:
    defaults = TracingConfig()
    return TracingConfig(
        sampling_rate=r.text(
            "tracingSamplingRate",
            defaults.sampling_rate,
            SAMPLING_RATE,
            "use a probability from 0 (off) to 1 (every request), such as 0.1",
        ),
        retention=r.text(
            "tracingRetention", defaults.retention, HOURS, "use whole hours such as 72h"
        ),
        storage=quantity("tracingStorage", r.text("tracingStorage", defaults.storage)),
    )


def parse_kagent(r: Reader) -> KagentConfig | None:
    if not r.boolean("kagent", False):
        for key in ("kagentProvider", "kagentApiKey"):
            if r.has(key):
                raise ConfigError(key, "has no effect unless taskstream:kagent is true")
        return None
    provider = r.choice("kagentProvider", KAGENT_PROVIDERS, "openAI")
    if not r.has("kagentApiKey"):
        # Never read the value into the message: it is a secret.
        raise ConfigError(
            "kagentApiKey",
            f"is required with kagent true; run `pulumi config set --secret kagentApiKey "
            f"<{provider} API key>`",
        )
    return KagentConfig(provider=provider, api_key=Sensitive(r.text("kagentApiKey")))
