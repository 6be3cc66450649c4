"""The idempotent `rpk` script that declares every topic and dead-letter topic."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from app import contract

# Dead letters are rare and read by people, so one partition, kept twice as long.
DEAD_LETTER_PARTITIONS = 1
DEAD_LETTER_RETENTION_FACTOR = 2


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    retention_ms: int


def topic_specs(topics: Sequence[contract.Topic] = contract.TOPICS) -> list[TopicSpec]:
    """Every topic the system uses, each followed by its dead-letter topic."""
    specs: list[TopicSpec] = []
    for topic in topics:
        hour_ms = 3_600_000
        specs.append(TopicSpec(topic.name, topic.partitions, topic.retention_hours * hour_ms))
        specs.append(
            TopicSpec(
                topic.dead_letter,
                DEAD_LETTER_PARTITIONS,
                topic.retention_hours * hour_ms * DEAD_LETTER_RETENTION_FACTOR,
            )
        )
    return specs


def create_topics_script(specs: Sequence[TopicSpec], *, replicas: int) -> str:
    """A shell script that creates missing topics and converges retention on existing ones.

    Running it twice is harmless: `describe` skips creation, `alter-config` is a set.
    """
    lines = ["set -eu"]
    for spec in specs:
        name = shlex.quote(spec.name)
        retention = f"retention.ms={spec.retention_ms}"
        lines.append(
            f"rpk topic describe {name} >/dev/null 2>&1 || "
            f"rpk topic create {name} --partitions {spec.partitions} "
            f"--replicas {replicas} --topic-config {retention}"
        )
        lines.append(f"rpk topic alter-config {name} --set {retention}")
    return "\n".join(lines) + "\n"
