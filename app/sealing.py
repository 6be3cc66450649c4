"""Short secrets sealed at rest under a key from settings (encrypt-then-MAC on HMAC-SHA256).

The standard library has no AES, so the cipher is HMAC-SHA256 in counter mode over a
random 16-byte nonce, authenticated by a second HMAC-SHA256 over the version, a context
(the owner's id, so a sealed value cannot be moved to another row), nonce and ciphertext;
the two keys are derived from the settings key with distinct labels.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

VERSION = b"v1"
_NONCE, _TAG, _BLOCK = 16, 32, 32


class SealBroken(Exception):
    """A sealed value was altered, moved to another context, or sealed under another key."""


def _subkey(key: str, label: bytes) -> bytes:
    return hmac.new(key.encode(), b"taskstream sealing " + label, hashlib.sha256).digest()


def _keystream(key: str, nonce: bytes, length: int) -> bytes:
    encrypt = _subkey(key, b"encrypt")
    blocks = (length + _BLOCK - 1) // _BLOCK
    stream = b"".join(
        hmac.new(encrypt, nonce + i.to_bytes(4, "big"), hashlib.sha256).digest()
        for i in range(blocks)
    )
    return stream[:length]


def _tag(key: str, context: bytes, nonce: bytes, ciphertext: bytes) -> bytes:
    framed = VERSION + len(context).to_bytes(4, "big") + context + nonce + ciphertext
    return hmac.new(_subkey(key, b"authenticate"), framed, hashlib.sha256).digest()


def seal(key: str, plaintext: str, context: bytes) -> str:
    data = plaintext.encode()
    nonce = secrets.token_bytes(_NONCE)
    ciphertext = bytes(a ^ b for a, b in zip(data, _keystream(key, nonce, len(data)), strict=True))
    sealed = nonce + ciphertext + _tag(key, context, nonce, ciphertext)
    return VERSION.decode() + "." + base64.urlsafe_b64encode(sealed).decode()


def unseal(key: str, sealed: str, context: bytes) -> str:
    version, _, encoded = sealed.partition(".")
    try:
        raw = base64.urlsafe_b64decode(encoded.encode())
    except ValueError as exc:
        raise SealBroken("not a sealed value") from exc
    if version.encode() != VERSION or len(raw) < _NONCE + _TAG:
        raise SealBroken("not a sealed value")
    nonce, ciphertext, tag = raw[:_NONCE], raw[_NONCE:-_TAG], raw[-_TAG:]
    if not hmac.compare_digest(tag, _tag(key, context, nonce, ciphertext)):
        raise SealBroken("the sealed value does not verify under this key and context")
    stream = _keystream(key, nonce, len(ciphertext))
    return bytes(a ^ b for a, b in zip(ciphertext, stream, strict=True)).decode()


def sealed_length(plaintext_bytes: int) -> int:
    """Characters a sealed value of that many plaintext bytes takes."""
    return len(VERSION) + 1 + 4 * ((_NONCE + plaintext_bytes + _TAG + 2) // 3)
