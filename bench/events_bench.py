"""Event path, reminders and recurrence, measured from timestamps the database keeps."""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.db import make_engine, run_migrations, utcnow
from app.events.relay import OutboxRelay
from app.events.wakeup import OUTBOX_COMMITTED
from app.models.events import InboxEntry, OutboxEvent, ScheduledReminder
from app.models.notification import Notification
from app.models.series import RecurringSeries
from app.models.task import TaskCreate
from app.services.tasks import create_task
from app.settings import Settings
from bench import targets
from bench.api_bench import database
from bench.harness import ROOMY_QUOTAS, percentiles, table
from bench.seed import schedule_reminders
from taskstream.embedded import embedded_loops
from taskstream.embedded_bus import EmbeddedPublisher
from tests.support.factories import make_user
from workers.http import BackgroundLoop, start_loops
from workers.notifier.app import build_consumer
from workers.notifier.claims import claim_due_reminders, wait_for_next_due
from workers.recurrer.handlers import materialise_window

NOTIFIER_ID = "taskstream-notifier"


@contextmanager
def running(loops: list[BackgroundLoop]) -> Iterator[None]:
    stop = threading.Event()
    threads = start_loops(loops, stop)
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)


def _wait(probe: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return True
        time.sleep(0.2)
    return False


def _create_at_rate(
    engine: Engine, owner: uuid.UUID, count: int, per_second: float
) -> datetime | None:
    """One transaction per task, paced to `per_second` (or as fast as commits go)."""
    started = time.perf_counter()
    for i in range(count):
        with Session(engine) as session:
            create_task(
                session, owner_id=owner, data=TaskCreate(title=f"event {i}"), quotas=ROOMY_QUOTAS
            )
            session.commit()
        ahead = started + (i + 1) / per_second - time.perf_counter()
        if ahead > 0:
            time.sleep(ahead)
    return None  # each event became visible at its own commit


def _create_backlog(engine: Engine, owner: uuid.UUID, count: int, _: float) -> datetime | None:
    """All tasks in one transaction: the bus then drains a backlog as fast as it can."""
    with Session(engine) as session:
        for i in range(count):
            create_task(
                session, owner_id=owner, data=TaskCreate(title=f"backlog {i}"), quotas=ROOMY_QUOTAS
            )
        session.commit()
    return utcnow()  # when the whole backlog became visible


def _latencies(engine: Engine, since_id: int) -> list[tuple[datetime, datetime, datetime]]:
    """(committed, published by the relay, applied by the notifier) for each task event
    after outbox row `since_id` that the notifier has applied."""
    with Session(engine) as session:
        made = {
            str(event_id): (created, published)
            for event_id, created, published in session.exec(
                select(
                    OutboxEvent.event_id, OutboxEvent.created_at, OutboxEvent.published_at
                ).where(col(OutboxEvent.id) > since_id, OutboxEvent.topic == "task-events")
            )
        }
        applied = session.exec(
            select(InboxEntry.event_id, InboxEntry.processed_at).where(
                InboxEntry.consumer == NOTIFIER_ID
            )
        ).all()
    # A row can be applied before the relay's batch UPDATE records it as published.
    return [(made[e][0], made[e][1] or done, done) for e, done in applied if e in made]


def target(name: str, figure: object, goal: str, met: bool) -> str:
    """Record and print one target line (bench/targets.py: `make bench` repeats it at the end)."""
    shown = figure if isinstance(figure, int | float) or figure is None else str(figure)
    return targets.record(name, shown, goal, "", met)


def measure_phases(engine: Engine, owner: uuid.UUID, count: int, rate: float) -> dict[str, Any]:
    """Task creations at `rate`/s, at 10x, and a backlog of 5x drained; consumers must run.

    `created_per_s` is the rate the commits achieved (one producer thread); `sustained_per_s`
    is events applied by the notifier per second from the first commit to the last apply.
    """
    figures: dict[str, Any] = {}
    phases = (
        ("steady", count, rate, _create_at_rate),
        ("burst 10x", count, rate * 10, _create_at_rate),
        ("backlog 5x", count * 5, float("inf"), _create_backlog),
    )
    for phase, n, per_second, produce in phases:
        with Session(engine) as session:
            last = (
                session.exec(select(OutboxEvent.id).order_by(col(OutboxEvent.id).desc())).first()
                or 0
            )
        visible = produce(engine, owner, n, per_second)
        done = _wait(lambda last=last, n=n: len(_latencies(engine, last)) >= n, 300)
        pairs = _latencies(engine, last)
        made = [visible or m for m, _, _ in pairs]
        lat = [(a - m).total_seconds() for m, (_, _, a) in zip(made, pairs, strict=True)]
        relayed = [(p - m).total_seconds() for m, (_, p, _) in zip(made, pairs, strict=True)]
        window = max(a for _, _, a in pairs) - min(made)
        creating = (max(m for m, _, _ in pairs) - min(m for m, _, _ in pairs)).total_seconds()
        p50, p95, p99 = percentiles(lat)
        figures[phase] = {
            "events": len(lat),
            "complete": done,
            "offered_per_s": per_second,
            "created_per_s": round(len(made) / creating, 1) if creating > 0 else None,
            "sustained_per_s": round(len(lat) / max(window.total_seconds(), 1e-6), 1),
            "p50_ms": round(p50, 1),
            "p95_ms": round(p95, 1),
            "p99_ms": round(p99, 1),
            "max_lag_ms": round(max(lat) * 1000, 1),
            # Of the latency, the part before the relay marked the event published.
            "relay_p50_ms": round(percentiles(relayed)[0], 1),
        }
    return figures


def event_path(url: str, count: int, rate: float) -> dict[str, Any]:
    """API-commit to worker-side-effect latency through the embedded bus, steady and 10x burst."""
    engine = make_engine(url)
    run_migrations(engine)
    owner = make_user(engine)
    # The default poll interval: commits wake the relay, polling is only the fallback.
    settings = Settings(environment="test", database_url=url)
    with running(embedded_loops(settings, engine)):
        figures = measure_phases(engine, owner, count, rate)
    engine.dispose()
    return figures


PHASE_COLUMNS = [
    "phase",
    "events",
    "offered_per_s",
    "created_per_s",
    "sustained_per_s",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "max_lag_ms",
    "relay_p50_ms",
]


def reminders(url: str, count: int, spread_seconds: float) -> dict[str, Any]:
    """`count` reminders due over `spread_seconds`, two notifier replicas claiming them."""
    engine = make_engine(url)
    run_migrations(engine)
    owner = make_user(engine)
    schedule_reminders(engine, owner, count, utcnow() + timedelta(seconds=3), spread_seconds)
    replicas = [make_engine(url) for _ in range(2)]
    settings = Settings(environment="test", database_url=url)
    relay = OutboxRelay(
        engine,
        EmbeddedPublisher([build_consumer(engine)]),
        batch_size=500,
        concurrency=settings.relay_concurrency,
    )
    loops = [
        BackgroundLoop(
            f"claimer-{i}",
            lambda e=e, i=i: claim_due_reminders(e, f"n{i}"),
            settings.notifier_poll_seconds,
            wake=lambda longest, e=e: wait_for_next_due(e, longest),
        )
        for i, e in enumerate(replicas)
    ]
    loops.append(
        BackgroundLoop(
            "relay", relay.run_once, settings.relay_poll_seconds, wake=OUTBOX_COMMITTED.wait
        )
    )
    with running(loops):
        _wait(lambda: _notifications(engine) >= count, spread_seconds + 120)
    relay.close()
    with Session(engine) as session:
        events = {
            str(e.event_id): e.payload["reminder_id"] for e in session.exec(select(OutboxEvent))
        }
        due = {str(r.id): r.remind_at for r in session.exec(select(ScheduledReminder))}
        notes = session.exec(select(Notification.source_event_id, Notification.created_at)).all()
    delivered = Counter(events[str(source)] for source, _ in notes)
    lag = [(made - due[events[str(source)]]).total_seconds() for source, made in notes]
    p50, p95, p99 = percentiles(lag)
    for e in (engine, *replicas):
        e.dispose()
    return {
        "reminders": count,
        "spread_s": spread_seconds,
        "delivered": len(delivered),
        "duplicates": sum(n - 1 for n in delivered.values()),
        "missed": count - len(delivered),
        "lag_p50_ms": round(p50, 1),
        "lag_p95_ms": round(p95, 1),
        "lag_p99_ms": round(p99, 1),
    }


def _notifications(engine: Engine) -> int:
    with Session(engine) as session:
        return len(session.exec(select(Notification.id)).all())


def recurrence(url: str, count: int) -> dict[str, Any]:
    """Materialise `count` daily series a window ahead: series per second."""
    engine = make_engine(url)
    run_migrations(engine)
    owner = make_user(engine)
    tomorrow = (datetime.now() + timedelta(days=1)).replace(microsecond=0)
    with Session(engine) as session:
        for i in range(count):
            session.add(
                RecurringSeries(
                    owner_id=owner,
                    title=f"s{i}",
                    rrule="FREQ=DAILY",
                    timezone="Europe/Paris",
                    start=tomorrow,
                )
            )
        session.commit()
    started = time.perf_counter()
    created = 0
    while made := materialise_window(engine, timedelta(days=1), limit=500):
        created += made
    elapsed = time.perf_counter() - started
    engine.dispose()
    return {
        "series": count,
        "occurrences": created,
        "seconds": round(elapsed, 2),
        "series_per_s": round(count / elapsed, 1),
    }


def run(backend: str, quick: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="taskstream-bench-") as tmp:

        def fresh(name: str) -> Any:
            (Path(tmp) / name).mkdir()
            return database(backend, Path(tmp) / name)

        with fresh("events") as url:
            path = event_path(url, 200 if quick else 1000, 50 if quick else 100)
        with fresh("reminders") as url:
            rem = reminders(url, 1000 if quick else 10_000, 10 if quick else 60)
        with fresh("recurrence") as url:
            rec = recurrence(url, 500 if quick else 10_000)
    return {"event_path": path, "reminders": rem, "recurrence": rec}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", default="postgres", choices=["sqlite", "postgres"])
    parser.add_argument("--quick", action="store_true", help="smaller volumes, for a smoke run")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = run(args.backend, args.quick)
    rows = [{"phase": k, **v} for k, v in results["event_path"].items()]
    print(table(rows, PHASE_COLUMNS))
    print()
    print(table([results["reminders"]], list(results["reminders"])))
    print()
    print(table([results["recurrence"]], list(results["recurrence"])))
    print()
    steady = results["event_path"]["steady"]["p95_ms"]
    rem = results["reminders"]
    target("in-process bus, commit to notifier-applied p95 (ms)", steady, "<= 50", steady <= 50)
    target(
        "reminders duplicated / missed",
        f"{rem['duplicates']} / {rem['missed']}",
        "0 / 0",
        rem["duplicates"] == rem["missed"] == 0,
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
