"""Operating the dead letters: list and inspect them, replay them through the outbox, discard.

A replay puts the event back into the outbox (the original row when retention kept it,
else a row rebuilt from the dead-lettered CloudEvent with the same id), so the relay
publishes it in order with the task's other events and every consumer's inbox still
dedupes it. The event reaches every subscriber of its topic again; those that applied it
skip it, and one that refuses it again writes a new dead letter.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.contract import TOPICS
from app.db import utcnow
from app.events.cloudevent import EnvelopeError, parse_envelope
from app.events.wakeup import mark_staged
from app.models.events import DeadLetter, OutboxEvent

KNOWN_TOPICS = frozenset(topic.name for topic in TOPICS)


class EmptySelection(ValueError):
    """Replay and discard act on named dead letters or filtered ones, never on all at once."""


@dataclass(frozen=True)
class Selection:
    """Which dead letters an operation applies to; every given criterion must hold."""

    ids: tuple[int, ...] = ()
    topic: str | None = None
    consumer: str | None = None
    older_than: timedelta | None = None
    newer_than: timedelta | None = None

    @property
    def is_empty(self) -> bool:
        return not self.ids and not any(
            (self.topic, self.consumer, self.older_than, self.newer_than)
        )

    def where(self, now: datetime) -> list[sa.ColumnElement[bool]]:
        conditions: list[sa.ColumnElement[bool]] = []
        if self.ids:
            conditions.append(col(DeadLetter.id).in_(self.ids))
        if self.topic is not None:
            conditions.append(col(DeadLetter.topic) == self.topic)
        if self.consumer is not None:
            conditions.append(col(DeadLetter.consumer) == self.consumer)
        if self.older_than is not None:
            conditions.append(col(DeadLetter.created_at) <= now - self.older_than)
        if self.newer_than is not None:
            conditions.append(col(DeadLetter.created_at) > now - self.newer_than)
        return conditions


@dataclass
class ReplayReport:
    """What a replay did: event ids put back into the outbox, dead letters left and why."""

    requeued: list[str] = field(default_factory=list)  # the original outbox row, sent again
    rebuilt: list[str] = field(default_factory=list)  # a new outbox row from the dead letter
    cleared: int = 0  # dead letters removed because their event is in flight again
    skipped: dict[int, str] = field(default_factory=dict)  # dead letter id -> why it stays


def select_dead_letters(
    session: Session, selection: Selection, *, limit: int | None = None, now: datetime | None = None
) -> list[DeadLetter]:
    """The selected dead letters, oldest first."""
    query = (
        select(DeadLetter)
        .where(*selection.where(now or utcnow()))
        .order_by(col(DeadLetter.id))
        .limit(limit)
    )
    return list(session.exec(query))


def discard(session: Session, selection: Selection, *, now: datetime | None = None) -> int:
    """Delete the selected dead letters for good; returns how many. Commits."""
    if selection.is_empty:
        raise EmptySelection("discarding needs dead letter ids or at least one filter")
    statement = sa.delete(DeadLetter).where(*selection.where(now or utcnow()))
    deleted = session.execute(statement).rowcount  # type: ignore[attr-defined]
    session.commit()
    return int(deleted or 0)


def replay(
    session: Session,
    selection: Selection,
    *,
    inbox_retention: timedelta,
    force: bool = False,
    now: datetime | None = None,
) -> ReplayReport:
    """Put the selected dead letters' events back into the outbox, in one transaction.

    An event older than the inbox retention is left alone unless `force`: the consumers'
    inbox rows that made it a no-op for them may be gone, so they would apply it twice.
    """
    if selection.is_empty:
        raise EmptySelection("replaying needs dead letter ids or at least one filter")
    now = now or utcnow()
    report = ReplayReport()
    by_event: dict[tuple[str, str], list[DeadLetter]] = {}
    for letter in select_dead_letters(session, selection, now=now):
        assert letter.id is not None
        event_id, why = _event_id(letter)
        if event_id is None:
            report.skipped[letter.id] = why
        else:
            by_event.setdefault((letter.topic, event_id), []).append(letter)
    for (topic, event_id), letters in by_event.items():
        refused = _put_back(
            session, topic, event_id, letters[0], inbox_retention, force, now, report
        )
        if refused is not None:
            report.skipped.update(
                {letter.id: refused for letter in letters if letter.id is not None}
            )
            continue
        # Every consumer of the topic receives the event again, so every dead letter of it
        # on that topic is superseded, selected or not.
        cleared = session.execute(
            sa.delete(DeadLetter).where(
                col(DeadLetter.topic) == topic, col(DeadLetter.event_id) == event_id
            )
        )
        report.cleared += int(cleared.rowcount or 0)  # type: ignore[attr-defined]
    if report.requeued or report.rebuilt:
        mark_staged(session)
    session.commit()
    return report


def _event_id(letter: DeadLetter) -> tuple[str | None, str]:
    if letter.topic not in KNOWN_TOPICS:
        return None, f"topic {letter.topic!r} is not one the relay publishes to"
    if letter.event_id is not None:
        return letter.event_id, ""
    try:
        return parse_envelope(letter.body).id, ""
    except EnvelopeError:
        return None, "the body is not a CloudEvent, so there is no event to replay"


def _put_back(
    session: Session,
    topic: str,
    event_id: str,
    letter: DeadLetter,
    inbox_retention: timedelta,
    force: bool,
    now: datetime,
    report: ReplayReport,
) -> str | None:
    """Queue the event again; returns why not when it cannot be."""
    try:
        key = uuid.UUID(event_id)
    except ValueError:
        return f"event id {event_id!r} is not one the outbox issued"
    row = session.exec(select(OutboxEvent).where(OutboxEvent.event_id == key)).first()
    born = row.created_at if row is not None else letter.created_at
    if not force and now - born > inbox_retention:
        return (
            f"the event is older than the inbox retention ({inbox_retention.days} days): "
            "consumers that applied it may apply it again; replay with force to accept that"
        )
    if row is not None:
        if row.published_at is not None:
            row.published_at = None
            row.attempts = 0
            row.next_attempt_at = None
            row.claimed_by = row.claimed_until = None
            row.last_error = None
            session.add(row)
        report.requeued.append(event_id)
        return None
    rebuilt, why = _rebuild(topic, key, letter)
    if rebuilt is None:
        return why
    session.add(rebuilt)
    report.rebuilt.append(event_id)
    return None


def _rebuild(topic: str, key: uuid.UUID, letter: DeadLetter) -> tuple[OutboxEvent | None, str]:
    """The outbox row the relay would have published this CloudEvent from."""
    try:
        envelope = parse_envelope(letter.body)
    except EnvelopeError:
        return None, "the outbox row is gone and the body is not a CloudEvent"
    data = envelope.data
    if not isinstance(data, dict):
        return None, "the outbox row is gone and the CloudEvent carries no JSON object"
    try:
        aggregate_id = uuid.UUID(str(data["task_id"]))
        owner_id = uuid.UUID(str(data["owner_id"]))
    except (KeyError, ValueError):
        return None, "the outbox row is gone and the event names no task_id and owner_id"
    row = OutboxEvent(
        event_id=key,
        topic=topic,
        event_type=envelope.type,
        aggregate_id=aggregate_id,
        owner_id=owner_id,
        payload=data,
    )
    return row, ""


def parse_age(text: str) -> timedelta:
    """'90s', '15m', '12h', '7d' as a timedelta; anything else is a ValueError naming it."""
    units = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
    number, unit = text[:-1], text[-1:]
    if unit not in units or not number.isdigit() or len(number) > 6:
        raise ValueError(f"age {text!r}: use a whole number with s, m, h or d, e.g. 12h or 7d")
    return timedelta(**{units[unit]: int(number)})


def summary(letters: Sequence[DeadLetter]) -> list[str]:
    """One line per dead letter, for a terminal."""
    return [
        f"{d.id}\t{d.created_at:%Y-%m-%d %H:%M:%S}\t{d.consumer}\t{d.topic}\t"
        f"{d.event_id or '-'}\t{d.reason.splitlines()[0][:100]}"
        for d in letters
    ]
