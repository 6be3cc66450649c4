"""Fixtures of the render tests: every stack rendered once per session."""

from __future__ import annotations

import pytest

from tests.infra.render.rendered import STACKS, Rendered, rendered


@pytest.fixture(scope="session", params=STACKS)
def render(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    return rendered(str(request.param), tmp_path_factory.getbasetemp() / "render")
