"""Resolution failures of any kind are refusals, never errors."""

from __future__ import annotations

import pytest

from app.services.webhook_targets import (
    TargetRefused,
    TargetRules,
    checked_addresses,
    system_resolver,
)


def test_a_host_name_the_resolver_cannot_even_encode_is_refused_as_unresolvable() -> None:
    # A label over 63 characters fails IDNA encoding before any query is sent.
    with pytest.raises(TargetRefused, match="does not resolve"):
        checked_addresses("x" * 70 + ".example.com", 443, TargetRules(True), system_resolver)


def test_a_numeric_host_in_a_legacy_notation_is_judged_by_the_address_it_means() -> None:
    # getaddrinfo reads 2130706433 as 127.0.0.1 without any query.
    with pytest.raises(TargetRefused, match="not public"):
        checked_addresses("2130706433", 443, TargetRules(True), system_resolver)
