"""The client address: X-Forwarded-For only through trusted proxies, right-most untrusted hop."""

from __future__ import annotations

import ipaddress

from app.client_address import UNKNOWN, client_address

EDGE = [ipaddress.ip_network("10.244.0.0/16")]


def test_an_untrusted_peer_is_the_client_whatever_it_forwards() -> None:
    assert client_address("203.0.113.9", ["198.51.100.1"], EDGE) == "203.0.113.9"


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert client_address("10.244.1.5", ["198.51.100.1"], []) == "10.244.1.5"


def test_a_trusted_peer_passes_on_the_address_it_received_from() -> None:
    assert client_address("10.244.1.5", ["198.51.100.1"], EDGE) == "198.51.100.1"


def test_addresses_a_client_forged_left_of_the_edge_are_not_believed() -> None:
    forged = ["192.0.2.66, 192.0.2.77", "198.51.100.1"]
    assert client_address("10.244.1.5", forged, EDGE) == "198.51.100.1"
    assert client_address("10.244.1.5", ["192.0.2.66, 198.51.100.1"], EDGE) == "198.51.100.1"


def test_a_chain_of_trusted_proxies_is_walked_to_the_first_untrusted_hop() -> None:
    chain = ["192.0.2.66, 198.51.100.1, 10.244.7.7"]
    assert client_address("10.244.1.5", chain, EDGE) == "198.51.100.1"


def test_garbage_from_a_trusted_proxy_falls_back_to_the_last_good_hop() -> None:
    assert client_address("10.244.1.5", ["not-an-address"], EDGE) == "10.244.1.5"
    assert client_address(None, [], EDGE) == UNKNOWN


def test_an_ipv6_client_is_keyed_by_its_slash_64() -> None:
    one = client_address("2001:db8:1:2::1", [], [])
    other = client_address("2001:db8:1:2:ffff::9", [], [])
    assert one == other == "2001:db8:1:2::/64", f"{one} and {other} differ"


def test_a_huge_header_is_read_only_from_its_right_end() -> None:
    header = ", ".join(["192.0.2.1"] * 100_000 + ["198.51.100.1"])
    assert client_address("10.244.1.5", [header], EDGE) == "198.51.100.1"
