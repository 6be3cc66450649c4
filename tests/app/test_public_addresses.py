"""Address classification: only public unicast, with IPv4 judged inside IPv6 wrappers."""

from __future__ import annotations

import random
from ipaddress import IPv4Address, IPv4Network, ip_address

import pytest

from app.contract import NON_PUBLIC_IPV4_RANGES
from app.public_addresses import is_public

NOT_PUBLIC = [
    "127.0.0.1", "0.0.0.0", "10.1.2.3", "100.64.0.1", "169.254.169.254", "172.31.255.255",  # noqa: S104
    "192.168.0.1", "192.0.2.7", "198.18.0.1", "224.0.0.251", "239.255.255.250",
    "255.255.255.255", "::", "::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::7f00:1",
    "::ffff:0:7f00:1", "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::808:808",
    "2002:7f00:1::", "2002:a00:1::", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "fe80::1",
    "fc00::1", "fd12:3456::1", "ff02::1", "ff0e::1", "2001:db8::1",
]  # fmt: skip
PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.215.14", "::ffff:8.8.8.8", "64:ff9b::808:808",
          "2002:808:808::1", "2606:4700:4700::1111"]  # fmt: skip


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_a_non_public_address_is_not_public(address: str) -> None:
    assert not is_public(ip_address(address)), f"{address} counted as public"


@pytest.mark.parametrize("address", PUBLIC)
def test_a_public_unicast_address_is_public(address: str) -> None:
    assert is_public(ip_address(address)), f"{address} counted as not public"


def test_every_ipv4_address_python_calls_non_global_lies_in_a_declared_range() -> None:
    """The declared ranges (the egress policy's exceptions) cover what the stdlib refuses."""
    ranges = [IPv4Network(cidr) for cidr in NON_PUBLIC_IPV4_RANGES]
    picker = random.Random(13)
    missed = []
    for _ in range(50_000):
        address = IPv4Address(picker.getrandbits(32))
        stdlib_refuses = not address.is_global or address.is_multicast or address.is_reserved
        if stdlib_refuses and not any(address in network for network in ranges):
            missed.append(str(address))
    for network in (IPv4Network(n) for n in ("127.0.0.0/8", "169.254.0.0/16", "10.0.0.0/8")):
        assert any(network.subnet_of(r) for r in ranges), f"{network} is not declared"
    assert not missed, f"non-global addresses outside every declared range: {missed[:10]}"
