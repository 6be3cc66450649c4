"""Password hashing, access tokens and login throttling."""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict, deque
from datetime import timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.db import utcnow
from app.errors import TooManyRequests, Unauthorized
from app.settings import Settings

_hasher = PasswordHasher()
# Verifying against a real hash for unknown emails keeps login timing uniform.
_DUMMY_HASH = _hasher.hash("taskstream-timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


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


class LoginThrottle:
    """Sliding one-minute windows of failed logins per account and per client address."""

    def __init__(self, limit_per_minute: int, window_seconds: float = 60.0) -> None:
        self._limit = limit_per_minute
        self._window = window_seconds
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures[key]
        while failures and now - failures[0] >= self._window:
            failures.popleft()
        return failures

    def check(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                failures = self._recent(key, now)
                if len(failures) >= self._limit:
                    retry_after = max(1, int(self._window - (now - failures[0])) + 1)
                    raise TooManyRequests(
                        "Too many failed logins; wait before trying again.",
                        headers={"Retry-After": str(retry_after)},
                    )

    def record_failure(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)

    def reset(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)
