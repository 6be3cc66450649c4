"""Sealed secrets open only under their key and context, and reveal nothing stored."""

from __future__ import annotations

import pytest

from app.sealing import SealBroken, seal, sealed_length, unseal

KEY = "k" * 48
OWNER = b"owner-1"


def test_a_sealed_secret_opens_under_its_key_and_context_and_hides_its_text() -> None:
    sealed = seal(KEY, "hunter2-hunter2-hunter2", OWNER)
    assert "hunter2" not in sealed
    assert unseal(KEY, sealed, OWNER) == "hunter2-hunter2-hunter2"
    assert seal(KEY, "hunter2-hunter2-hunter2", OWNER) != sealed, "the nonce was reused"


@pytest.mark.parametrize("secret", ["", "s", "é" * 100, "x" * 255])
def test_every_length_round_trips_within_the_column(secret: str) -> None:
    sealed = seal(KEY, secret, OWNER)
    assert unseal(KEY, sealed, OWNER) == secret
    assert len(sealed) <= sealed_length(len(secret.encode())) <= 512


def test_another_key_another_owner_or_any_altered_byte_is_refused() -> None:
    sealed = seal(KEY, "a-webhook-secret", OWNER)
    with pytest.raises(SealBroken):
        unseal("o" * 48, sealed, OWNER)
    with pytest.raises(SealBroken):
        unseal(KEY, sealed, b"owner-2")
    flipped = sealed[:-5] + ("A" if sealed[-5] != "A" else "B") + sealed[-4:]
    with pytest.raises(SealBroken):
        unseal(KEY, flipped, OWNER)
    for junk in ("", "v1.", "v2." + sealed[3:], "v1.!!!!"):
        with pytest.raises(SealBroken):
            unseal(KEY, junk, OWNER)
