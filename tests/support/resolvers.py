"""Stand-in DNS for webhook hosts, so no lookup leaves the machine."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from ipaddress import ip_address

from app.public_addresses import IPAddress

# Public addresses no test ever connects to (the resolver only answers; it does not serve).
PUBLIC = "93.184.215.14"
PUBLIC_V6 = "2606:2800:21f:cb07::1"


class FakeResolver:
    """Answers from a table; each answer may be a list of lists, served in turn (rebinding)."""

    def __init__(self, table: dict[str, Sequence[str] | Sequence[Sequence[str]]]) -> None:
        self._answers: dict[str, list[list[str]]] = {}
        for host, answer in table.items():
            rounds = [list(answer)] if isinstance(answer[0], str) else [list(a) for a in answer]
            self._answers[host] = rounds  # type: ignore[assignment]
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.asked.append(host)
        rounds = self._answers.get(host)
        if not rounds:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        answer = rounds.pop(0) if len(rounds) > 1 else rounds[0]
        return [ip_address(a) for a in answer]
