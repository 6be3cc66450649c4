"""Waking the relay on commit: in this process, and in another one through NOTIFY."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.db import make_engine
from app.events.relay import OutboxRelay
from app.events.wakeup import OUTBOX_COMMITTED, OutboxSignal, listen_for_commits
from app.models.task import TaskCreate
from app.services.tasks import create_task
from tests.app.events.test_relay import Recorder
from tests.support.factories import make_user
from tests.support.waiting import wait_until

SLOW_POLL = 30.0  # long enough that only a wake-up can explain a prompt publish


def _create(engine: Engine, owner: uuid.UUID, *, commit: bool) -> None:
    with Session(engine) as session:
        create_task(session, owner_id=owner, data=TaskCreate(title="wake"))
        if commit:
            session.commit()
        else:
            session.rollback()


def test_a_commit_with_outbox_rows_raises_the_signal_and_a_rollback_does_not(
    engine: Engine,
) -> None:
    owner = make_user(engine)
    OUTBOX_COMMITTED.wait(0)  # clear what earlier commits raised
    _create(engine, owner, commit=False)
    assert not OUTBOX_COMMITTED.wait(0.05)
    with Session(engine) as session:
        session.commit()  # a commit without outbox rows
    assert not OUTBOX_COMMITTED.wait(0.05)
    _create(engine, owner, commit=True)
    assert OUTBOX_COMMITTED.wait(0.05)


def test_a_waiting_relay_publishes_a_commit_long_before_its_poll(engine: Engine) -> None:
    owner = make_user(engine)
    recorder = Recorder()
    relay = OutboxRelay(engine, recorder)
    stop = threading.Event()
    thread = threading.Thread(target=relay.run_forever, args=(stop, SLOW_POLL, OUTBOX_COMMITTED))
    thread.start()
    try:
        time.sleep(0.3)  # the relay has found nothing and waits
        _create(engine, owner, commit=True)
        wait_until(lambda: recorder.published, timeout=5, what="the publish after the commit")
    finally:
        stop.set()
        OUTBOX_COMMITTED.set()
        thread.join(timeout=10)


@pytest.mark.postgres
def test_notify_wakes_a_listener_in_another_process(postgres_url: str) -> None:
    # The listener has its own connection, as a relay process would; its own signal, so
    # only NOTIFY (not this process's after-commit hook) can raise it.
    postgres_engine = make_engine(postgres_url)
    owner = make_user(postgres_engine)
    signal = OutboxSignal()
    stop = threading.Event()
    thread = threading.Thread(target=listen_for_commits, args=(postgres_engine, stop, signal))
    thread.start()
    try:
        assert signal.wait(10), "the listener raises once on connecting"
        _create(postgres_engine, owner, commit=False)
        assert not signal.wait(0.3)
        _create(postgres_engine, owner, commit=True)
        assert signal.wait(5)
    finally:
        stop.set()
        thread.join(timeout=10)
        postgres_engine.dispose()
