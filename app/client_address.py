"""The address a request really came from, read through proxies the operator trusts."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# A chain longer than this is not a real deployment; stop reading rather than walk it all.
MAX_HOPS = 16
# One IPv6 subscriber gets a whole /64, so a per-address limit must count the prefix.
IPV6_SUBSCRIBER_PREFIX = 64
UNKNOWN = "unknown"


def _parse(text: str) -> IPAddress | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _key(address: IPAddress) -> str:
    if isinstance(address, ipaddress.IPv6Address):
        network = ipaddress.IPv6Network((address, IPV6_SUBSCRIBER_PREFIX), strict=False)
        return str(network)
    return str(address)


def _right_to_left(headers: Iterable[str]) -> list[str]:
    """The last MAX_HOPS entries of the header(s), nearest first, without splitting it all."""
    hops: list[str] = []
    for header in reversed(list(headers)):
        hops.extend(reversed(header.rsplit(",", MAX_HOPS)[-MAX_HOPS:]))
        if len(hops) >= MAX_HOPS:
            break
    return hops[:MAX_HOPS]


def client_address(
    peer: str | None, forwarded_for: Iterable[str], trusted: Sequence[IPNetwork]
) -> str:
    """The client's address as a throttle key (an IPv6 client's /64).

    X-Forwarded-For is read only when the TCP peer is a trusted proxy. Each proxy appends
    the address it received the connection from, so the list is walked from the right,
    past trusted proxies, to the first address no trusted proxy would be: everything to
    its left was written by the client and may be forged.
    """
    nearest = _parse(peer or "")
    if nearest is None:
        return UNKNOWN
    if not any(nearest in network for network in trusted):
        return _key(nearest)
    for hop in _right_to_left(forwarded_for):
        address = _parse(hop)
        if address is None:
            break  # a trusted proxy passed on garbage: the last good hop is all we know
        nearest = address
        if not any(address in network for network in trusted):
            break
    return _key(nearest)
