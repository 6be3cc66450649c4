"""The recurrer process: its subscription and the window keeper."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from app.contract import RECURRER
from app.settings import Settings
from workers.http import BackgroundLoop, create_worker_app
from workers.recurrer.handlers import materialise_window, on_task_event
from workers.runtime import Consumer, Route

WINDOW_INTERVAL_SECONDS = 30.0


def build_consumer(engine: Engine) -> Consumer:
    [subscription] = RECURRER.subscriptions
    return Consumer(RECURRER.app_id, engine, [Route(subscription, on_task_event)])


def build_loops(engine: Engine, settings: Settings) -> list[BackgroundLoop]:
    window = timedelta(days=settings.recurrence_window_days)
    return [
        BackgroundLoop(
            "window-keeper", lambda: materialise_window(engine, window), WINDOW_INTERVAL_SECONDS
        )
    ]


def create_app(settings: Settings, engine: Engine) -> FastAPI:
    return create_worker_app(
        build_consumer(engine), settings, engine, build_loops(engine, settings)
    )
