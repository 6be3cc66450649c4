"""The event path through real engines: four processes, each beside its own daprd, on Kafka.

Needs the engines `tools/engines/provision.sh` builds (daprd, Kafka, PostgreSQL). The
figures come from timestamps the database keeps, as in `bench.events_bench`.

Besides the paced phases, `drain` measures the consumers alone: a backlog is published
while the workers' sidecars are down, then they start and the bench times the notifier
applying it, once with one event per delivery (the subscriptions without `bulkSubscribe`,
as before issue 18) and once in batches, in the same run so machine load hits both alike.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from app.contract import NOTIFIER, RECURRER, TOPICS, bulk_subscribe_spec
from app.db import make_engine
from app.models.events import InboxEntry, OutboxEvent, ScheduledReminder
from app.models.task import TaskCreate
from app.services.tasks import create_task
from bench.events_bench import PHASE_COLUMNS, measure_phases, target
from bench.harness import ROOMY_QUOTAS, table
from tests.support.engines import daprd_path, java_path, kafka_libs
from tests.support.factories import make_user
from tests.support.kafka import KafkaBroker
from tests.support.postgres import start_server
from tools.dev.stack import EventPath

WORKERS = (NOTIFIER, RECURRER)
DRAIN_COLUMNS = [
    "delivery",
    "events",
    "seconds",
    "drained_per_s",
    "applying_per_s",
    "lost",
    "applied_twice",
]


def _set_bulk(stack: EventPath, bulk: bool) -> None:
    """Rewrite the workers' main-topic Subscriptions with or without `bulkSubscribe`."""
    assert stack.resources is not None
    for process in WORKERS:
        for sub in process.subscriptions:
            name = f"subscription-{process.name}-{sub.topic.name}.yaml"
            path = stack.resources.resources_dir / name
            manifest = yaml.safe_load(path.read_text(encoding="utf-8"))
            spec = manifest["spec"]
            spec.pop("bulkSubscribe", None)
            spec["routes"]["default"] = sub.route
            if bulk:
                spec["bulkSubscribe"] = bulk_subscribe_spec()
                spec["routes"]["default"] = sub.bulk_route
            path.write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")


@contextmanager
def _workers_down(stack: EventPath) -> Iterator[None]:
    sidecars = [stack.service(p.name).sidecar for p in WORKERS]
    for sidecar in sidecars:
        sidecar.stop()
    try:
        yield
    finally:
        for sidecar in sidecars:
            sidecar.start()
        for sidecar in sidecars:
            sidecar.wait_app_ready(timeout=120)


def _count(engine: Engine, query: Any) -> int:
    with Session(engine) as session:
        return int(session.exec(query).one())


def drain(
    stack: EventPath, engine: Engine, owner: uuid.UUID, count: int, bulk: bool
) -> dict[str, Any]:
    """Publish `count` task events with the workers' sidecars down, then time the notifier."""
    _set_bulk(stack, bulk)
    due = datetime.now(UTC) + timedelta(days=30)
    with _workers_down(stack):
        with Session(engine) as session:
            before = session.exec(select(func.max(OutboxEvent.id))).one() or 0
        with Session(engine) as session:
            ids = [
                create_task(
                    session,
                    owner_id=owner,
                    data=TaskCreate(title=f"drain {i}", due_at=due, reminders=["PT1H"]),
                    quotas=ROOMY_QUOTAS,
                ).id
                for i in range(count)
            ]
            session.commit()
        unpublished = select(func.count()).where(
            col(OutboxEvent.id) > before, col(OutboxEvent.published_at).is_(None)
        )
        deadline = time.monotonic() + 600
        while _count(engine, unpublished) and time.monotonic() < deadline:
            time.sleep(0.5)
        started = datetime.now(UTC)
    with Session(engine) as session:
        published = session.exec(
            select(OutboxEvent.event_id).where(col(OutboxEvent.id) > before)
        ).all()
    drained = [str(event_id) for event_id in published]
    applied = select(func.count()).where(
        InboxEntry.consumer == NOTIFIER.app_id, col(InboxEntry.event_id).in_(drained)
    )
    deadline = time.monotonic() + 900
    while _count(engine, applied) < count and time.monotonic() < deadline:
        time.sleep(0.5)
    with Session(engine) as session:
        first, last = session.exec(
            select(func.min(InboxEntry.processed_at), func.max(InboxEntry.processed_at)).where(
                InboxEntry.consumer == NOTIFIER.app_id, col(InboxEntry.event_id).in_(drained)
            )
        ).one()
        reminders = session.exec(
            select(ScheduledReminder.task_id).where(col(ScheduledReminder.task_id).in_(ids))
        ).all()
    seconds = max((last - started).total_seconds(), 1e-6) if last else float("inf")
    # Without the sidecars' start and the consumer group's join, which `seconds` includes.
    applying = max((last - first).total_seconds(), 1e-6) if first and last else float("inf")
    done = _count(engine, applied)
    return {
        "delivery": "bulk (batches)" if bulk else "single (one per call)",
        "events": count,
        "seconds": round(seconds, 2),
        "drained_per_s": round(done / seconds, 1),
        "applying_per_s": round(done / applying, 1),
        "lost": count - len(set(reminders)),
        "applied_twice": len(reminders) - len(set(reminders)),
    }


