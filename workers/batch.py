"""Bulk deliveries: a batch of one partition's events applied in one transaction.

Each entry still gets its own answer with today's meaning: applied or already applied
(SUCCESS), refused for good (dead-lettered, and SUCCESS to daprd: see `apply_batch`),
or to be tried again (RETRY). The inbox row of each applied event commits with its side
effect, so a redelivered batch applies nothing twice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, insert, select

from app import logs, tracing
from app.events.cloudevent import CloudEvent
from app.models.events import DeadLetter, InboxEntry
from workers.runtime import (
    CONSUMED,
    DROPPED,
    Ack,
    Consumer,
    Event,
    PermanentError,
    Rejected,
    Route,
    Screened,
    TransientError,
    _log_context_of,
    _printable,
    screen,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entry:
    """One event of a bulk delivery, as daprd sent it."""

    entry_id: str
    body: Any  # the CloudEvent as a mapping, or whatever bytes or text came


@dataclass(frozen=True)
class Refusal:
    """An entry this consumer will never apply: it goes to the dead letters."""

    entry: Entry
    event_id: str | None
    reason: str


# Sends the refused entries' originals to the dead-letter topic; False if it could not.
Forward = Callable[[Sequence[Refusal]], bool]


@dataclass(frozen=True)
class _Ready:
    entry: Entry
    screened: Screened

    @property
    def envelope(self) -> CloudEvent:
        return self.screened.envelope

    @property
    def event(self) -> Event:
        return self.screened.event


class _Retry(Exception):
    """The transaction cannot go on: every entry not yet answered is retried."""


def _screen(route: Route | None, topic: str, entry: Entry) -> _Ready | Refusal:
    """The single delivery's checks (`workers.runtime.screen`), answered per entry."""
    screened = screen(route, topic, entry.body)
    if isinstance(screened, Rejected):
        return Refusal(entry, screened.event_id, screened.reason)
    return _Ready(entry, screened)


def apply_batch(
    consumer: Consumer, topic: str, entries: Sequence[Entry], forward: Forward
) -> dict[str, Ack]:
    """Apply a batch in one transaction and answer each entry by its entry id.

    Refused entries are recorded as dead letters in the same transaction and handed to
    `forward` before it commits, and daprd is told SUCCESS for them, never DROP: daprd
    1.18.3 finds a dropped entry's original by its position among the entries it
    received, yet looks it up among those it *sent* (pkg/runtime/subscription/postman/
    http/http.go, DeliverBulk), which is another entry, or past the end (a panic), once
    it held back an entry it could not parse or is retrying part of a batch.
    """
    route = consumer.routes.get(topic)
    screened = [_screen(route, topic, entry) for entry in entries]
    refused = [s for s in screened if isinstance(s, Refusal)]
    ready = [s for s in screened if isinstance(s, _Ready)]
    answers: dict[str, Ack] = {}
    with Session(consumer.engine, expire_on_commit=False) as session:
        try:
            applied = (
                route is None
                or not ready
                or _apply_all(session, consumer, route, topic, ready, answers)
            )
            if not applied:
                assert route is not None
                session.rollback()
                answers.clear()
                refused += _apply_each(session, consumer, route, topic, ready, answers)
            if refused and not forward(refused):
                raise _Retry("the dead-letter topic could not be reached")
            for refusal in refused:
                session.add(_dead_letter(consumer.name, topic, refusal))
            # Each inbox row keeps the time it was built, at most one batch before the
            # commit: benchmarks reading it are that much optimistic.
            session.commit()
        except (_Retry, OperationalError, IntegrityError) as exc:
            session.rollback()
            log.warning(
                "%s: a batch of %d on %s is retried: %s", consumer.name, len(entries), topic, exc
            )
            return _count(consumer, topic, {entry.entry_id: "RETRY" for entry in entries}, [])
    for refusal in refused:
        log.warning("%s drops an event on %s: %s", consumer.name, topic, refusal.reason)
        answers[refusal.entry.entry_id] = "SUCCESS"
    _log_applied(consumer, topic, ready, answers)
    # An entry left unanswered (the batch stopped before it) is retried.
    return _count(
        consumer, topic, {e.entry_id: answers.get(e.entry_id, "RETRY") for e in entries}, refused
    )


def _log_applied(
    consumer: Consumer, topic: str, ready: Sequence[_Ready], answers: dict[str, Ack]
) -> None:
    """A line per applied event naming it and its trace, as a single delivery's request
    line does; the batch's own request line names no event."""
    context = logs.current()
    before = (context.event_id, context.trace_id) if context is not None else (None, None)
    for item in ready:
        if answers.get(item.entry.entry_id) == "SUCCESS":
            _log_context_of(item.envelope)
            log.info("%s applied %s from %s", consumer.name, item.envelope.type, topic)
    if context is not None:
        context.event_id, context.trace_id = before


