"""The throttles stay within their capacity and lock out only whoever failed."""

from __future__ import annotations

import pytest

from app.errors import TooManyRequests
from app.throttle import AddressThrottle, LoginLimits, LoginThrottle, RateWindows

VICTIM = "victim@example.com"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _throttle(clock: FakeClock, **overrides: int) -> LoginThrottle:
    limits = {"per_account_and_address": 5, "per_address": 20, "per_account": 50, "capacity": 1000}
    return LoginThrottle(LoginLimits(**{**limits, **overrides}), clock=clock)


def _fail(throttle: LoginThrottle, account: str, address: str, times: int) -> None:
    for _ in range(times):
        throttle.check(account, address)
        throttle.record_failure(account, address)


def test_far_more_keys_than_capacity_leave_the_windows_at_capacity() -> None:
    windows = RateWindows(limit=3, window=60.0, capacity=100)
    for i in range(10_000):
        windows.record(f"key-{i}".encode(), 1000.0)
    assert len(windows) == 100, f"{len(windows)} entries kept; the capacity is 100"


def test_entries_idle_for_a_whole_window_are_dropped() -> None:
    windows = RateWindows(limit=3, window=60.0, capacity=100)
    for i in range(50):
        windows.record(f"old-{i}".encode(), 1000.0)
    windows.record(b"new", 1061.0)
    assert len(windows) == 1, f"{len(windows)} entries kept after the window passed"


def test_a_burst_of_limit_events_is_allowed_then_one_per_interval() -> None:
    windows = RateWindows(limit=3, window=60.0, capacity=10)
    for _ in range(3):
        assert windows.wait(b"k", 1000.0) == 0.0
        windows.record(b"k", 1000.0)
    assert windows.wait(b"k", 1000.0) == pytest.approx(20.0), "the 4th event came too soon"
    assert windows.wait(b"k", 1020.0) == 0.0, "one event per window/limit is allowed again"


def test_checks_alone_create_no_entries() -> None:
    clock = FakeClock()
    throttle = _throttle(clock)
    for i in range(100):
        throttle.check(f"made-up-{i}@example.com", f"198.51.100.{i}")
    assert len(throttle) == 0, "a check stored something"


def test_a_flood_of_made_up_accounts_keeps_the_login_throttle_bounded() -> None:
    clock = FakeClock()
    throttle = _throttle(clock, capacity=100, per_address=10**6, per_account=10**6)
    for i in range(5_000):
        throttle.record_failure(f"made-up-{i}@example.com", "203.0.113.9")
    assert len(throttle) <= 3 * 100, f"{len(throttle)} entries for three counters of 100"


def test_failures_from_other_addresses_never_lock_the_owner_out() -> None:
    clock = FakeClock()
    throttle = _throttle(clock)
    for attacker in range(40):
        address = f"203.0.113.{attacker}"
        with pytest.raises(TooManyRequests):
            _fail(throttle, VICTIM, address, 6)
    throttle.check(VICTIM, "192.0.2.7")  # the owner, who has not failed, gets in


def test_an_account_under_attack_refuses_each_address_after_its_first_failure() -> None:
    clock = FakeClock()
    throttle = _throttle(clock, per_account=10)
    for attacker in range(10):
        _fail(throttle, VICTIM, f"203.0.113.{attacker}", 1)
    _fail(throttle, VICTIM, "198.51.100.1", 1)  # a fresh address still gets its one try
    with pytest.raises(TooManyRequests) as refused:
        throttle.check(VICTIM, "198.51.100.1")
    assert int(refused.value.headers["Retry-After"]) <= 60
    throttle.check(VICTIM, "192.0.2.7")
    clock.now += 61
    throttle.check(VICTIM, "198.51.100.1")


def test_an_address_that_fails_across_many_accounts_is_locked() -> None:
    clock = FakeClock()
    throttle = _throttle(clock, per_address=20)
    for i in range(20):
        _fail(throttle, f"user-{i}@example.com", "203.0.113.5", 1)
    with pytest.raises(TooManyRequests):
        throttle.check("someone-else@example.com", "203.0.113.5")
    throttle.check("someone-else@example.com", "203.0.113.6")


def test_a_successful_login_clears_only_its_own_address() -> None:
    clock = FakeClock()
    throttle = _throttle(clock)
    _fail(throttle, VICTIM, "203.0.113.1", 5)
    _fail(throttle, VICTIM, "192.0.2.7", 4)
    throttle.succeeded(VICTIM, "192.0.2.7")
    _fail(throttle, VICTIM, "192.0.2.7", 4)
    with pytest.raises(TooManyRequests):
        throttle.check(VICTIM, "203.0.113.1")


def test_the_address_throttle_counts_every_attempt_and_answers_retry_after() -> None:
    clock = FakeClock()
    throttle = AddressThrottle(limit=2, window=3600.0, capacity=10, clock=clock)
    throttle.hit("203.0.113.1", "slow down")
    throttle.hit("203.0.113.1", "slow down")
    with pytest.raises(TooManyRequests) as refused:
        throttle.hit("203.0.113.1", "slow down")
    assert int(refused.value.headers["Retry-After"]) == 1800
    throttle.hit("203.0.113.2", "slow down")
