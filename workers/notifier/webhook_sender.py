"""Sending due webhook calls side by side, fairly across users, each one bounded."""

from __future__ import annotations

import json
import logging
import ssl
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpcore
import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.models.user import User
from app.models.webhook import WebhookDelivery
from app.sealing import SealBroken, unseal
from app.services.webhook_targets import Resolver, TargetRules, system_resolver
from app.settings import Settings
from workers.notifier.delivery import SIGNATURE_HEADER, sign
from workers.notifier.webhook_call import CallLimits, post_webhook
from workers.notifier.webhook_claims import claim_fairly, record_outcome

log = logging.getLogger(__name__)

# A claim lasts one call's deadline plus this, enough for a slow DNS answer and the commit
# of the outcome; nothing waits in a queue after its claim.
LEASE_MARGIN_SECONDS = 60.0


class WebhookSender:
    """Claims only as many calls as it has free slots and starts each at once."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        resolver: Resolver = system_resolver,
        ssl_context: ssl.SSLContext | None = None,
        connector: httpcore.NetworkBackend | None = None,
    ) -> None:
        self._engine = engine
        self._rules = TargetRules.from_settings(settings)
        self._resolver = resolver
        self._limits = CallLimits(
            settings.webhook_deadline_seconds, settings.webhook_max_response_bytes
        )
        self._ssl_context = ssl_context or httpx.create_ssl_context()
        self._connector = connector
        self._sealing_key = settings.webhook_secret_key.get_secret_value()
        self._slots = settings.webhook_concurrency
        self._per_user = settings.webhook_in_flight_per_user
        self._pool = ThreadPoolExecutor(self._slots, thread_name_prefix="webhook")
        self._lock = threading.Lock()
        self._in_flight: Counter[uuid.UUID] = Counter()
        self._finished = threading.Event()

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self._limits.deadline_seconds + LEASE_MARGIN_SECONDS)

    def step(self) -> int:
        """Claim due calls into the free slots; how many were started."""
        self._finished.clear()
        with self._lock:
            free = self._slots - sum(self._in_flight.values())
            in_flight = dict(self._in_flight)
        if free <= 0:
            return 0
        claimed = claim_fairly(
            self._engine,
            limit=free,
            per_user=self._per_user,
            in_flight=in_flight,
            lease=self.lease,
        )
        for delivery in claimed:
            with self._lock:
                self._in_flight[delivery.owner_id] += 1
            self._pool.submit(self._run, delivery)
        return len(claimed)

    def wait(self, longest: float) -> None:
        """Between idle steps: until a call finishes (a slot frees up) or `longest` seconds."""
        self._finished.wait(longest)

    def busy(self) -> bool:
        with self._lock:
            return sum(self._in_flight.values()) > 0

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def _run(self, delivery: WebhookDelivery) -> None:
        try:
            self._send(delivery)
        except Exception:
            log.exception("webhook delivery %s failed unexpectedly", delivery.id)
        finally:
            with self._lock:
                self._in_flight[delivery.owner_id] -= 1
                if self._in_flight[delivery.owner_id] <= 0:
                    del self._in_flight[delivery.owner_id]
            self._finished.set()

    def _send(self, delivery: WebhookDelivery) -> None:
        with Session(self._engine) as session:
            user = session.get(User, delivery.owner_id)
            url, sealed = (user.webhook_url, user.webhook_secret_sealed) if user else (None, None)
        if url is None or sealed is None:
            gone = "no webhook configured any more"
            record_outcome(self._engine, delivery.id, gone, give_up=True)
            return
        try:
            secret = unseal(self._sealing_key, sealed, delivery.owner_id.bytes)
        except SealBroken as broken:
            unusable = f"the webhook secret cannot be unsealed ({broken}); set it again"
            record_outcome(self._engine, delivery.id, unusable, give_up=True)
            return
        body = json.dumps(delivery.body, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(secret, str(int(time.time())), body),
            "X-Taskstream-Event-Id": delivery.source_event_id,
        }
        error = post_webhook(
            url,
            body,
            headers,
            rules=self._rules,
            resolver=self._resolver,
            limits=self._limits,
            ssl_context=self._ssl_context,
            connector=self._connector,
        )
        record_outcome(self._engine, delivery.id, error)
