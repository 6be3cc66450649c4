"""Publishing outbox rows through the Dapr sidecar's HTTP API."""

from __future__ import annotations

from typing import Protocol

import httpx

from app.models.events import OutboxEvent


class PublishError(Exception):
    """The publish did not succeed (it may still have reached the broker)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


class Publisher(Protocol):
    def publish(self, row: OutboxEvent) -> None: ...

    def close(self) -> None: ...


class DaprPublisher:
    """POST /v1.0/publish/{pubsub}/{topic}, keyed by aggregate, with a stable event id.

    A 5xx or timeout can still have reached the broker, which is why the event id is the
    outbox row's: consumers dedupe on it.
    """

    def __init__(self, endpoint: str, pubsub: str, timeout: float = 5.0) -> None:
        self._client = httpx.Client(base_url=endpoint.rstrip("/"), timeout=timeout)
        self._pubsub = pubsub

    def publish(self, row: OutboxEvent) -> None:
        params = {
            "metadata.partitionKey": str(row.aggregate_id),
            "metadata.cloudevent.id": str(row.event_id),
            "metadata.cloudevent.type": row.event_type,
            "metadata.cloudevent.source": "taskstream",
        }
        try:
            response = self._client.post(
                f"/v1.0/publish/{self._pubsub}/{row.topic}", params=params, json=row.payload
            )
        except httpx.HTTPError as exc:
            raise PublishError("connection", str(exc)) from exc
        if response.status_code >= 300:
            reason = "server" if response.status_code >= 500 else "rejected"
            raise PublishError(reason, f"HTTP {response.status_code}: {response.text[:300]}")

    def close(self) -> None:
        self._client.close()
