"""Slow webhook: one tenant's endpoint trickles or floods its answers while another's is fast.

The embedded loops run in-process on a real database (reminder claimer, relay, notifier
and webhook sender, as `taskstream run` has them, with the shipped webhook settings), and
both endpoints are one loopback receiver. The victim's latency is from a reminder's due
time to its webhook POST arriving, measured alone and again while the abuser's reminders
are being delivered.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from app.db import make_engine, run_migrations, utcnow
from app.settings import Settings
from bench.api_bench import database
from bench.events_bench import running
from bench.harness import Figures, figures, neighbour_result, quiet_then_abused, report_neighbour
from bench.seed import schedule_reminders
from taskstream.embedded import embedded_loops
from tests.support.factories import make_user
from tests.support.receivers import Behaviour, Receiver, flood, receiving, trickle

SLOW, FAST = "/slow", "/fast"
# Longer than the sender's deadline: every trickled answer is cut by it.
TRICKLE = trickle(every=3.0, times=20)
HUGE_BYTES = 256 * 1024 * 1024
POLL_SECONDS = 0.2


def _slow_or_huge(receiver: Receiver) -> Behaviour:
    """Every other answer trickles one byte every 3 s; the rest are 256 MiB."""
    calls = iter(range(1_000_000))
    huge = flood(HUGE_BYTES, receiver)

    def behave(handler: BaseHTTPRequestHandler) -> None:
        (TRICKLE if next(calls) % 2 == 0 else huge)(handler)

    return behave


def _schedule(engine: Engine, owner: uuid.UUID, count: int, spread: float) -> None:
    """`count` reminders for `owner`, due from a second from now over `spread` seconds."""
    schedule_reminders(engine, owner, count, utcnow() + timedelta(seconds=1), spread)


def _arrivals(receiver: Receiver, path: str, since: int) -> list[tuple[str, float]]:
    """(reminder id, due-to-arrival seconds) of the POSTs to `path` after the first `since`."""
    wall_offset = time.time() - time.monotonic()
    with receiver.lock:
        received = [r for r in receiver.received if r.path == path][since:]
    arrivals = []
    for request in received:
        body = json.loads(request.body)
        due = datetime.fromisoformat(body["remind_at"]).timestamp()
        arrivals.append((body["reminder_id"], request.at + wall_offset - due))
    return arrivals


async def _until(probe: Callable[[], bool], within: float) -> None:
    for _ in range(int(within / POLL_SECONDS)):
        if probe():
            return
        await asyncio.sleep(POLL_SECONDS)


def _victim(
    engine: Engine, receiver: Receiver, owner: uuid.UUID, count: int, spread: float
) -> Callable[[str], Any]:
    async def phase(name: str) -> Figures:
        since = len(_arrivals(receiver, FAST, 0))
        started = time.perf_counter()
        _schedule(engine, owner, count, spread)
        # Everything due is delivered well within a minute of its time, or counts as missed.
        await _until(lambda: len(_arrivals(receiver, FAST, since)) >= count, spread + 60)
        arrivals = dict(_arrivals(receiver, FAST, since))
        seconds = time.perf_counter() - started
        return figures(name, list(arrivals.values()), count - len(arrivals), seconds)

    return phase


async def _abuse(engine: Engine, owner: uuid.UUID, per_second: int, stop: asyncio.Event) -> int:
    """A burst of the abuser's reminders, then `per_second` more each second until `stop`."""
    scheduled = 0
    for _ in range(600):  # at most ten minutes
        batch = per_second * 10 if scheduled == 0 else per_second
        await asyncio.to_thread(_schedule, engine, owner, batch, 1.0)
        scheduled += batch
        try:
            await asyncio.wait_for(stop.wait(), timeout=1.0)
            break
        except TimeoutError:
            continue
    return scheduled


def run(kind: str, count: int, spread: float) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="taskstream-bench-") as tmp,
        database(kind, Path(tmp)) as url,
        receiving() as receiver,
    ):
        engine = make_engine(url)
        run_migrations(engine)
        receiver.behaviours[SLOW] = _slow_or_huge(receiver)
        abuser = make_user(engine, webhook=receiver.url(SLOW))
        victim = make_user(engine, webhook=receiver.url(FAST))
        settings = Settings(environment="dev", database_url=url, webhook_allow_loopback=True)

        async def under_way() -> None:
            await _until(lambda: receiver.paths().count(SLOW) >= 2, 120)

        with running(embedded_loops(settings, engine)):
            quiet, abused, scheduled = asyncio.run(
                quiet_then_abused(
                    _victim(engine, receiver, victim, count, spread),
                    lambda stop: _abuse(engine, abuser, max(1, count // 10), stop),
                    under_way,
                )
            )
            abuser_calls = receiver.paths().count(SLOW)
        # The loops are stopped; calls already sent end by their deadline, before the
        # database they record into goes away.
        time.sleep(settings.webhook_deadline_seconds + 1)
        engine.dispose()
    return neighbour_result(
        kind,
        quiet,
        abused,
        abuser_reminders=scheduled,
        abuser_calls_received=abuser_calls,
        abuser_bytes_offered=receiver.sent_bytes,
        webhook_deadline_s=settings.webhook_deadline_seconds,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--quick", action="store_true", help="smaller volumes")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    count, spread = (40, 20.0) if args.quick else (120, 60.0)
    result = run(args.backend, count, spread)
    note = (
        f"abuser: {result['abuser_reminders']} reminders, {result['abuser_calls_received']} "
        f"calls reached its endpoint (each cut at {result['webhook_deadline_s']:g} s or "
        f"64 KiB read); {result['abuser_bytes_offered'] >> 20} MiB offered"
    )
    report_neighbour(result, note, args.json)


if __name__ == "__main__":
    main()