def _count(
    consumer: Consumer, topic: str, answers: dict[str, Ack], refused: Sequence[Refusal]
) -> dict[str, Ack]:
    dropped = {refusal.entry.entry_id for refusal in refused}
    for refusal in refused:
        DROPPED.labels(consumer.name, topic, refusal.reason.split(":")[0]).inc()
    for entry_id, ack in answers.items():
        CONSUMED.labels(consumer.name, topic, "DROP" if entry_id in dropped else ack).inc()
    return answers


def _already_seen(session: Session, consumer: Consumer, ready: Sequence[_Ready]) -> set[str]:
    ids = [r.envelope.id for r in ready]
    query = select(InboxEntry.event_id).where(
        InboxEntry.consumer == consumer.name, col(InboxEntry.event_id).in_(ids)
    )
    return set(session.exec(query))


def _apply_all(
    session: Session,
    consumer: Consumer,
    route: Route,
    topic: str,
    ready: Sequence[_Ready],
    answers: dict[str, Ack],
) -> bool:
    """The common case, without a savepoint per entry: every handler succeeds.

    False when one did not; the caller then rolls back and goes entry by entry."""
    seen = _already_seen(session, consumer, ready)
    fresh: list[_Ready] = []
    for item in ready:
        answers[item.entry.entry_id] = "SUCCESS"
        if item.envelope.id not in seen:  # else a redelivery, or the same event twice here
            seen.add(item.envelope.id)
            fresh.append(item)
    try:
        if route.batch_handler is not None and not tracing.enabled():
            if fresh:
                # Rows, not table models: building a model per event cost more than the
                # database's work for the whole batch.
                rows = [
                    {"consumer": consumer.name, "event_id": item.envelope.id, "topic": topic}
                    for item in fresh
                ]
                session.execute(insert(InboxEntry), rows)
            route.batch_handler(session, [(item.event, item.envelope) for item in fresh])
        else:
            # Traced, each event's statements run inside its own consume span, which a
            # handler for the whole batch would merge: such batches go event by event.
            for item in fresh:
                _apply_one(session, consumer, route, topic, item)
        session.flush()
    except Exception as exc:  # whose failure it was, the careful path finds out
        log.info("%s: a batch on %s goes entry by entry: %s", consumer.name, topic, exc)
        return False
    return True


def _apply_one(
    session: Session, consumer: Consumer, route: Route, topic: str, item: _Ready
) -> None:
    session.add(InboxEntry(consumer=consumer.name, event_id=item.envelope.id, topic=topic))
    with tracing.consume_span(topic, item.envelope):
        route.handler(session, item.event, item.envelope)
        if tracing.enabled():
            # Traced, each event's statements run inside its own consume span;
            # untraced, one flush sends the whole batch's rows together.
            session.flush()


def _apply_each(
    session: Session,
    consumer: Consumer,
    route: Route,
    topic: str,
    ready: Sequence[_Ready],
    answers: dict[str, Ack],
) -> list[Refusal]:
    """Entry by entry, each in a savepoint, with the single-event path's outcomes.

    The first entry to be retried stops the batch: it and every later entry stay
    unanswered (RETRY), so a partition's events are still applied in order.
    """
    refused: list[Refusal] = []
    seen = _already_seen(session, consumer, ready)
    for item in ready:
        event_id = item.envelope.id
        if event_id in seen:
            answers[item.entry.entry_id] = "SUCCESS"
            continue
        whole = session.begin_nested()
        try:
            with session.begin_nested():
                session.add(InboxEntry(consumer=consumer.name, event_id=event_id, topic=topic))
                session.flush()
        except IntegrityError:
            whole.rollback()
            answers[item.entry.entry_id] = "SUCCESS"  # a concurrent delivery committed it
            continue
        try:
            with tracing.consume_span(topic, item.envelope):
                route.handler(session, item.event, item.envelope)
                session.flush()
        except (IntegrityError, PermanentError) as exc:
            whole.rollback()
            log.warning("%s: event %s cannot be applied: %s", consumer.name, event_id, exc)
            refused.append(Refusal(item.entry, event_id, "permanent: the handler refused it"))
            continue
        except (TransientError, OperationalError) as exc:
            whole.rollback()
            log.warning("%s: event %s will be retried: %s", consumer.name, event_id, exc)
            return refused
        except Exception:
            whole.rollback()
            log.exception("%s: event %s failed unexpectedly; retrying", consumer.name, event_id)
            return refused
        whole.commit()
        seen.add(event_id)
        answers[item.entry.entry_id] = "SUCCESS"
    return refused


def _dead_letter(consumer: str, topic: str, refusal: Refusal) -> DeadLetter:
    body = refusal.entry.body
    text = body if isinstance(body, str) else _as_text(body)
    return DeadLetter(
        consumer=consumer,
        topic=topic,
        event_id=refusal.event_id,
        # PostgreSQL text cannot hold NUL, and a poison body may contain anything.
        reason=_printable(refusal.reason[:2000]),
        body=_printable(text[:20_000]),
    )


def _as_text(body: Any) -> str:
    try:
        return json.dumps(body)
    except (TypeError, ValueError):
        return repr(body)
