"""The embedded benchmark drives its server with the shared open-loop generator."""

from __future__ import annotations

import asyncio

import httpx

from bench.embedded_bench import open_loop


def _app(status: int) -> httpx.ASGITransport:
    """An ASGI app that answers every request of the mix at once with `status`."""

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    return httpx.ASGITransport(app=app)


def test_a_rate_becomes_one_row_named_after_it_with_every_request_answered() -> None:
    row = asyncio.run(open_loop("http://bench", {}, ["t1", "t2"], 40, 1, transport=_app(200)))

    assert row.name == "40/s"
    assert (row.requests, row.errors) == (40, 0), row
    assert set(row.as_dict()) == {
        "name", "requests", "errors", "seconds", "p50_ms", "p95_ms", "p99_ms", "throughput",
    }  # fmt: skip


def test_answers_of_4xx_or_5xx_are_counted_as_errors() -> None:
    row = asyncio.run(open_loop("http://bench", {}, ["t1"], 20, 1, transport=_app(503)))

    assert row.errors == row.requests == 20, row
