"""The outbox and its relay: atomic with the change, nothing lost, nothing doubled."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.events.publisher import PublishError
from app.events.relay import OutboxRelay
from app.models.events import OutboxEvent
from app.models.task import TaskCreate
from app.services.tasks import create_task
from tests.support.factories import make_task, make_user


class Recorder:
    """A publisher that records what it was given and can be told to fail."""

    def __init__(self, fail_times: int = 0) -> None:
        self.published: list[OutboxEvent] = []
        self.fail_times = fail_times
        self.lock = threading.Lock()

    def publish(self, row: OutboxEvent) -> None:
        with self.lock:
            if self.fail_times:
                self.fail_times -= 1
                raise PublishError("server", "HTTP 500: broker unavailable")
            self.published.append(row)

    def close(self) -> None:
        return None


def _pending(engine: Engine) -> list[OutboxEvent]:
    with Session(engine) as session:
        return list(
            session.exec(select(OutboxEvent).where(col(OutboxEvent.published_at).is_(None)))
        )


def test_a_rolled_back_change_leaves_no_event(engine: Engine) -> None:
    owner = make_user(engine)
    with Session(engine) as session:
        create_task(session, owner_id=owner, data=TaskCreate(title="never"))
        session.rollback()
    assert _pending(engine) == []


def test_events_are_published_in_order_and_marked_sent(engine: Engine) -> None:
    owner = make_user(engine)
    tasks = [make_task(engine, owner, f"t{i}") for i in range(5)]
    recorder = Recorder()
    assert OutboxRelay(engine, recorder).run_once() == 5
    assert [r.aggregate_id for r in recorder.published] == [t.id for t in tasks]
    assert _pending(engine) == []
    assert OutboxRelay(engine, recorder).run_once() == 0, "nothing is published twice"


def test_an_event_claimed_by_a_relay_that_died_is_published_by_the_next_one(engine: Engine) -> None:
    owner = make_user(engine)
    task = make_task(engine, owner)
    crashed = OutboxRelay(engine, Recorder())
    claimed = crashed._claim()  # the process dies right after claiming, before publishing
    assert [r.aggregate_id for r in claimed] == [task.id]
    survivor = Recorder()
    assert OutboxRelay(engine, survivor).run_once() == 0, "the lease keeps others off for a while"
    with Session(engine) as session:
        row = session.get(OutboxEvent, claimed[0].id)
        assert row is not None
        # The dead relay's lease runs out.
        row.claimed_until = row.claimed_until - timedelta(minutes=5)  # type: ignore[operator]
        session.add(row)
        session.commit()
    assert OutboxRelay(engine, survivor).run_once() == 1
    assert [r.event_id for r in survivor.published] == [claimed[0].event_id]


def test_a_failed_publish_backs_off_and_holds_later_events_of_the_same_task(engine: Engine) -> None:
    owner = make_user(engine)
    task = make_task(engine, owner)
    other = make_task(engine, owner, "other")
    with Session(engine) as session:
        from app.models.task import TaskUpdate
        from app.services.tasks import get_task, update_task

        update_task(
            session,
            task=get_task(session, owner, task.id),
            data=TaskUpdate(title="v2"),
            quotas=None,
        )
        session.commit()
    recorder = Recorder(fail_times=1)
    relay = OutboxRelay(engine, recorder)
    assert relay.run_once() == 1
    relay.check_publishing()  # the broker took the other task's event: still ready
    assert [r.aggregate_id for r in recorder.published] == [other.id]
    pending = _pending(engine)
    assert len(pending) == 2
    assert all(r.aggregate_id == task.id for r in pending)
    first = min(pending, key=lambda r: r.id or 0)
    assert first.attempts == 1
    assert first.last_error
    assert first.next_attempt_at is not None
    assert OutboxRelay(engine, recorder).run_once() == 0, "still backing off"
    with Session(engine) as session:
        for row in session.exec(select(OutboxEvent).where(col(OutboxEvent.published_at).is_(None))):
            row.next_attempt_at = None
            session.add(row)
        session.commit()
    assert relay.run_once() == 2
    relay.check_publishing()
    assert [r.event_type for r in recorder.published[1:]] == ["task.created", "task.updated"]


def test_the_relay_is_not_ready_while_nothing_can_be_published(engine: Engine) -> None:
    owner = make_user(engine)
    make_task(engine, owner)
    recorder = Recorder(fail_times=1)
    relay = OutboxRelay(engine, recorder)
    assert relay.run_once() == 0
    with pytest.raises(RuntimeError, match="latest publish failed"):
        relay.check_publishing()
    with Session(engine) as session:
        row = session.exec(select(OutboxEvent)).one()
        row.next_attempt_at = None
        session.add(row)
        session.commit()
    assert relay.run_once() == 1
    relay.check_publishing()


def test_concurrent_relays_never_publish_a_row_twice(engine: Engine) -> None:
    owner = make_user(engine)
    for i in range(60):
        make_task(engine, owner, f"t{i}")
    recorder = Recorder()

    def drain() -> None:
        relay = OutboxRelay(engine, recorder, batch_size=7)
        while relay.run_once():
            pass

    threads = [threading.Thread(target=drain) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [r.event_id for r in recorder.published]
    assert len(ids) == 60
    assert len(set(ids)) == 60
    assert _pending(engine) == []


class SlowRecorder(Recorder):
    """Takes a while per publish and notes how many publishes overlapped."""

    def __init__(self, fail_task: object = None) -> None:
        super().__init__()
        self.in_flight = 0
        self.most_in_flight = 0
        self.fail_task = fail_task

    def publish(self, row: OutboxEvent) -> None:
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            threading.Event().wait(0.02)
            if row.aggregate_id == self.fail_task:
                raise PublishError("server", "HTTP 500: broker unavailable")
            with self.lock:
                self.published.append(row)
        finally:
            with self.lock:
                self.in_flight -= 1


def _changed_three_times(engine: Engine, count: int) -> list[object]:
    from app.models.task import TaskUpdate
    from app.services.tasks import get_task, update_task

    owner = make_user(engine)
    tasks = [make_task(engine, owner, f"t{i}") for i in range(count)]
    for version in (2, 3):
        for task in tasks:
            with Session(engine) as session:
                current = get_task(session, owner, task.id)
                update_task(
                    session, task=current, data=TaskUpdate(title=f"v{version}"), quotas=None
                )
                session.commit()
    return [task.id for task in tasks]


def test_a_concurrent_relay_publishes_tasks_side_by_side_each_in_order(engine: Engine) -> None:
    task_ids = _changed_three_times(engine, 6)
    recorder = SlowRecorder()
    relay = OutboxRelay(engine, recorder, concurrency=4)
    try:
        assert relay.run_once() == 18
    finally:
        relay.close()
    assert recorder.most_in_flight > 1, "different tasks' events went out one at a time"
    for task_id in task_ids:
        mine = [r for r in recorder.published if r.aggregate_id == task_id]
        assert [r.event_type for r in mine] == ["task.created", "task.updated", "task.updated"]
        assert [r.id for r in mine] == sorted(r.id for r in mine)
    assert _pending(engine) == []


def test_a_concurrent_relay_holds_back_only_the_failing_task(engine: Engine) -> None:
    task_ids = _changed_three_times(engine, 4)
    recorder = SlowRecorder(fail_task=task_ids[0])
    relay = OutboxRelay(engine, recorder, concurrency=4)
    try:
        assert relay.run_once() == 9
    finally:
        relay.close()
    relay.check_publishing()
    pending = _pending(engine)
    assert {r.aggregate_id for r in pending} == {task_ids[0]}
    assert len(pending) == 3
    assert sum(r.attempts for r in pending) == 1, "only the first failed; the rest wait for it"


class BatchRecorder(Recorder):
    """A bulk publisher: records each batch; fails every event of one task if told to."""

    def __init__(self, fail_task: object = None) -> None:
        super().__init__()
        self.batches: list[list[OutboxEvent]] = []
        self.fail_task = fail_task

    def publish_batch(self, rows: list[OutboxEvent]) -> dict[int, PublishError]:
        self.batches.append(list(rows))
        failures = {}
        for row in rows:
            if row.aggregate_id == self.fail_task:
                failures[row.id or 0] = PublishError("server", "HTTP 500: partition offline")
            else:
                self.published.append(row)
        return failures


def test_a_bulk_relay_sends_rounds_of_one_event_per_task(engine: Engine) -> None:
    task_ids = _changed_three_times(engine, 5)
    recorder = BatchRecorder()
    assert OutboxRelay(engine, recorder).run_once() == 15
    assert len(recorder.batches) == 3, "one batch per round, not one call per event"
    for batch in recorder.batches:
        assert len({r.aggregate_id for r in batch}) == len(batch) == 5
    for task_id in task_ids:
        mine = [r.id for r in recorder.published if r.aggregate_id == task_id]
        assert mine == sorted(mine)
    assert _pending(engine) == []


def test_a_bulk_relay_holds_back_only_the_failing_task(engine: Engine) -> None:
    task_ids = _changed_three_times(engine, 3)
    relay = OutboxRelay(engine, BatchRecorder(fail_task=task_ids[1]))
    assert relay.run_once() == 6
    relay.check_publishing()
    pending = _pending(engine)
    assert {r.aggregate_id for r in pending} == {task_ids[1]}
    assert sum(r.attempts for r in pending) == 1, "only the first failed; the rest wait for it"
