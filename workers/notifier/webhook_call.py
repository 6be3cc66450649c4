"""One webhook call: to the addresses just checked, within a total deadline, reading little."""

from __future__ import annotations

import ssl
import time
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import httpcore

from app.services.webhook_targets import (
    Resolver,
    TargetRefused,
    TargetRules,
    checked_addresses,
    parse_target,
)


class DeadlinePassed(Exception):
    """The call's total time ran out."""


@dataclass(frozen=True)
class CallLimits:
    deadline_seconds: float
    max_response_bytes: int


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds

    @property
    def passed(self) -> bool:
        return time.monotonic() >= self._end

    def cap(self, timeout: float | None) -> float:
        left = self._end - time.monotonic()
        if left <= 0:
            raise DeadlinePassed
        return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """Gives every read, write and TLS handshake at most the time left. The stdlib bounds
    a handshake and a sendall by their whole duration, and each read here by what is left,
    so a receiver trickling bytes is cut at the deadline whatever phase it stalls in."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self._inner = inner
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._deadline.cap(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._deadline.cap(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        # server_hostname is the URL's host: SNI and certificate checks use the name, not
        # the address connected to.
        upgraded = self._inner.start_tls(ssl_context, server_hostname, self._deadline.cap(timeout))
        return _DeadlineStream(upgraded, self._deadline)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class _CheckedBackend(httpcore.NetworkBackend):
    """Resolves the host once, refuses it unless every address is permitted, and connects
    to those very addresses, so no second lookup (DNS rebinding) can swap them."""

    def __init__(
        self,
        rules: TargetRules,
        resolver: Resolver,
        deadline: _Deadline,
        connector: httpcore.NetworkBackend,
    ) -> None:
        self._rules, self._resolver = rules, resolver
        self._deadline, self._connector = deadline, connector

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = checked_addresses(host, port, self._rules, self._resolver)
        failure: Exception = httpcore.ConnectError(f"no address of {host} to connect to")
        for address in addresses:
            try:
                stream = self._connector.connect_tcp(
                    str(address), port, self._deadline.cap(timeout), None, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            return _DeadlineStream(stream, self._deadline)
        raise failure

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def post_webhook(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    rules: TargetRules,
    resolver: Resolver,
    limits: CallLimits,
    ssl_context: ssl.SSLContext,
    connector: httpcore.NetworkBackend | None = None,
) -> str | None:
    """POST body to url once: None when the receiver answered 2xx in time, else why not.

    Redirects are never followed (a 3xx fails); the answer is read up to the size cap and
    the connection dropped, since only its status matters.
    """
    deadline = _Deadline(limits.deadline_seconds)
    backend = _CheckedBackend(rules, resolver, deadline, connector or httpcore.SyncBackend())
    try:
        parse_target(url, rules)
        with (
            httpcore.ConnectionPool(
                ssl_context=ssl_context, max_connections=1, retries=0, network_backend=backend
            ) as pool,
            pool.stream("POST", url, headers=list(headers.items()), content=body) as response,
        ):
            read = 0
            for chunk in response.iter_stream():
                read += len(chunk)
                if read >= limits.max_response_bytes:
                    break
            status = response.status
    except TargetRefused as refused:
        return f"refused: {refused}"
    except DeadlinePassed:
        return f"no complete answer within {limits.deadline_seconds:g} s"
    except (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError) as exc:
        if deadline.passed:
            return f"no complete answer within {limits.deadline_seconds:g} s"
        return f"{type(exc).__name__}: {exc}"
    except (httpcore.UnsupportedProtocol, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"
    if 300 <= status < 400:
        return f"HTTP {status}: redirects are not followed"
    return None if 200 <= status < 300 else f"HTTP {status}"
