"""A stand-in password hasher that records how many calls ran at once."""

from __future__ import annotations

import contextlib
import threading


class CountingHasher:
    """Counts calls in progress; a barrier of slots + 1 makes any excess overlap certain."""

    def __init__(self, slots: int) -> None:
        self.inside = 0
        self.most = 0
        self._lock = threading.Lock()
        self._overlap = threading.Barrier(slots + 1, timeout=0.5)

    def _enter(self) -> None:
        with self._lock:
            self.inside += 1
            self.most = max(self.most, self.inside)
        # Broken (timed out) when fewer than slots + 1 callers got in at once, as they should.
        with contextlib.suppress(threading.BrokenBarrierError):
            self._overlap.wait()

    def _leave(self) -> None:
        with self._lock:
            self.inside -= 1

    def hash(self, password: str) -> str:
        self._enter()
        self._leave()
        return f"hashed:{password}"

    def verify(self, hash: str, password: str) -> bool:
        self._enter()
        self._leave()
        return hash == f"hashed:{password}"
