"""Which IP addresses a request that a user controls may reach: public unicast ones only."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from app.contract import NON_PUBLIC_IPV4_RANGES

IPAddress = IPv4Address | IPv6Address

_NON_PUBLIC_V4 = tuple(IPv4Network(cidr) for cidr in NON_PUBLIC_IPV4_RANGES)
# Packets to these reach the IPv4 address in their last 32 bits (through a NAT64 gateway),
# so that address is the one to judge.
_NAT64 = IPv6Network("64:ff9b::/96")
# Python's tables (3.11 included) call these global, yet they tunnel to IPv4 addresses
# (IPv4-compatible, SIIT-translated) or are site-local by definition (local-use NAT64).
_REFUSED_V6 = (
    IPv6Network("::/96"),
    IPv6Network("::ffff:0:0:0/96"),
    IPv6Network("64:ff9b:1::/48"),
)


def is_public(address: IPAddress) -> bool:
    """True only for globally reachable unicast addresses, judging tunnelled IPv4 inside IPv6."""
    if isinstance(address, IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None:
            return is_public(inner)
        if any(address in network for network in _REFUSED_V6):
            return False
    elif any(address in network for network in _NON_PUBLIC_V4):
        return False
    return address.is_global and not address.is_multicast and not address.is_reserved


def _embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def parse_literal(host: str) -> IPAddress | None:
    """The address a host names literally (brackets and IPv6 zone ids allowed), else None."""
    try:
        return ip_address(host.removeprefix("[").removesuffix("]"))
    except ValueError:
        return None
