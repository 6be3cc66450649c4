"""Publishing outbox rows through the Dapr sidecar's HTTP API."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import httpx
from pydantic import SecretStr

from app.contract import DAPR_API_TOKEN_HEADER
from app.models.events import OutboxEvent


class PublishError(Exception):
    """The publish did not succeed (it may still have reached the broker)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


class Publisher(Protocol):
    def publish(self, row: OutboxEvent) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class BatchPublisher(Publisher, Protocol):
    def publish_batch(self, rows: Sequence[OutboxEvent]) -> dict[int, PublishError]:
        """Publish rows in one go; the failures by outbox row id (the rest went out)."""
        ...


class DaprPublisher:
    """POST /v1.0/publish/{pubsub}/{topic}, keyed by aggregate, with a stable event id.

    A 5xx or timeout can still have reached the broker, which is why the event id is the
    outbox row's: consumers dedupe on it.
    """

    def __init__(
        self,
        endpoint: str,
        pubsub: str,
        timeout: float = 5.0,
        api_token: SecretStr | str | None = None,
    ) -> None:
        self._client = httpx.Client(base_url=endpoint.rstrip("/"), timeout=timeout)
        self._pubsub = pubsub
        self._headers = dapr_api_headers(api_token)

    def publish(self, row: OutboxEvent) -> None:
        params = {f"metadata.{key}": value for key, value in _metadata(row).items()}
        try:
            response = self._client.post(
                f"/v1.0/publish/{self._pubsub}/{row.topic}",
                params=params,
                json=row.payload,
                headers=self._headers,
            )
        except httpx.HTTPError as exc:
            raise PublishError("connection", str(exc)) from exc
        if response.status_code >= 300:
            reason = "server" if response.status_code >= 500 else "rejected"
            raise PublishError(reason, f"HTTP {response.status_code}: {response.text[:300]}")

    def publish_batch(self, rows: Sequence[OutboxEvent]) -> dict[int, PublishError]:
        """One bulk publish per topic: one sidecar call and one produce request to the
        broker for the lot, instead of a round trip and an acknowledgement per event.

        The sidecar answers 204 when every entry went out, and otherwise lists the failed
        entries (by entryId, our outbox row id); without a usable list, all failed.
        """
        by_topic: dict[str, list[OutboxEvent]] = {}
        for row in rows:
            by_topic.setdefault(row.topic, []).append(row)
        failures: dict[int, PublishError] = {}
        for topic, batch in by_topic.items():
            failures.update(self._bulk(topic, batch))
        return failures

    def _bulk(self, topic: str, rows: list[OutboxEvent]) -> dict[int, PublishError]:
        entries = [
            {
                "entryId": str(row.id),
                "event": row.payload,
                "contentType": "application/json",
                "metadata": _metadata(row),
            }
            for row in rows
        ]
        try:
            response = self._client.post(
                f"/v1.0/publish/bulk/{self._pubsub}/{topic}", json=entries, headers=self._headers
            )
        except httpx.HTTPError as exc:
            return {_id(row): PublishError("connection", str(exc)) for row in rows}
        if response.status_code < 300:
            return {}
        reason = "server" if response.status_code >= 500 else "rejected"
        everything = PublishError(reason, f"HTTP {response.status_code}: {response.text[:300]}")
        try:
            listed = response.json()["failedEntries"]
            failed = {int(entry["entryId"]): str(entry.get("error", "")) for entry in listed}
        except (ValueError, KeyError, TypeError):
            return {_id(row): everything for row in rows}
        if not failed:
            return {_id(row): everything for row in rows}
        return {
            _id(row): PublishError(reason, failed[_id(row)] or everything.args[0])
            for row in rows
            if _id(row) in failed
        }

    def close(self) -> None:
        self._client.close()


def dapr_api_headers(token: SecretStr | str | None) -> dict[str, str]:
    """The header daprd checks when its API token is set; none when it is not."""
    value = token.get_secret_value() if isinstance(token, SecretStr) else token
    return {DAPR_API_TOKEN_HEADER: value} if value else {}


def _metadata(row: OutboxEvent) -> dict[str, str]:
    """Kafka key (per-task order), the CloudEvent attributes consumers dedupe on, and the
    trace context daprd copies into the CloudEvent (app/tracing.py)."""
    metadata = {
        "partitionKey": str(row.aggregate_id),
        "cloudevent.id": str(row.event_id),
        "cloudevent.type": row.event_type,
        "cloudevent.source": "taskstream",
    }
    if row.traceparent:
        metadata["cloudevent.traceparent"] = row.traceparent
        if row.tracestate:
            metadata["cloudevent.tracestate"] = row.tracestate
    return metadata


def _id(row: OutboxEvent) -> int:
    assert row.id is not None, "only stored outbox rows are published"
    return row.id
