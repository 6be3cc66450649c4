"""Password hashing with bounded concurrency, and access tokens."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Protocol

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.db import utcnow
from app.errors import ServiceUnavailable, Unauthorized
from app.settings import Settings

_hasher = PasswordHasher()
# Verifying against a real hash for unknown emails keeps login timing uniform.
_DUMMY_HASH = _hasher.hash("taskstream-timing-equaliser")
# Argon2 holds memory_cost KiB for the length of each hash or verification.
ARGON2_BYTES = _hasher.memory_cost * 1024
# Hashing may use this share of the container's memory; the rest is the app's.
HASHING_MEMORY_SHARE = 4
SLOTS_WITHOUT_A_LIMIT = 4
_CGROUP_LIMITS = (
    Path("/sys/fs/cgroup/memory.max"),  # cgroup v2
    Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"),  # cgroup v1
)


class Hasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, hash: str, password: str) -> bool: ...


def container_memory_limit(files: tuple[Path, ...] = _CGROUP_LIMITS) -> int | None:
    """The memory limit of this process's cgroup (the pod's limit), or None if unlimited."""
    for file in files:
        try:
            text = file.read_text().strip()
        except OSError:
            continue
        # v1 reports "no limit" as a page-rounded 2**63.
        if text.isdigit() and int(text) < 2**60:
            return int(text)
        return None
    return None


def hashing_slots(memory_limit: int | None, per_hash: int = ARGON2_BYTES) -> int:
    """How many hashes may run at once: their memory stays within a quarter of the limit."""
    if memory_limit is None:
        return min(SLOTS_WITHOUT_A_LIMIT, os.cpu_count() or 1)
    return max(1, memory_limit // HASHING_MEMORY_SHARE // per_hash)


class PasswordHashing:
    """Argon2 hashing and verification, at most `slots` at a time.

    Each one holds Argon2's memory (64 MiB) while it runs, so unbounded concurrency lets a
    burst of registrations or logins exhaust the pod. Callers beyond `slots` queue for up
    to `wait_seconds`, then get a 503 with Retry-After. The routes that hash are sync, so
    they run (and wait) on worker threads, never on the event loop.
    """

    def __init__(self, *, slots: int, wait_seconds: float, hasher: Hasher | None = None) -> None:
        self.hasher: Hasher = hasher or _hasher
        self.slots = slots
        self._free = threading.BoundedSemaphore(slots)
        self._wait = wait_seconds

    @contextmanager
    def _slot(self) -> Iterator[None]:
        if not self._free.acquire(timeout=self._wait):
            raise ServiceUnavailable(
                "Too many password checks are in progress; retry shortly.",
                headers={"Retry-After": "1"},
            )
        try:
            yield
        finally:
            self._free.release()

    def hash(self, password: str) -> str:
        with self._slot():
            return self.hasher.hash(password)

    def verify(self, password: str, password_hash: str | None) -> bool:
        """Whether the password matches; a missing hash costs the same and never matches."""
        with self._slot():
            try:
                matches = self.hasher.verify(password_hash or _DUMMY_HASH, password)
            except (VerificationError, InvalidHashError):
                return False
        return matches and password_hash is not None


def create_access_token(user_id: uuid.UUID, settings: Settings) -> tuple[str, int]:
    lifetime = timedelta(minutes=settings.access_token_minutes)
    now = utcnow()
    claims = {"sub": str(user_id), "iat": now, "exp": now + lifetime, "typ": "access"}
    token = jwt.encode(claims, settings.jwt_secret.get_secret_value(), settings.jwt_algorithm)
    return token, int(lifetime.total_seconds())


def decode_access_token(token: str, settings: Settings) -> uuid.UUID:
    invalid = Unauthorized(
        "The access token is missing, malformed or expired; log in again.",
        headers={"WWW-Authenticate": "Bearer"},
    )
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret.get_secret_value(),
            algorithms=[settings.jwt_algorithm],
            options={"require": ["sub", "exp"]},
        )
        return uuid.UUID(str(claims["sub"]))
    except (jwt.PyJWTError, ValueError) as exc:
        raise invalid from exc
