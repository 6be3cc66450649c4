"""Password hashing runs at most `slots` at a time and sizes itself from the memory limit."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app.errors import ServiceUnavailable
from app.security import (
    ARGON2_BYTES,
    PasswordHashing,
    container_memory_limit,
    hashing_slots,
)
from tests.support.hashing import CountingHasher

MIB = 1024 * 1024


def test_parallel_hashes_never_exceed_the_slots() -> None:
    counter = CountingHasher(slots=2)
    hashing = PasswordHashing(slots=2, wait_seconds=30, hasher=counter)
    with ThreadPoolExecutor(max_workers=8) as pool:
        hashes = list(pool.map(hashing.hash, [f"password-{i}" for i in range(16)]))
    assert len(hashes) == 16
    assert counter.most <= 2, f"{counter.most} hashes ran at once with 2 slots"


def test_a_caller_that_waits_too_long_gets_a_503_with_retry_after() -> None:
    hashing = PasswordHashing(slots=1, wait_seconds=0.01, hasher=CountingHasher(slots=1))
    with hashing._slot(), pytest.raises(ServiceUnavailable) as busy:
        hashing.hash("correct horse")
    assert busy.value.headers["Retry-After"] == "1"


def test_verifying_without_a_stored_hash_never_matches() -> None:
    hashing = PasswordHashing(slots=1, wait_seconds=1)
    assert hashing.verify("anything at all", None) is False
    assert hashing.verify("correct horse", hashing.hash("correct horse")) is True


def test_slots_keep_argon2_within_a_quarter_of_the_container_limit() -> None:
    assert ARGON2_BYTES == 64 * MIB, "the sizing below assumes Argon2's 64 MiB default"
    assert hashing_slots(512 * MIB) == 2, "the prod API's 512 Mi limit allows two"
    assert hashing_slots(256 * MIB) == 1
    assert hashing_slots(64 * MIB) == 1, "there is always one slot"
    assert 1 <= hashing_slots(None) <= 4


def test_the_container_limit_is_read_from_cgroup_v2_or_v1(tmp_path: Path) -> None:
    v2, v1 = tmp_path / "memory.max", tmp_path / "limit_in_bytes"
    v2.write_text("536870912\n")
    assert container_memory_limit((v2, v1)) == 512 * MIB
    v2.write_text("max\n")
    assert container_memory_limit((v2, v1)) is None
    v2.unlink()
    v1.write_text("9223372036854771712\n")
    assert container_memory_limit((v2, v1)) is None, "v1's 'unlimited' is not a limit"
    assert container_memory_limit((tmp_path / "absent",)) is None
