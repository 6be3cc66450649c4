"""The recurrer process: its subscription and the window keeper."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from app.contract import RECURRER
from app.settings import Settings
from workers.http import BackgroundLoop, create_worker_app
from workers.recurrer.handlers import materialise_window, on_task_event
from workers.runtime import Consumer, Route

WINDOW_INTERVAL_SECONDS = 30.0


def build_consumer(engine: Engine, settings: Settings | None = None) -> Consumer:
    [subscription] = RECURRER.subscriptions
    bounds = settings.recurrence_bounds if settings is not None else None
    quotas = settings.quotas if settings is not None else None
    handler = partial(on_task_event, bounds=bounds, quotas=quotas)
    return Consumer(RECURRER.app_id, engine, [Route(subscription, handler)])


def build_loops(engine: Engine, settings: Settings) -> list[BackgroundLoop]:
    window = timedelta(days=settings.recurrence_window_days)
    bounds, quotas = settings.recurrence_bounds, settings.quotas

    def keep_window() -> int:
        return materialise_window(engine, window, bounds=bounds, quotas=quotas)

    return [BackgroundLoop("window-keeper", keep_window, WINDOW_INTERVAL_SECONDS)]


def create_app(settings: Settings, engine: Engine) -> FastAPI:
    return create_worker_app(
        build_consumer(engine, settings), settings, engine, build_loops(engine, settings)
    )
