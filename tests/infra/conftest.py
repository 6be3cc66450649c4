"""Fixtures of the infra tests: one recorded run of the program per stack."""

from __future__ import annotations

import pytest

from infra.render.recording import Recording
from tests.infra.stacks import STACKS, recording


@pytest.fixture(params=STACKS)
def stack(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def recorded(stack: str) -> Recording:
    return recording(stack)
