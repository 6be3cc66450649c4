"""Gives a process the tier starts its pod's own loopback port space, on a shared host.

In a pod every container shares one network namespace: the app listens on 0.0.0.0:8000 and
reaches its sidecar at 127.0.0.1:3500. Here several pods share this host's loopback, so the
tier gives each pod a map of pod ports to free host ports (DEPLOYED_TIER_POD_PORTS, JSON) and
this module, imported at interpreter start-up through PYTHONPATH, applies it: binds and
loopback connects to a pod port go to its host port, wildcard binds stay on loopback, and a
bind to a port outside the map gets an ephemeral one (nothing in the pod could reach it).
"""

from __future__ import annotations

import json
import os
import socket
from typing import Any

PORTS_ENV = "DEPLOYED_TIER_POD_PORTS"
_PORTS = {int(k): int(v) for k, v in json.loads(os.environ.get(PORTS_ENV) or "{}").items()}
_WILDCARDS = {"", "0.0.0.0", "::"}  # noqa: S104 - rewritten to loopback below
_LOOPBACKS = {"127.0.0.1", "localhost", "::1"}


def _loopback(family: int) -> str:
    return "::1" if family == socket.AF_INET6 else "127.0.0.1"


def _bound(sock: socket.socket, address: Any) -> Any:
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or not isinstance(address, tuple):
        return address
    host, port, *rest = address
    if host in _WILDCARDS or host in _LOOPBACKS:
        host = _loopback(sock.family)
        port = _PORTS.get(port, 0)
    return (host, port, *rest)


def _connected(sock: socket.socket, address: Any) -> Any:
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or not isinstance(address, tuple):
        return address
    host, port, *rest = address
    if host in _LOOPBACKS and port in _PORTS:
        return (_loopback(sock.family), _PORTS[port], *rest)
    return address


if _PORTS:
    _bind = socket.socket.bind
    _connect = socket.socket.connect
    _connect_ex = socket.socket.connect_ex

    def bind(self: socket.socket, address: Any) -> None:
        _bind(self, _bound(self, address))

    def connect(self: socket.socket, address: Any) -> None:
        _connect(self, _connected(self, address))

    def connect_ex(self: socket.socket, address: Any) -> int:
        return _connect_ex(self, _connected(self, address))

    socket.socket.bind = bind  # type: ignore[method-assign,assignment]
    socket.socket.connect = connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
