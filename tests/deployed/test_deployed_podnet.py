"""The per-pod port map a started process gets: binds and loopback connects are remapped."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.support.deployed.pod import PODNET_DIR, PORTS_ENV
from tests.support.ports import free_ports

PROGRAM = """
import socket
server = socket.socket()
server.bind(("0.0.0.0", 8000))
server.listen()
stray = socket.socket()
stray.bind(("0.0.0.0", 8001))
client = socket.create_connection(("127.0.0.1", 8000), timeout=5)
print(server.getsockname()[0], server.getsockname()[1], stray.getsockname()[1])
"""


def test_a_pod_port_binds_on_loopback_at_its_host_port_and_other_ports_get_ephemeral_ones() -> None:
    [host_port] = free_ports(1)
    env = {
        **os.environ,
        "PYTHONPATH": str(PODNET_DIR),
        PORTS_ENV: json.dumps({"8000": host_port}),
    }

    done = subprocess.run(
        [sys.executable, "-c", PROGRAM], env=env, capture_output=True, text=True, timeout=30
    )

    assert done.returncode == 0, done.stderr
    address, port, stray = done.stdout.split()
    assert (address, int(port)) == ("127.0.0.1", host_port), "pod port 8000 was not remapped"
    assert int(stray) not in (8001, host_port), "a port outside the map kept its number"
