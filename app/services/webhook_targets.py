"""Where a webhook may point: https to public addresses, checked on save and on every send."""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from ipaddress import ip_address
from urllib.parse import urlsplit

from app.contract import WEBHOOK_PORT
from app.public_addresses import IPAddress, is_public, parse_literal
from app.settings import Settings

Resolver = Callable[[str, int], Sequence[IPAddress]]
DEFAULT_PORTS = {"http": 80, "https": 443}


class TargetRefused(Exception):
    """A webhook URL, or what its host resolves to, that must not be called; says why."""


@dataclass(frozen=True)
class TargetRules:
    """What the environment allows a webhook to point at."""

    https_only: bool
    # Dev and tests only (settings refuse it elsewhere): receivers on this machine.
    allow_loopback: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> TargetRules:
        return cls(
            https_only=settings.environment not in ("dev", "test"),
            allow_loopback=settings.webhook_allow_loopback,
        )

    def permits(self, address: IPAddress) -> bool:
        return is_public(address) or (self.allow_loopback and address.is_loopback)


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int


def parse_target(url: str, rules: TargetRules) -> Target:
    """The URL's scheme, host and port, if its form alone breaks no rule."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused("it is not a valid URL") from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or (rules.https_only and scheme != "https"):
        raise TargetRefused("it must use https" if rules.https_only else "it must be http(s)")
    if "@" in parts.netloc:
        raise TargetRefused("it must not carry credentials (user:password@); sign with the secret")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise TargetRefused("it has no host")
    port = port or DEFAULT_PORTS[scheme]
    if rules.https_only and port != WEBHOOK_PORT:
        raise TargetRefused(f"it must use the https port {WEBHOOK_PORT}")
    literal = parse_literal(host)
    if literal is not None and not rules.permits(literal):
        raise TargetRefused("its address is not a public one")
    if literal is None and (host == "localhost" or host.endswith(".localhost")):
        raise TargetRefused("it names this machine")
    return Target(scheme, host, port)


def system_resolver(host: str, port: int) -> list[IPAddress]:
    """Every address the system resolver gives for host (numeric forms included)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ip_address(str(info[4][0])) for info in infos]


def checked_addresses(
    host: str, port: int, rules: TargetRules, resolver: Resolver
) -> list[IPAddress]:
    """The addresses to connect to for host; refused unless every one of them is permitted.

    One private address among public ones refuses them all: which one a client picks
    is not ours to predict.
    """
    literal = parse_literal(host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        try:
            addresses = list(resolver(host, port))
        except (OSError, ValueError) as exc:  # ValueError: bad IDNA label, NUL byte
            raise TargetRefused(f"its host {host} does not resolve") from exc
    if not addresses:
        raise TargetRefused(f"its host {host} does not resolve")
    if not all(rules.permits(address) for address in addresses):
        raise TargetRefused(f"its host {host} resolves to an address that is not public")
    return addresses
