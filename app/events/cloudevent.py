"""The CloudEvents 1.0 envelope Dapr wraps our payloads in."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.models.events import OutboxEvent

SOURCE = "taskstream"


class CloudEvent(BaseModel):
    """The attributes a consumer relies on; Dapr adds more (traceparent, pubsubname...)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: str = Field(min_length=1, max_length=64)
    source: str = SOURCE
    type: str = Field(min_length=1)
    specversion: str = "1.0"
    datacontenttype: str = "application/json"
    topic: str | None = None
    data: Any = None


class EnvelopeError(ValueError):
    """A body that is not a CloudEvent at all."""


def parse_envelope(body: bytes | str | dict[str, Any]) -> CloudEvent:
    try:
        raw = body if isinstance(body, dict) else json.loads(body)
        event = CloudEvent.model_validate(raw)
    except (ValueError, ValidationError) as exc:
        raise EnvelopeError(f"not a CloudEvent: {exc}") from exc
    if isinstance(event.data, str) and event.datacontenttype.endswith("json"):
        # Some publishers send JSON data as a string; accept both encodings.
        try:
            event.data = json.loads(event.data)
        except ValueError as exc:
            raise EnvelopeError("data is not JSON") from exc
    return event


def envelope_of(row: OutboxEvent) -> CloudEvent:
    """The envelope the embedded bus delivers: what Dapr would build for this outbox row."""
    # The distributed tracing extension, as daprd fills it from the publish metadata.
    tracing = {
        key: value
        for key, value in (("traceparent", row.traceparent), ("tracestate", row.tracestate))
        if value
    }
    return CloudEvent(
        id=str(row.event_id),
        source=SOURCE,
        type=row.event_type,
        topic=row.topic,
        data=row.payload,
        **tracing,
    )
