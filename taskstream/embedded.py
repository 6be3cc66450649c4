"""The whole system in one process: API, relay, notifier and recurrer on an in-process bus."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

import typer
import uvicorn
from sqlalchemy.engine import Engine

from app.contract import ENV_ENVIRONMENT
from app.db import make_engine, run_migrations, shares_one_connection
from app.events.relay import OutboxRelay
from app.events.wakeup import OUTBOX_COMMITTED, OutboxSignal
from app.main import create_app
from app.retention import Retention
from app.settings import Settings
from taskstream.embedded_bus import EmbeddedPublisher
from workers.http import BackgroundLoop, start_loops
from workers.notifier import app as notifier
from workers.recurrer import app as recurrer

# After a commit wakes the relay, it waits this long so that the events of the commits
# around it go out in one claim and one settle instead of one round each.
RELAY_LINGER_SECONDS = 0.02


def background_engine(settings: Settings, api: Engine) -> Engine:
    """The relay's and workers' own engine and pool beside the API's `api`.

    Sharing the API's pool, they held connections its admitted requests were waiting for
    (app.limits). Its size covers the relay's publishing threads and the other loops.
    Their loops retry a failed step, so they skip the round trip that tests each
    connection leaving the pool: they check out several times a second. An in-memory
    SQLite database is one connection, so there they share the API's.
    """
    if shares_one_connection(settings.database_url):
        return api
    pool_size = max(2, (settings.relay_concurrency + 4) // 2)
    return make_engine(settings.database_url, pool_size=pool_size, pre_ping=False)


def batched_wake(signal: OutboxSignal, linger: float) -> Callable[[float], None]:
    """Wait for `signal` (at most `timeout`), then `linger` more to gather what follows it."""

    def wait(timeout: float) -> None:
        if signal.wait(timeout):
            time.sleep(linger)

    return wait


def embedded_loops(settings: Settings, engine: Engine) -> list[BackgroundLoop]:
    """The relay (delivering to both workers in-process), retention and the workers' loops."""
    publisher = EmbeddedPublisher(
        [notifier.build_consumer(engine), recurrer.build_consumer(engine, settings)]
    )
    relay = OutboxRelay(
        engine,
        publisher,
        batch_size=settings.relay_batch_size,
        # SQLite has one writer: consumers delivered to side by side would only queue on it.
        concurrency=1 if settings.is_sqlite else settings.relay_concurrency,
    )
    return [
        # Woken by commits that staged outbox rows; all writers are in this process.
        BackgroundLoop(
            "relay",
            relay.run_once,
            settings.relay_poll_seconds,
            wake=batched_wake(OUTBOX_COMMITTED, RELAY_LINGER_SECONDS),
        ),
        # In a deployment the relay process runs retention; here this process is the relay.
        BackgroundLoop(
            "retention",
            Retention(engine, settings).run_once,
            settings.retention_interval_seconds,
        ),
        *notifier.build_loops(engine, settings),
        *recurrer.build_loops(engine, settings),
    ]


def embedded_settings() -> Settings:
    """Settings for `taskstream run`, which is local by definition: dev unless the operator
    chose an environment (the image and every other command default to prod)."""
    if ENV_ENVIRONMENT in os.environ:
        return Settings()
    return Settings(environment="dev")


def serve_embedded(settings: Settings, *, host: str, port: int) -> None:
    if settings.event_bus != "embedded":
        raise typer.BadParameter(
            "`taskstream run` is the embedded mode; with TASKSTREAM_EVENT_BUS=dapr start "
            "`taskstream api`, `relay` and `worker ...` beside their sidecars instead"
        )
    engine = make_engine(settings.database_url, pool_size=settings.database_pool_size)
    run_migrations(engine, webhook_secret_key=settings.webhook_secret_key.get_secret_value())
    background = background_engine(settings, engine)
    stop = threading.Event()
    threads = start_loops(embedded_loops(settings, background), stop)
    url = f"http://{host}:{port}"
    typer.echo(f"taskstream is running: API {url}/api/v1, docs {url}/docs")
    chosen = "set" if ENV_ENVIRONMENT in os.environ else "the default of `taskstream run`"
    typer.echo(f"environment {settings.environment} ({ENV_ENVIRONMENT} {chosen})")
    typer.echo(f"database {engine.url.render_as_string(hide_password=True)}; event bus in-process")
    typer.echo("relay, notifier (reminders, webhooks) and recurrer run in this process")
    try:
        uvicorn.run(
            create_app(settings, engine),
            host=host,
            port=port,
            log_level=settings.log_level.lower(),
            log_config=None,
            access_log=False,
        )
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        if background is not engine:
            background.dispose()
        engine.dispose()
