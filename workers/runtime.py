"""The shared worker runtime: CloudEvent parsing, inbox dedupe, and Dapr's ack contract."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from prometheus_client import Counter
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

from app import logs, tracing
from app.contract import Subscription
from app.events.cloudevent import CloudEvent, EnvelopeError, parse_envelope
from app.events.models import AnyEvent, ReminderDue, TaskEvent
from app.models.events import DeadLetter, InboxEntry

log = logging.getLogger(__name__)

Ack = Literal["SUCCESS", "RETRY", "DROP"]
Event = TaskEvent | ReminderDue
Handler = Callable[[Session, Event, CloudEvent], None]
# A batch's new events, in delivery order, applied with the same effect as `Handler` on
# each in turn, only with fewer round trips (workers/batch.py).
BatchHandler = Callable[[Session, Sequence[tuple[Event, CloudEvent]]], None]

CONSUMED = Counter(
    "taskstream_events_consumed_total", "Events handled", ["consumer", "topic", "status"]
)
DROPPED = Counter(
    "taskstream_events_dropped_total", "Events dead-lettered", ["consumer", "topic", "reason"]
)
_EVENTS: TypeAdapter[Event] = TypeAdapter(AnyEvent)


def _printable(text: str) -> str:
    return text.replace("\x00", "\\x00")


def _log_context_of(envelope: CloudEvent) -> None:
    """This delivery's log lines name the event, and the trace daprd carried it in."""
    context = logs.current()
    if context is None:  # the in-process bus: no HTTP request around the delivery
        context = logs.LogContext()
        logs.bind(context)
    context.event_id = envelope.id
    traceparent = getattr(envelope, "traceparent", None)
    trace_id = logs.trace_id_of(traceparent if isinstance(traceparent, str) else None)
    if trace_id is not None:
        context.trace_id = trace_id


class TransientError(Exception):
    """A failure worth retrying (a dependency is down)."""


class PermanentError(Exception):
    """An event that can never be applied; it goes to the dead letters."""


@dataclass(frozen=True)
class Route:
    subscription: Subscription
    handler: Handler
    batch_handler: BatchHandler | None = None


@dataclass(frozen=True)
class Screened:
    """A delivery fit to apply: the route it takes, its envelope and its validated event."""

    route: Route
    envelope: CloudEvent
    event: Event


@dataclass(frozen=True)
class Rejected:
    """A delivery no consumer will ever apply, and why; the envelope when it had one."""

    reason: str
    envelope: CloudEvent | None = None

    @property
    def event_id(self) -> str | None:
        return self.envelope.id if self.envelope is not None else None


def screen(
    route: Route | None, topic: str, body: bytes | str | dict[str, Any]
) -> Screened | Rejected:
    """What every delivery, alone or in a batch, must pass before it is applied: a route
    for its topic, a CloudEvent envelope, and a payload one of our events."""
    if route is None:
        return Rejected(f"unsubscribed: no route for topic {topic}")
    try:
        envelope = parse_envelope(body)
    except EnvelopeError as exc:
        return Rejected(f"envelope: {exc}")
    try:
        return Screened(route, envelope, _EVENTS.validate_python(envelope.data))
    except ValidationError as exc:
        return Rejected(f"payload: {exc}", envelope)


class Consumer:
    """Applies events exactly once per consumer: the inbox row commits with the side effect."""

    def __init__(self, name: str, engine: Engine, routes: list[Route]) -> None:
        self.name = name
        self.engine = engine
        self.routes = {route.subscription.topic.name: route for route in routes}

    @property
    def subscriptions(self) -> list[Subscription]:
        return [route.subscription for route in self.routes.values()]

    def dead_letter(self, topic: str, event_id: str | None, reason: str, body: Any) -> Ack:
        DROPPED.labels(self.name, topic, reason.split(":")[0]).inc()
        CONSUMED.labels(self.name, topic, "DROP").inc()
        log.warning("%s drops an event on %s: %s", self.name, topic, reason)
        text = body if isinstance(body, str) else repr(body)
        with Session(self.engine) as session:
            session.add(
                DeadLetter(
                    consumer=self.name,
                    topic=topic,
                    event_id=event_id,
                    # PostgreSQL text cannot hold NUL, and a poison body may contain anything.
                    reason=_printable(reason[:2000]),
                    body=_printable(text[:20_000]),
                )
            )
            session.commit()
        return "DROP"

    def dispatch(self, topic: str, body: bytes | str | dict[str, Any]) -> Ack:
        """Handle one delivery and say what the broker should do with it."""
        raw = body.decode(errors="replace") if isinstance(body, bytes) else body
        screened = screen(self.routes.get(topic), topic, body)
        envelope = screened.envelope
        if envelope is None:
            assert isinstance(screened, Rejected)  # a screened delivery has its envelope
            return self.dead_letter(topic, None, screened.reason, raw)
        _log_context_of(envelope)
        # A refused payload still gets its consume span: the trace shows where it ended.
        with tracing.consume_span(topic, envelope) as span:
            if isinstance(screened, Rejected):
                ack = self.dead_letter(topic, envelope.id, screened.reason, raw)
            else:
                ack = self._apply_and_count(topic, screened, raw)
            if span is not None:
                span.set_attribute("taskstream.ack", ack)
        return ack

    def _apply_and_count(self, topic: str, screened: Screened, raw: Any) -> Ack:
        envelope = screened.envelope
        ack = self._apply(screened.route, topic, envelope, screened.event)
        if ack == "DROP":
            return self.dead_letter(topic, envelope.id, "permanent: the handler refused it", raw)
        CONSUMED.labels(self.name, topic, ack).inc()
        return ack

    def _apply(self, route: Route, topic: str, envelope: CloudEvent, event: Event) -> Ack:
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                session.add(InboxEntry(consumer=self.name, event_id=envelope.id, topic=topic))
                session.flush()
            except IntegrityError:
                session.rollback()
                return "SUCCESS"  # already applied: a redelivery
            try:
                route.handler(session, event, envelope)
                session.commit()
            except IntegrityError as exc:
                session.rollback()
                if self._already_applied(envelope.id):
                    return "SUCCESS"
                log.warning("%s: constraint violated by event %s: %s", self.name, envelope.id, exc)
                return "DROP"
            except PermanentError as exc:
                session.rollback()
                log.warning("%s: event %s cannot be applied: %s", self.name, envelope.id, exc)
                return "DROP"
            except (TransientError, OperationalError) as exc:
                session.rollback()
                log.warning("%s: event %s will be retried: %s", self.name, envelope.id, exc)
                return "RETRY"
            except Exception:
                session.rollback()
                log.exception("%s: event %s failed unexpectedly; retrying", self.name, envelope.id)
                return "RETRY"
        return "SUCCESS"

    def _already_applied(self, event_id: str) -> bool:
        with Session(self.engine) as session:
            return session.get(InboxEntry, (self.name, event_id)) is not None
