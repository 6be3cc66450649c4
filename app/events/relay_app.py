"""The relay process: publishes the outbox through the Dapr sidecar, with probes and metrics."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from app import tracing
from app.api.routes import ops
from app.events.publisher import DaprPublisher
from app.events.relay import OutboxRelay
from app.events.wakeup import OUTBOX_COMMITTED, listen_for_commits
from app.logs import RequestContextMiddleware
from app.metrics import MetricsMiddleware
from app.readiness import readiness_checks
from app.retention import Retention
from app.settings import Settings


def create_relay_app(settings: Settings, engine: Engine) -> FastAPI:
    publisher = DaprPublisher(
        settings.dapr_http_endpoint, settings.pubsub_name, api_token=settings.dapr_api_token
    )
    # DaprPublisher publishes in bulk rounds, so no publishing threads are needed here.
    relay = OutboxRelay(engine, publisher, batch_size=settings.relay_batch_size)
    # Retention runs here, once per deployment rather than in every worker; its batches
    # skip rows another relay replica is deleting.
    retention = Retention(engine, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        threads = [
            threading.Thread(
                target=relay.run_forever,
                args=(stop, settings.relay_poll_seconds, OUTBOX_COMMITTED),
                name="relay",
                daemon=True,
            ),
            threading.Thread(
                target=retention.run_forever, args=(stop,), name="retention", daemon=True
            ),
        ]
        if engine.dialect.name == "postgresql":
            # The API and the notifier commit in other processes: NOTIFY reaches us here.
            threads.append(
                threading.Thread(
                    target=listen_for_commits,
                    args=(engine, stop),
                    name="outbox-listener",
                    daemon=True,
                )
            )
        for thread in threads:
            thread.start()
        try:
            yield
        finally:
            stop.set()
            OUTBOX_COMMITTED.set()
            for thread in threads:
                thread.join(timeout=10)
            relay.close()
            publisher.close()

    app = FastAPI(title="taskstream relay", lifespan=lifespan)
    app.state.readiness_checks = {
        **readiness_checks(settings, engine),
        "publishing": relay.check_publishing,
    }
    app.include_router(ops.router)
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(RequestContextMiddleware)
    tracing.instrument_app(app)
    return app
