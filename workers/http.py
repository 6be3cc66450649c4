"""The FastAPI app every worker serves: Dapr subscriptions, ack bodies, probes, metrics."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, FastAPI, Request
from prometheus_client import Counter
from sqlalchemy.engine import Engine

from app import tracing
from app.api.routes import ops
from app.contract import DEAD_LETTER_ROUTE, bulk_subscribe_spec
from app.errors import install_problem_handlers
from app.logs import RequestContextMiddleware
from app.metrics import MetricsMiddleware
from app.readiness import readiness_checks
from app.settings import Settings
from workers.bulk_http import DeadLetterForwarder, add_bulk_route
from workers.dapr_auth import require_app_token
from workers.runtime import Consumer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BackgroundLoop:
    """A periodic job a worker runs beside its subscriptions (claiming, materialising)."""

    name: str
    step: Callable[[], int]
    interval_seconds: float
    # What to wait on between idle steps, at most interval_seconds (default: the stop event).
    wake: Callable[[float], object] | None = None

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                busy = self.step() > 0
            except Exception:
                log.exception("background loop %s failed; retrying", self.name)
                busy = False
            if not busy:
                (self.wake or stop.wait)(self.interval_seconds)


def start_loops(loops: list[BackgroundLoop], stop: threading.Event) -> list[threading.Thread]:
    threads = [
        threading.Thread(target=loop.run, args=(stop,), name=loop.name, daemon=True)
        for loop in loops
    ]
    for thread in threads:
        thread.start()
    return threads


DEAD_LETTERS_SEEN = Counter(
    "taskstream_dead_letter_events_total",
    "Events that reached a dead-letter topic this worker watches",
    ["consumer", "topic"],
)


def subscription_list(consumer: Consumer, pubsub: str) -> list[dict[str, object]]:
    """What GET /dapr/subscribe answers: each topic with its route and dead-letter topic,
    and each dead-letter topic, watched so its growth shows in metrics."""
    listed: list[dict[str, object]] = []
    for sub in consumer.subscriptions:
        listed.append(
            {
                "pubsubname": pubsub,
                "topic": sub.topic.name,
                "route": sub.bulk_route,
                "deadLetterTopic": sub.topic.dead_letter,
                "bulkSubscribe": bulk_subscribe_spec(),
            }
        )
        # Raw delivery, as in the Subscription resources: a dead-letter topic may hold
        # bytes that are no CloudEvent, which daprd would otherwise retry forever.
        listed.append(
            {
                "pubsubname": pubsub,
                "topic": sub.topic.dead_letter,
                "route": DEAD_LETTER_ROUTE,
                "metadata": {"rawPayload": "true"},
            }
        )
    return listed


def create_worker_app(
    consumer: Consumer, settings: Settings, engine: Engine, loops: list[BackgroundLoop]
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        threads = start_loops(loops, stop)
        try:
            yield
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=10)

    app = FastAPI(title=f"taskstream {consumer.name}", lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.readiness_checks = readiness_checks(settings, engine)
    app.include_router(ops.router)
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(RequestContextMiddleware)
    install_problem_handlers(app)
    # Probes and metrics stay open (the kubelet and Prometheus hold no token); what daprd
    # calls takes its token when one is configured.
    from_dapr = [Depends(require_app_token(settings.app_api_token))]

    @app.get("/dapr/subscribe", tags=["dapr"], dependencies=from_dapr)
    def subscribe() -> list[dict[str, object]]:
        """The subscriptions Dapr should deliver to this worker."""
        if settings.dapr_subscriptions == "declarative":
            return []  # Subscription resources declare them; listing them too would double them
        return subscription_list(consumer, settings.pubsub_name)

    @app.post(DEAD_LETTER_ROUTE, tags=["dapr"], dependencies=from_dapr)
    async def dead_letter(request: Request) -> dict[str, str]:
        """Count an event that reached a dead-letter topic (it stays there for inspection)."""
        try:
            topic = str((await request.json()).get("topic") or "unknown")
        except ValueError:
            topic = "unknown"
        DEAD_LETTERS_SEEN.labels(consumer.name, topic).inc()
        log.warning("%s saw an event on dead-letter topic %s", consumer.name, topic)
        return {"status": "SUCCESS"}

    for sub in consumer.subscriptions:
        _add_delivery_route(app, consumer, sub.route, sub.topic.name, from_dapr)
        add_bulk_route(app, consumer, sub, DeadLetterForwarder(settings), from_dapr)
    tracing.instrument_app(app)
    return app


def _add_delivery_route(
    app: FastAPI, consumer: Consumer, route: str, topic: str, dependencies: list[Any]
) -> None:
    def deliver(body: bytes) -> dict[str, str]:
        # Always 200 with an explicit status: Dapr reads the body, not only the code.
        return {"status": consumer.dispatch(topic, body)}

    async def endpoint(request: Request) -> dict[str, str]:
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(deliver, await request.body())

    app.add_api_route(
        route,
        endpoint,
        methods=["POST"],
        tags=["dapr"],
        summary=f"Deliver a {topic} event",
        dependencies=dependencies,
    )
