"""The tier's ports: no two engines of one test process are ever given the same one."""

from __future__ import annotations

import socket

from tests.support import ports
from tests.support.ports import LOOPBACK, free_port, free_ports


def test_no_port_is_handed_out_twice_across_calls() -> None:
    # Ports picked for pods are released until the pods bind them; the kernel reuses them
    # freely, so 2,000 picks without the process-wide record repeat ~8 % of them.
    picked = [port for _ in range(250) for port in free_ports(8)]

    assert len(set(picked)) == len(picked)


def test_a_port_handed_out_earlier_is_skipped_even_when_the_kernel_offers_it(
    monkeypatch,
) -> None:
    first = free_port()
    offers = iter([first, first])  # the kernel offering the same port, twice
    real_socket = socket.socket

    class Offering(real_socket):  # type: ignore[misc]
        def getsockname(self):  # type: ignore[no-untyped-def]
            offered = next(offers, None)
            return (LOOPBACK, offered) if offered is not None else super().getsockname()

    monkeypatch.setattr(ports.socket, "socket", Offering)

    again = free_port()

    assert again != first
