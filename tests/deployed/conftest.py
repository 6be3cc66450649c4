"""Fixtures of the deployed tier: each stack rendered once, one Kafka broker for all of it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.contract import TOPICS
from tests.infra.render.rendered import rendered
from tests.support.deployed.objects import RenderedObjects, load_objects
from tests.support.engines import require_kafka
from tests.support.kafka import KafkaBroker

# The stacks whose workloads the tier starts; prod differs from dev in sizes and names only.
DEPLOYED_STACKS = ("local", "dev")


def rendered_objects(stack: str, tmp_path_factory: pytest.TempPathFactory) -> RenderedObjects:
    """The stack rendered through `taskstream render` (shared with the render tests)."""
    result = rendered(stack, tmp_path_factory.getbasetemp() / "render")
    assert result.exit_code == 0, f"render {stack} failed:\n{result.output}"
    return load_objects(stack, result.out)


@pytest.fixture(scope="session", params=DEPLOYED_STACKS)
def objects(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> RenderedObjects:
    return rendered_objects(str(request.param), tmp_path_factory)


@pytest.fixture(scope="session")
def kafka() -> Iterator[KafkaBroker]:
    """One broker for both stacks, its topics created up front as the rpk Job would."""
    require_kafka()
    with KafkaBroker() as broker:
        broker.create_topics(TOPICS)
        yield broker
