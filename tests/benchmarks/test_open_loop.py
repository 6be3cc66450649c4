"""The open-loop generator measures from the scheduled send time and stops by itself."""

from __future__ import annotations

import asyncio
import random
import time

import httpx

from bench.open_loop import Op, run_open_loop


def _serial_app(service_seconds: float) -> httpx.ASGITransport:
    """An ASGI app that serves one request at a time, each taking `service_seconds`."""
    lock = asyncio.Lock()

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        async with lock:
            await asyncio.sleep(service_seconds)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return httpx.ASGITransport(app=app)


def _mix() -> list[Op]:
    def call(client: httpx.AsyncClient, rng: random.Random):  # type: ignore[no-untyped-def]
        return client.get("/x")

    return [Op("get", 1, call)]


def test_an_overloaded_server_shows_its_queue_in_the_percentiles() -> None:
    # 100 requests/s offered to a server that manages 50/s: the queue grows by one request
    # every 20 ms, so the last requests wait about a second. A closed loop would report
    # ~20 ms; measured from the schedule, the p99 must show the backlog.
    result = asyncio.run(
        run_open_loop("http://bench", rate=100, seconds=2, mix=_mix(), transport=_serial_app(0.02))
    )
    assert result.scheduled == 200
    assert result.errors == 0
    assert result.p99_ms > 500
    assert not result.holds()


def test_a_fast_server_holds_and_the_run_ends_on_time() -> None:
    result = asyncio.run(
        run_open_loop("http://bench", rate=50, seconds=1, mix=_mix(), transport=_serial_app(0.001))
    )
    # Loose bounds: the machine is shared, this checks the bookkeeping, not the speed.
    assert result.completed == result.scheduled == 50
    assert result.errors == 0
    assert result.seconds < 5
    assert result.by_op["get"]["n"] == 50


def test_requests_still_in_flight_after_the_grace_period_are_errors() -> None:
    result = asyncio.run(
        run_open_loop(
            "http://bench",
            rate=20,
            seconds=0.5,
            mix=_mix(),
            grace=0.2,
            transport=_serial_app(0.5),
        )
    )
    assert result.completed < result.scheduled
    assert result.errors == result.scheduled - result.completed
    assert result.max_ms >= 200


def test_latency_counts_from_the_schedule_when_sending_is_late() -> None:
    # The first call stalls the generator itself for 300 ms; the requests due meanwhile go
    # out late. Timed from when they left they would look fast; timed from their schedule
    # (no coordinated omission) they carry the stall.
    stalled = False

    def stalling(client: httpx.AsyncClient, rng: random.Random):  # type: ignore[no-untyped-def]
        nonlocal stalled
        if not stalled:
            stalled = True
            time.sleep(0.3)
        return client.get("/x")

    result = asyncio.run(
        run_open_loop(
            "http://bench",
            rate=100,
            seconds=1,
            mix=[Op("get", 1, stalling)],
            transport=_serial_app(0.0),
        )
    )
    assert result.late_starts > 10
    assert result.p95_ms > 150
