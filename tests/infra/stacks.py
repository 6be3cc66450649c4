"""The three stacks, each parsed from its Pulumi.<stack>.yaml and run once under mocks."""

from __future__ import annotations

import functools
from pathlib import Path

from infra.config_model import StackConfig
from infra.render.offline import run_offline
from infra.render.recording import Recording
from infra.render.stack_files import load_stack

ROOT = Path(__file__).resolve().parents[2]
STACKS = ("dev", "prod", "local")
# The prod stack file holds no secret; this stands in for `pulumi config set --secret`.
TEST_SECRETS = {
    "prod": {"alertWebhookUrls": '{"oncall": "https://hooks.example.com/mock-secret-value"}'}
}


@functools.cache
def stack_config(stack: str) -> StackConfig:
    return load_stack(stack, ROOT, TEST_SECRETS.get(stack))


@functools.cache
def recording(stack: str) -> Recording:
    return run_offline(stack_config(stack))