def run(count: int, rate: float, drain_count: int) -> dict[str, Any]:
    if daprd_path() is None or kafka_libs() is None or java_path() is None:
        raise SystemExit("daprd or Kafka is not built: run `bash tools/engines/provision.sh`")
    pg = start_server()
    if pg is None:
        raise SystemExit("PostgreSQL binaries not found (tools/engines/postgres.sh)")
    results: dict[str, Any] = {}
    try:
        url = pg.create_database(f"bench_{uuid.uuid4().hex[:8]}")
        with (
            tempfile.TemporaryDirectory(prefix="taskstream-bench-") as tmp,
            KafkaBroker() as broker,
        ):
            broker.create_topics(TOPICS)
            with EventPath(
                database_url=url,
                broker=broker,
                workdir=Path(tmp),
                # The product's defaults: commits wake the relay, polling is the fallback.
                extra_env={
                    "TASKSTREAM_LOG_LEVEL": "WARNING",
                    "TASKSTREAM_RELAY_POLL_SECONDS": "0.2",
                },
            ) as stack:
                engine = make_engine(url)
                owner = make_user(engine)
                if count:
                    results["event_path_dapr"] = measure_phases(engine, owner, count, rate)
                if drain_count:
                    results["drain"] = [
                        drain(stack, engine, owner, drain_count, bulk=False),
                        drain(stack, engine, owner, drain_count, bulk=True),
                    ]
                engine.dispose()
    finally:
        pg.destroy()
    return results


def targets(results: dict[str, Any]) -> list[str]:
    lines = []
    phases = results.get("event_path_dapr", {})
    if "steady" in phases:
        p95 = phases["steady"]["p95_ms"]
        lines.append(
            target("commit to notifier-applied p95 at 100 events/s (ms)", p95, "<= 50", p95 <= 50)
        )
    if "backlog 5x" in phases:
        rate = phases["backlog 5x"]["sustained_per_s"]
        lines.append(
            target(
                "5,000-event backlog, commit to applied (events/s)", rate, ">= 1000", rate >= 1000
            )
        )
    for row in results.get("drain", []):
        name = f"backlog drained by the notifier, {row['delivery']} (events/s)"
        lines.append(target(name, row["drained_per_s"], ">= 1000", row["drained_per_s"] >= 1000))
        lost, twice = row["lost"], row["applied_twice"]
        lines.append(
            target(
                f"lost / applied twice, {row['delivery']}",
                f"{lost} / {twice}",
                "0 / 0",
                lost == twice == 0,
            )
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1000, help="events per paced phase (0: skip)")
    parser.add_argument("--rate", type=float, default=100, help="steady rate, events/s")
    parser.add_argument("--drain", type=int, default=5000, help="backlog per drain run (0: skip)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = run(args.events, args.rate, args.drain)
    if "event_path_dapr" in results:
        rows = [{"phase": k, **v} for k, v in results["event_path_dapr"].items()]
        print(table(rows, PHASE_COLUMNS))
    if "drain" in results:
        print(table(results["drain"], DRAIN_COLUMNS))
    targets(results)  # each line printed and recorded as it is made
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
