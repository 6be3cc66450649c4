"""Waking the relay when outbox rows commit, instead of leaving them to its next poll.

A transaction that staged outbox rows raises a process-wide signal once it commits; on
PostgreSQL it also sends NOTIFY, which the database delivers to listeners at commit, so a
relay in another process (the API's, the notifier's) wakes too. The relay still polls:
the signal only shortens the wait, and a lost one costs at most a poll interval.
"""

from __future__ import annotations

import logging
import threading

import psycopg
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

CHANNEL = "taskstream_outbox"
_STAGED = "taskstream.outbox_staged"


class OutboxSignal:
    """Raised after a commit that wrote outbox rows; the relay waits on it between batches."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def wait(self, timeout: float) -> bool:
        """Wait up to `timeout`; whether the signal was raised. Rows committed before the
        raise are visible to the batch that follows, so clearing here loses nothing."""
        raised = self._event.wait(timeout)
        self._event.clear()
        return raised


OUTBOX_COMMITTED = OutboxSignal()


def mark_staged(session: Session) -> None:
    """Note that this transaction wrote outbox rows."""
    session.info[_STAGED] = True


@event.listens_for(Session, "before_commit")
def _notify_other_processes(session: Session) -> None:
    if session.info.get(_STAGED) and session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text(f"NOTIFY {CHANNEL}"))


@event.listens_for(Session, "after_commit")
def _signal_this_process(session: Session) -> None:
    if session.info.pop(_STAGED, False):
        OUTBOX_COMMITTED.set()


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_STAGED, None)


def listen_for_commits(
    engine: Engine, stop: threading.Event, signal: OutboxSignal = OUTBOX_COMMITTED
) -> None:
    """Relay NOTIFYs on PostgreSQL to `signal` until `stop`; reconnects after failures."""
    conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    while not stop.is_set():
        try:
            with psycopg.connect(conninfo, autocommit=True) as connection:
                connection.execute(f"LISTEN {CHANNEL}")
                signal.set()  # rows may have committed while nobody was listening
                while not stop.is_set():
                    for _ in connection.notifies(timeout=1.0):
                        signal.set()
        except psycopg.Error as exc:
            log.warning("outbox listener lost its connection (%s); polling until it is back", exc)
            stop.wait(5.0)
