"""The outbox relay: claims pending rows, publishes them in order, marks them sent."""

from __future__ import annotations

import logging
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import sqlalchemy as sa
from prometheus_client import Counter, Gauge
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from app import tracing
from app.contract import METRIC_OUTBOX_OLDEST_PENDING
from app.db import utcnow
from app.events.publisher import BatchPublisher, Publisher, PublishError
from app.events.wakeup import OutboxSignal
from app.models.events import OutboxEvent

log = logging.getLogger(__name__)

PUBLISHED = Counter("taskstream_outbox_published_total", "Outbox events published", ["topic"])
FAILURES = Counter(
    "taskstream_outbox_publish_failures_total", "Failed publish attempts", ["topic", "reason"]
)
LAG = Gauge(METRIC_OUTBOX_OLDEST_PENDING, "Age of the oldest unpublished outbox event")
PENDING = Gauge("taskstream_outbox_pending", "Unpublished outbox events")

CLAIM_LEASE = timedelta(seconds=30)
GAUGE_INTERVAL_SECONDS = 2.0
MAX_BACKOFF_SECONDS = 60.0


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(MAX_BACKOFF_SECONDS, 0.5 * 2 ** max(0, attempts - 1)))


class OutboxRelay:
    """One relay instance; several may run against one database without double publishing."""

    def __init__(
        self,
        engine: Engine,
        publisher: Publisher,
        *,
        batch_size: int = 100,
        concurrency: int = 1,
    ) -> None:
        self.engine = engine
        self.publisher = publisher
        self.batch_size = batch_size
        # The publisher must be safe to call from several threads when concurrency > 1.
        self._pool = (
            ThreadPoolExecutor(concurrency, thread_name_prefix="relay-publish")
            if concurrency > 1
            else None
        )
        self.instance = f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
        # The sidecar's own health stays green while the broker is down; only a publish
        # tells, so readiness follows the latest batch: not ready if nothing in it went out.
        self.last_publish_failed = False
        self._gauges_at = 0.0

    def _claim(self) -> list[OutboxEvent]:
        """Lease a batch of due rows to this instance (SKIP LOCKED on PostgreSQL)."""
        now = utcnow()
        table = OutboxEvent.__table__  # type: ignore[attr-defined]
        earlier = table.alias("earlier")
        # An event waits while an earlier event of the same task is in backoff or leased
        # elsewhere, so each task's events reach the broker in order.
        held_back = (
            sa.select(earlier.c.id)
            .where(
                earlier.c.aggregate_id == table.c.aggregate_id,
                earlier.c.id < table.c.id,
                earlier.c.published_at.is_(None),
                sa.or_(earlier.c.next_attempt_at > now, earlier.c.claimed_until >= now),
            )
            .exists()
        )
        with Session(self.engine, expire_on_commit=False) as session:
            query = (
                select(OutboxEvent)
                .where(
                    col(OutboxEvent.published_at).is_(None),
                    sa.or_(
                        col(OutboxEvent.next_attempt_at).is_(None),
                        col(OutboxEvent.next_attempt_at) <= now,
                    ),
                    sa.or_(
                        col(OutboxEvent.claimed_until).is_(None),
                        col(OutboxEvent.claimed_until) < now,
                    ),
                    ~held_back,
                )
                .order_by(col(OutboxEvent.id))
                .limit(self.batch_size)
                .with_for_update(skip_locked=True)
            )
            rows = list(session.exec(query))
            for row in rows:
                row.claimed_by = self.instance
                row.claimed_until = now + CLAIM_LEASE
                session.add(row)
            session.commit()
            return rows

    def _settle(
        self, row: OutboxEvent, error: PublishError | None, *, defer_until: datetime | None = None
    ) -> datetime | None:
        """Record the outcome and release the lease; returns when a failed row is retried."""
        retry_at: datetime | None = None
        with Session(self.engine) as session:
            values: dict[str, object] = {"claimed_by": None, "claimed_until": None}
            if error is None:
                values["published_at"] = utcnow()
            elif defer_until is not None:
                retry_at = defer_until
                values["next_attempt_at"] = defer_until
            else:
                retry_at = utcnow() + backoff(row.attempts + 1)
                values.update(
                    attempts=row.attempts + 1,
                    next_attempt_at=retry_at,
                    last_error=str(error)[:2000],
                )
            session.execute(
                sa.update(OutboxEvent)
                .where(col(OutboxEvent.id) == row.id, col(OutboxEvent.claimed_by) == self.instance)
                .values(**values)
            )
            session.commit()
        return retry_at

    def run_once(self) -> int:
        """Publish one batch; returns how many rows were published.

        Each task's events go out one after another, in order. Different tasks' events go
        out together: in bulk rounds when the publisher publishes batches (Dapr), else on
        up to `concurrency` threads (the in-process bus).
        """
        rows = self._claim()
        by_task: dict[uuid.UUID, list[OutboxEvent]] = {}
        for row in rows:
            by_task.setdefault(row.aggregate_id, []).append(row)
        if isinstance(self.publisher, BatchPublisher):
            outcomes = [self._publish_in_rounds(self.publisher, by_task)]
        elif self._pool is None or len(by_task) < 2:
            outcomes = [self._publish_in_order(group) for group in by_task.values()]
        else:
            outcomes = list(self._pool.map(self._publish_in_order, by_task.values()))
        sent = [row for published, _ in outcomes for row in published]
        self._mark_sent(sent)
        if rows:
            self.last_publish_failed = not sent and any(failed for _, failed in outcomes)
        if time.monotonic() - self._gauges_at > GAUGE_INTERVAL_SECONDS:
            self.update_gauges()
        return len(sent)

    def _publish_in_rounds(
        self, publisher: BatchPublisher, by_task: dict[uuid.UUID, list[OutboxEvent]]
    ) -> tuple[list[OutboxEvent], bool]:
        """Batches holding at most one event per task: a task's next event goes out only
        after its previous one was acknowledged, so order holds whatever a batch does."""
        queues = {task: list(rows) for task, rows in by_task.items()}
        sent: list[OutboxEvent] = []
        failed = False
        while queues:
            heads = [rows[0] for rows in queues.values()]
            with tracing.publish_spans(heads):
                failures = publisher.publish_batch(heads)
            for row in heads:
                queue = queues[row.aggregate_id]
                error = failures.get(row.id or 0)
                if error is None:
                    sent.append(row)
                    PUBLISHED.labels(row.topic).inc()
                    queue.pop(0)
                    if queue:
                        continue
                else:
                    failed = True
                    self._record_failure(row, error, queue[1:])
                del queues[row.aggregate_id]
        return sent, failed

    def _record_failure(
        self, row: OutboxEvent, error: PublishError, later: list[OutboxEvent]
    ) -> None:
        """Back the row off; the same task's later events wait until it is retried."""
        FAILURES.labels(row.topic, error.reason).inc()
        log.warning("publish of outbox event %s failed: %s", row.id, error)
        retry_at = self._settle(row, error)
        for waiting in later:
            ordering = PublishError("ordering", "waits for an earlier event")
            self._settle(waiting, ordering, defer_until=retry_at)

    def _publish_in_order(self, rows: list[OutboxEvent]) -> tuple[list[OutboxEvent], bool]:
        """One task's events in order; after a failure the rest wait for it to be retried."""
        sent: list[OutboxEvent] = []
        for index, row in enumerate(rows):
            try:
                with tracing.publish_spans([row]):
                    self.publisher.publish(row)
            except PublishError as exc:
                self._record_failure(row, exc, rows[index + 1 :])
                return sent, True
            sent.append(row)
            PUBLISHED.labels(row.topic).inc()
        return sent, False

    def _mark_sent(self, rows: list[OutboxEvent]) -> None:
        """One statement for the batch; a crash before it only means a republish (deduped)."""
        if not rows:
            return
        with Session(self.engine) as session:
            session.execute(
                sa.update(OutboxEvent)
                .where(
                    col(OutboxEvent.id).in_([row.id for row in rows]),
                    col(OutboxEvent.claimed_by) == self.instance,
                )
                .values(published_at=utcnow(), claimed_by=None, claimed_until=None)
            )
            session.commit()

    def check_publishing(self) -> None:
        """Readiness: raises while the latest batch published nothing because publishing failed."""
        if self.last_publish_failed:
            raise RuntimeError("the latest publish failed; the broker or sidecar is unavailable")

    def update_gauges(self) -> None:
        self._gauges_at = time.monotonic()
        with Session(self.engine) as session:
            count, oldest = session.exec(
                select(func.count(), func.min(col(OutboxEvent.created_at))).where(
                    col(OutboxEvent.published_at).is_(None)
                )
            ).one()
        PENDING.set(count)
        LAG.set((utcnow() - oldest).total_seconds() if oldest is not None else 0.0)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def run_forever(
        self, stop: threading.Event, poll_seconds: float, wake: OutboxSignal | None = None
    ) -> None:
        """Publish until `stop`; between batches wait for `wake` or at most `poll_seconds`."""
        while not stop.is_set():
            try:
                published = self.run_once()
            except Exception:
                log.exception("relay iteration failed; retrying")
                published = 0
            if published < self.batch_size:
                (wake or stop).wait(poll_seconds)
