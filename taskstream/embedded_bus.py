"""The in-process event bus: outbox rows go straight to the subscribers Dapr would call."""

from __future__ import annotations

import time
from collections.abc import Sequence

from app.events.cloudevent import envelope_of
from app.models.events import OutboxEvent
from workers.runtime import Consumer


class EmbeddedPublisher:
    """Delivers each published row to every subscribed consumer with Dapr's contract.

    RETRY is retried with backoff; after the last attempt, and for DROP, the event is
    recorded as a dead letter, as Dapr would send it to the dead-letter topic.
    """

    def __init__(
        self, consumers: Sequence[Consumer], *, backoff_seconds: Sequence[float] = (0.05, 0.2, 1.0)
    ) -> None:
        self.consumers = list(consumers)
        self.backoff_seconds = list(backoff_seconds)

    def publish(self, row: OutboxEvent) -> None:
        envelope = envelope_of(row).model_dump(mode="json")
        for consumer in self.consumers:
            if row.topic not in consumer.routes:
                continue
            for delay in [*self.backoff_seconds, None]:
                if consumer.dispatch(row.topic, envelope) != "RETRY":
                    break
                if delay is None:
                    consumer.dead_letter(
                        row.topic, str(row.event_id), "retries exhausted", str(envelope)
                    )
                else:
                    time.sleep(delay)

    def close(self) -> None:
        return None
