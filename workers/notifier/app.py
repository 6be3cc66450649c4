"""The notifier process: subscriptions, the reminder claimer and the webhook sender."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Sequence

from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.contract import NOTIFIER, REMINDERS, TASK_EVENTS
from app.events.cloudevent import CloudEvent
from app.events.models import ReminderDue, TaskEvent
from app.settings import Settings
from workers.http import BackgroundLoop, create_worker_app
from workers.notifier.claims import claim_due_reminders, wait_for_next_due
from workers.notifier.delivery import deliver_reminder, deliver_reminders
from workers.notifier.schedule import sync_reminders, sync_reminders_batch
from workers.notifier.webhook_sender import WebhookSender
from workers.runtime import Consumer, Event, Route


def _on_task_event(session: Session, event: Event, envelope: CloudEvent) -> None:
    if isinstance(event, TaskEvent):
        sync_reminders(session, event, envelope)


def _on_task_events(session: Session, events: Sequence[tuple[Event, CloudEvent]]) -> None:
    sync_reminders_batch(session, [event for event, _ in events if isinstance(event, TaskEvent)])


def _on_reminder(session: Session, event: Event, envelope: CloudEvent) -> None:
    if isinstance(event, ReminderDue):
        deliver_reminder(session, event, envelope)


def _on_reminders(session: Session, events: Sequence[tuple[Event, CloudEvent]]) -> None:
    deliver_reminders(
        session, [(event, envelope) for event, envelope in events if isinstance(event, ReminderDue)]
    )


def build_consumer(engine: Engine) -> Consumer:
    routes = {sub.topic.name: sub for sub in NOTIFIER.subscriptions}
    return Consumer(
        NOTIFIER.app_id,
        engine,
        [
            Route(routes[TASK_EVENTS.name], _on_task_event, _on_task_events),
            Route(routes[REMINDERS.name], _on_reminder, _on_reminders),
        ],
    )


def build_loops(engine: Engine, settings: Settings) -> list[BackgroundLoop]:
    instance = f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
    sender = WebhookSender(engine, settings)
    return [
        BackgroundLoop(
            "reminder-claimer",
            lambda: claim_due_reminders(engine, instance),
            settings.notifier_poll_seconds,
            wake=lambda longest: wait_for_next_due(engine, longest),
        ),
        BackgroundLoop("webhook-sender", sender.step, 1.0, wake=sender.wait),
    ]


def create_app(settings: Settings, engine: Engine) -> FastAPI:
    return create_worker_app(
        build_consumer(engine), settings, engine, build_loops(engine, settings)
    )
