"""Free TCP ports on the loopback interface, for engines the tests start."""

from __future__ import annotations

import socket
import threading
from contextlib import ExitStack

LOOPBACK = "127.0.0.1"

# Every port this test process has handed out. A port is only "free" until its engine binds
# it; the kernel knows nothing of ports picked but not yet bound, and hands them out again
# (about one port in twelve over 2,000 picks), so two engines of one tier could be given the
# same port and one would die on EADDRINUSE while the other answered its probes.
_handed_out: set[int] = set()
_lock = threading.Lock()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on and no earlier call returned."""
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports on 127.0.0.1, none returned before in this process.

    Every socket stays bound until all ports are picked, so the kernel moves on to another
    port each time; a port an earlier call returned is skipped (its socket held meanwhile).
    """
    ports: list[int] = []
    with _lock, ExitStack() as stack:
        while len(ports) < count:
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((LOOPBACK, 0))
            port: int = sock.getsockname()[1]
            if port not in _handed_out:
                _handed_out.add(port)
                ports.append(port)
    return ports


def port_open(port: int, host: str = LOOPBACK, timeout: float = 0.2) -> bool:
    """Whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
