"""Login and registration throttles in bounded memory, keyed by client address and account."""

from __future__ import annotations

import hashlib
import math
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from app.errors import TooManyRequests
from app.settings import Settings

Clock = Callable[[], float]
DIGEST_BYTES = 16


class _Entry:
    __slots__ = ("last", "tat")

    def __init__(self, now: float) -> None:
        self.tat = now  # the "theoretical arrival time" of the generic cell rate algorithm
        self.last = now


class RateWindows:
    """At most `limit` events per `window` seconds per key, in at most `capacity` entries.

    Each key is one GCRA clock: `limit` events may come at once, then one more every
    window/limit seconds. Entries stay in order of their last event, so those idle for a
    whole window (fully refilled, hence worth nothing) fall off the front, and at capacity
    the least recently active one makes room. Not thread-safe: its owner holds a lock.
    """

    def __init__(self, *, limit: int, window: float, capacity: int) -> None:
        self.limit = limit
        self.window = window
        self._interval = window / limit
        self._tolerance = window - self._interval
        self._capacity = capacity
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def wait(self, key: bytes, now: float) -> float:
        """Seconds until `key` may have another event; 0 when it may now."""
        entry = self._entries.get(key)
        return 0.0 if entry is None else max(0.0, entry.tat - now - self._tolerance)

    def idle(self, key: bytes, now: float) -> float:
        """Seconds until `key` has had no event for a whole window; 0 when it has."""
        entry = self._entries.get(key)
        return 0.0 if entry is None else max(0.0, entry.last + self.window - now)

    def record(self, key: bytes, now: float) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            self._expire(now)
            while len(self._entries) >= self._capacity:
                self._entries.popitem(last=False)
            entry = _Entry(now)
        entry.tat = max(entry.tat, now) + self._interval
        entry.last = now
        self._entries[key] = entry

    def forget(self, key: bytes) -> None:
        self._entries.pop(key, None)

    def _expire(self, now: float) -> None:
        while self._entries:
            oldest = next(iter(self._entries.values()))
            if now - oldest.last < self.window:
                return
            self._entries.popitem(last=False)


@dataclass(frozen=True)
class LoginLimits:
    """Failed logins allowed per minute, per kind of key."""

    per_account_and_address: int
    per_address: int
    per_account: int
    capacity: int
    window: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginLimits:
        return cls(
            per_account_and_address=settings.login_attempts_per_minute,
            per_address=settings.login_failures_per_address_per_minute,
            per_account=settings.login_failures_per_account_per_minute,
            capacity=settings.throttle_capacity,
        )


def _too_many(wait: float, detail: str) -> TooManyRequests:
    return TooManyRequests(detail, headers={"Retry-After": str(max(1, math.ceil(wait)))})


class _Keys:
    """Fixed-size salted digests, so neither key length nor key choice costs memory."""

    def __init__(self) -> None:
        self._salt = secrets.token_bytes(32)

    def __call__(self, kind: bytes, *parts: str) -> bytes:
        data = b"\x00".join(part.encode("utf-8", "surrogatepass") for part in parts)
        return hashlib.blake2b(data, digest_size=DIGEST_BYTES, key=self._salt, person=kind).digest()


class LoginThrottle:
    """Failed logins, counted so that an attacker can only ever lock out themselves.

    Three counters, each a bounded `RateWindows`, count failures (successes never):

    * per (account, address): `per_account_and_address` failures lock that account *for
      that address* only; a login to the account from anywhere else is unaffected.
    * per address: `per_address` failures across all accounts lock that address, which
      stops one client spraying guesses over many accounts.
    * per account: beyond `per_account` failures from all addresses together, an address
      that has itself failed on the account within the window is refused, while one that
      has not still gets in. A distributed guesser is slowed to one guess per address per
      window; the owner, who has not failed, can always log in.

    Keys are salted digests of fixed size, and a username longer than an email can be is
    refused before it gets here. An entry is created only by a failure, and failures are
    themselves limited per address, so evicting a live counter (at `capacity`) takes
    `capacity / per_address` addresses failing within one window.
    """

    def __init__(self, limits: LoginLimits, clock: Clock = time.monotonic) -> None:
        def windows(limit: int) -> RateWindows:
            return RateWindows(limit=limit, window=limits.window, capacity=limits.capacity)

        self._pairs = windows(limits.per_account_and_address)
        self._addresses = windows(limits.per_address)
        self._accounts = windows(limits.per_account)
        self._key = _Keys()
        self._clock = clock
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._pairs) + len(self._addresses) + len(self._accounts)

    def _keys(self, account: str, address: str) -> tuple[bytes, bytes, bytes]:
        return (
            self._key(b"pair", account, address),
            self._key(b"address", address),
            self._key(b"account", account),
        )

    def check(self, account: str, address: str) -> None:
        """Raise TooManyRequests if this address may not try this account now."""
        pair, by_address, by_account = self._keys(account, address)
        now = self._clock()
        with self._lock:
            wait = max(self._pairs.wait(pair, now), self._addresses.wait(by_address, now))
            if wait == 0.0 and self._accounts.wait(by_account, now) > 0.0:
                wait = self._pairs.idle(pair, now)
        if wait > 0.0:
            raise _too_many(wait, "Too many failed logins from this address; wait and retry.")

    def record_failure(self, account: str, address: str) -> None:
        pair, by_address, by_account = self._keys(account, address)
        now = self._clock()
        with self._lock:
            self._pairs.record(pair, now)
            self._addresses.record(by_address, now)
            self._accounts.record(by_account, now)

    def succeeded(self, account: str, address: str) -> None:
        """Forget this address's failures on this account (only a correct password gets here)."""
        pair, _, _ = self._keys(account, address)
        with self._lock:
            self._pairs.forget(pair)


class AddressThrottle:
    """Every attempt counts: at most `limit` per `window` seconds from one client address."""

    def __init__(
        self, *, limit: int, window: float, capacity: int, clock: Clock = time.monotonic
    ) -> None:
        self._windows = RateWindows(limit=limit, window=window, capacity=capacity)
        self._key = _Keys()
        self._clock = clock
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._windows)

    def hit(self, address: str, detail: str) -> None:
        """Count one attempt, or raise TooManyRequests without counting it."""
        key = self._key(b"address", address)
        now = self._clock()
        with self._lock:
            wait = self._windows.wait(key, now)
            if wait == 0.0:
                self._windows.record(key, now)
                return
        raise _too_many(wait, detail)
