"""Admission under load: more concurrent requests than pooled connections all complete."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from app.db import make_engine, run_migrations
from app.main import create_app
from app.settings import Settings
from tests.support.accounts import register_user
from tests.support.served import served

POOL_SIZE = 2  # the pool then holds 4 connections; AnyIO runs 40 worker threads
CLIENTS = 60


async def _create_then_read(base: str, headers: dict[str, str], n: int) -> list[int]:
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:

        async def one(i: int) -> list[int]:
            created = await client.post("/api/v1/tasks", json={"title": f"load {i}"})
            if created.status_code != 201:
                return [created.status_code]
            read = await client.get(f"/api/v1/tasks/{created.json()['id']}")
            return [created.status_code, read.status_code]

        results = await asyncio.gather(*(one(i) for i in range(n)))
    return [code for pair in results for code in pair]


@pytest.mark.timeout(120)
def test_more_clients_than_connections_all_complete(database_url: str) -> None:
    # Each request holds one connection across several worker-thread hops; without
    # admission the threads and the connections end up waiting on each other.
    engine = make_engine(database_url, pool_size=POOL_SIZE)
    run_migrations(engine)
    settings = Settings(environment="test", database_url=database_url, database_pool_size=POOL_SIZE)
    with served(create_app(settings, engine), "api-under-load") as port:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base) as client:
            user = register_user(client)
        codes = asyncio.run(_create_then_read(base, user.headers, CLIENTS))
    engine.dispose()
    assert sorted(set(codes)) == [200, 201]
    assert len(codes) == 2 * CLIENTS
