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
from app.embedded import embedded_loops
from app.events.embedded import EmbeddedPublisher
from app.events.relay import OutboxRelay
from app.models.events import InboxEntry, OutboxEvent, ScheduledReminder
from app.models.notification import Notification
from app.models.series import RecurringSeries
from app.models.task import TaskCreate
from app.services.tasks import create_task
from app.settings import Settings
from bench.api_bench import database
from bench.harness import percentiles, table
from tests.support.factories import make_user
from workers.http import BackgroundLoop, start_loops
from workers.notifier.app import build_consumer
from workers.notifier.claims import claim_due_reminders
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


def _create_at_rate(engine: Engine, owner: uuid.UUID, count: int, per_second: float) -> None:
    started = time.perf_counter()
    for i in range(count):
        with Session(engine) as session:
            create_task(session, owner_id=owner, data=TaskCreate(title=f"event {i}"))
            session.commit()
        ahead = started + (i + 1) / per_second - time.perf_counter()
        if ahead > 0:
            time.sleep(ahead)


def _latencies(engine: Engine, since_id: int) -> list[tuple[datetime, datetime]]:
    """(committed, applied by the notifier) for each task event after outbox row `since_id`."""
    with Session(engine) as session:
        made = {
            str(event_id): created
            for event_id, created in session.exec(
                select(OutboxEvent.event_id, OutboxEvent.created_at).where(
                    col(OutboxEvent.id) > since_id, OutboxEvent.topic == "task-events"
                )
            )
        }
        applied = session.exec(
            select(InboxEntry.event_id, InboxEntry.processed_at).where(
                InboxEntry.consumer == NOTIFIER_ID
            )
        ).all()
    return [(made[event_id], done) for event_id, done in applied if event_id in made]


def event_path(url: str, count: int, rate: float) -> dict[str, Any]:
    """API-commit to worker-side-effect latency through the embedded bus, steady and 10x burst."""
    engine = make_engine(url)
    run_migrations(engine)
    owner = make_user(engine)
    settings = Settings(environment="test", database_url=url, relay_poll_seconds=0.02)
    figures: dict[str, Any] = {}
    with running(embedded_loops(settings, engine)):
        for phase, n, per_second in (("steady", count, rate), ("burst 10x", count, rate * 10)):
            with Session(engine) as session:
                last = (
                    session.exec(
                        select(OutboxEvent.id).order_by(col(OutboxEvent.id).desc())
                    ).first()
                    or 0
                )
            _create_at_rate(engine, owner, n, per_second)
            done = _wait(lambda last=last, n=n: len(_latencies(engine, last)) >= n, 120)
            pairs = _latencies(engine, last)
            lat = [(applied - made).total_seconds() for made, applied in pairs]
            window = max(a for _, a in pairs) - min(m for m, _ in pairs)
            p50, p95, p99 = percentiles(lat)
            figures[phase] = {
                "events": len(lat),
                "complete": done,
                "offered_per_s": per_second,
                "sustained_per_s": round(len(lat) / max(window.total_seconds(), 1e-6), 1),
                "p50_ms": round(p50, 1),
                "p95_ms": round(p95, 1),
                "p99_ms": round(p99, 1),
                "max_lag_ms": round(max(lat) * 1000, 1),
            }
    engine.dispose()
    return figures


def reminders(url: str, count: int, spread_seconds: float) -> dict[str, Any]:
    """`count` reminders due over `spread_seconds`, two notifier replicas claiming them."""
    engine = make_engine(url)
    run_migrations(engine)
    owner = make_user(engine)
    start = utcnow() + timedelta(seconds=3)
    with Session(engine) as session:
        for i in range(count):
            at = start + timedelta(seconds=spread_seconds * i / count)
            session.add(
                ScheduledReminder(
                    task_id=uuid.uuid4(),
                    owner_id=owner,
                    offset="PT0S",
                    due_at=at,
                    remind_at=at,
                    task_title=f"r{i}",
                )
            )
        session.commit()
    replicas = [make_engine(url) for _ in range(2)]
    relay = OutboxRelay(engine, EmbeddedPublisher([build_consumer(engine)]), batch_size=500)
    loops = [
        BackgroundLoop(f"claimer-{i}", lambda e=e, i=i: claim_due_reminders(e, f"n{i}"), 0.1)
        for i, e in enumerate(replicas)
    ]
    loops.append(BackgroundLoop("relay", relay.run_once, 0.02))
    with running(loops):
        _wait(lambda: _notifications(engine) >= count, spread_seconds + 120)
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
    print(
        table(
            rows,
            [
                "phase",
                "events",
                "offered_per_s",
                "sustained_per_s",
                "p50_ms",
                "p95_ms",
                "p99_ms",
                "max_lag_ms",
            ],
        )
    )
    print()
    print(table([results["reminders"]], list(results["reminders"])))
    print()
    print(table([results["recurrence"]], list(results["recurrence"])))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
