"""The recurrer: one next occurrence per completion, and a window of scheduled ones."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.contract import TASK_EVENTS
from app.events.cloudevent import envelope_of
from app.models.enums import SeriesMode
from app.models.events import OutboxEvent
from app.models.notification import Notification
from app.models.series import RecurringSeries, SeriesCreate
from app.models.task import Task
from app.quotas import Quotas
from app.services.series import create_series
from app.services.tasks import get_task, set_done
from tests.support.factories import make_user
from workers.recurrer.app import build_consumer
from workers.recurrer.handlers import materialise_window


def _series(
    engine: Engine, owner: uuid.UUID, rrule: str, mode: SeriesMode, days_ahead: int = 1
) -> RecurringSeries:
    paris_now = datetime.now(ZoneInfo("Europe/Paris")).replace(tzinfo=None)
    with Session(engine, expire_on_commit=False) as session:
        series = create_series(
            session,
            owner_id=owner,
            data=SeriesCreate(
                title="s",
                rrule=rrule,
                timezone="Europe/Paris",
                start=paris_now + timedelta(days=days_ahead),
                mode=mode,
            ),
        )
        session.commit()
        return series


def _occurrences(engine: Engine, series_id: uuid.UUID) -> list[Task]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(Task).where(Task.series_id == series_id).order_by(col(Task.occurrence_at))
            )
        )


def _complete_first(engine: Engine, owner: uuid.UUID, series_id: uuid.UUID) -> dict[str, object]:
    first = _occurrences(engine, series_id)[0]
    with Session(engine) as session:
        set_done(session, task=get_task(session, owner, first.id), done=True)
        session.commit()
        row = session.exec(
            select(OutboxEvent).where(OutboxEvent.event_type == "task.completed")
        ).one()
    return envelope_of(row).model_dump(mode="json")


def test_completing_an_after_completion_occurrence_redelivered_5_times_yields_one_next(
    engine: Engine,
) -> None:
    owner = make_user(engine)
    series = _series(engine, owner, "FREQ=DAILY;INTERVAL=3", SeriesMode.after_completion)
    envelope = _complete_first(engine, owner, series.id)
    consumer = build_consumer(engine)
    assert [consumer.dispatch(TASK_EVENTS.name, envelope) for _ in range(5)] == ["SUCCESS"] * 5
    occurrences = _occurrences(engine, series.id)
    assert len(occurrences) == 2
    assert occurrences[1].due_at is not None
    assert occurrences[0].completed_at is not None
    gap = occurrences[1].due_at.date() - occurrences[0].completed_at.date()
    assert timedelta(days=2) <= gap <= timedelta(days=4), "about one interval after completion"


def test_completing_an_occurrence_early_never_ends_an_after_completion_series(
    engine: Engine,
) -> None:
    owner = make_user(engine)
    # Due in 3 days and completed today: one interval after completion is its own due time.
    series = _series(engine, owner, "FREQ=DAILY;INTERVAL=3", SeriesMode.after_completion, 3)
    envelope = _complete_first(engine, owner, series.id)
    assert build_consumer(engine).dispatch(TASK_EVENTS.name, envelope) == "SUCCESS"
    first, *rest = _occurrences(engine, series.id)
    assert len(rest) == 1, "completing the occurrence early left the series without a next one"
    assert first.occurrence_at is not None
    assert rest[0].occurrence_at is not None
    assert rest[0].occurrence_at > first.occurrence_at, "the next one is not after the completed"
    assert rest[0].completed_at is None


def test_concurrent_redeliveries_with_fresh_ids_still_yield_one_next(engine: Engine) -> None:
    owner = make_user(engine)
    series = _series(engine, owner, "FREQ=WEEKLY", SeriesMode.after_completion)
    envelope = _complete_first(engine, owner, series.id)
    consumer = build_consumer(engine)
    # Fresh ids defeat the inbox, so only the database's uniqueness can keep this at one.
    copies = [envelope | {"id": str(uuid.uuid4())} for _ in range(5)]
    with ThreadPoolExecutor(5) as pool:
        acks = list(pool.map(lambda e: consumer.dispatch(TASK_EVENTS.name, e), copies))
    assert set(acks) == {"SUCCESS"}
    assert len(_occurrences(engine, series.id)) == 2


def test_scheduled_series_are_kept_materialised_a_window_ahead_and_stop_at_count(
    engine: Engine,
) -> None:
    owner = make_user(engine)
    daily = _series(engine, owner, "FREQ=DAILY", SeriesMode.schedule)
    counted = _series(engine, owner, "FREQ=DAILY;COUNT=3", SeriesMode.schedule)
    materialise_window(engine, timedelta(days=7))
    materialise_window(engine, timedelta(days=7))
    assert len(_occurrences(engine, daily.id)) == 7, "tomorrow through a week ahead, once each"
    assert len(_occurrences(engine, counted.id)) == 3
    with Session(engine) as session:
        finished = session.get(RecurringSeries, counted.id)
        assert finished is not None
        assert finished.is_active is False


def test_more_scheduled_series_than_one_batch_are_all_materialised(engine: Engine) -> None:
    owner = make_user(engine)
    series = [_series(engine, owner, "FREQ=DAILY", SeriesMode.schedule) for _ in range(5)]
    visits = 0
    while materialise_window(engine, timedelta(days=3), limit=2):
        visits += 1
        assert visits < 20, "the window keeper keeps revisiting series that are already filled"
    for one in series:
        assert len(_occurrences(engine, one.id)) == 3, f"series {one.id} was starved"


def test_a_series_reaching_its_owners_task_quota_stops_and_says_why(engine: Engine) -> None:
    owner = make_user(engine)
    daily = _series(engine, owner, "FREQ=DAILY", SeriesMode.schedule)
    quotas = Quotas(tasks_per_user=3)
    materialise_window(engine, timedelta(days=7), quotas=quotas)
    assert len(_occurrences(engine, daily.id)) == 3, "materialised past the task quota"
    with Session(engine) as session:
        stopped = session.get(RecurringSeries, daily.id)
        assert stopped is not None
        assert stopped.is_active is False, "the series keeps trying past the quota"
        [notice] = session.exec(select(Notification).where(Notification.owner_id == owner))
        assert "3 tasks" in notice.body, f"the owner is not told why: {notice.body}"
    assert materialise_window(engine, timedelta(days=7), quotas=quotas) == 0
