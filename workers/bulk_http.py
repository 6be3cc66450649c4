"""The bulk delivery route daprd calls, and the dead-lettering of what a batch refused."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import httpx
from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool

from app.contract import Subscription
from app.events.publisher import dapr_api_headers
from app.settings import Settings
from workers.batch import Entry, Forward, Refusal, apply_batch
from workers.runtime import Consumer

log = logging.getLogger(__name__)


class DeadLetterForwarder:
    """Puts a refused entry's original on its dead-letter topic through the sidecar.

    What daprd does itself for a dropped single delivery; for a bulk one the app does
    it (see `workers.batch.apply_batch`). The original goes as it came (`rawPayload`),
    so the dead-letter topic holds the same bytes either way.
    """

    def __init__(self, settings: Settings, timeout: float = 5.0) -> None:
        self._pubsub = settings.pubsub_name
        self._headers = dapr_api_headers(settings.dapr_api_token)
        self._endpoint = settings.dapr_http_endpoint.rstrip("/")
        self._client = httpx.Client(base_url=self._endpoint, timeout=timeout)

    def to(self, dead_letter_topic: str) -> Forward:
        def forward(refused: Sequence[Refusal]) -> bool:
            return all(self._publish(dead_letter_topic, refusal) for refusal in refused)

        return forward

    def _publish(self, topic: str, refusal: Refusal) -> bool:
        body = refusal.entry.body
        content = body.encode() if isinstance(body, str) else None
        try:
            response = self._client.post(
                f"/v1.0/publish/{self._pubsub}/{topic}",
                params={"metadata.rawPayload": "true"},
                content=content,
                json=None if content is not None else body,
                headers=self._headers,
            )
        except httpx.HTTPError as exc:
            log.warning("dead-lettering to %s failed: %s", topic, exc)
            return False
        if response.status_code >= 300:
            log.warning("dead-lettering to %s failed: HTTP %s", topic, response.status_code)
            return False
        return True


def entries_of(body: Any) -> list[Entry]:
    """The entries of daprd's bulk envelope ({"entries": [{"entryId", "event", ...}]})."""
    listed = body.get("entries") if isinstance(body, dict) else None
    if not isinstance(listed, list):
        raise ValueError("a bulk delivery without an entries list")
    return [
        Entry(entry_id=str(item["entryId"]), body=item.get("event"))
        for item in listed
        if isinstance(item, dict) and item.get("entryId")
    ]


def add_bulk_route(
    app: FastAPI,
    consumer: Consumer,
    sub: Subscription,
    forwarder: DeadLetterForwarder,
    dependencies: list[Any],
) -> None:
    topic = sub.topic.name
    forward = forwarder.to(sub.topic.dead_letter)

    def deliver(body: Any) -> dict[str, list[dict[str, str]]]:
        try:
            entries = entries_of(body)
        except ValueError as exc:
            # Nothing to answer by entry: daprd retries every entry it sent.
            log.warning("%s got a malformed bulk delivery on %s: %s", consumer.name, topic, exc)
            return {"statuses": []}
        answers = apply_batch(consumer, topic, entries, forward)
        return {"statuses": [{"entryId": key, "status": ack} for key, ack in answers.items()]}

    async def endpoint(request: Request) -> dict[str, list[dict[str, str]]]:
        try:
            body = await request.json()
        except ValueError:
            body = None
        return await run_in_threadpool(deliver, body)

    app.add_api_route(
        sub.bulk_route,
        endpoint,
        methods=["POST"],
        tags=["dapr"],
        summary=f"Deliver a batch of {topic} events",
        dependencies=dependencies,
    )
