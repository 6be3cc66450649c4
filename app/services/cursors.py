"""Page cursors, signed so that a client can only hand back one the server issued."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from app.settings import Settings

# Room for the longest sort key (a 200-character title of 4-byte characters) and more.
MAX_CURSOR_LENGTH = 2048
_TAG_BYTES = 16
_PURPOSE = b"taskstream page cursor v1"


class CursorError(ValueError):
    """A cursor the server did not issue for this scope, or one that was altered."""


def cursor_key(settings: Settings) -> bytes:
    """A key for cursors alone, derived from the JWT secret so there is no second secret."""
    secret = settings.jwt_secret.get_secret_value().encode()
    return hmac.new(secret, _PURPOSE, hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _tag(key: bytes, scope: str, body: bytes) -> bytes:
    return hmac.new(key, scope.encode() + b"\n" + body, hashlib.sha256).digest()[:_TAG_BYTES]


def seal(payload: dict[str, Any], *, key: bytes, scope: str) -> str:
    """The payload as an opaque cursor, valid only for `scope` (owner and query)."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return f"{_b64(body)}.{_b64(_tag(key, scope, body))}"


def unseal(cursor: str, *, key: bytes, scope: str) -> dict[str, Any]:
    """The payload of a cursor `seal` issued for this scope; CursorError for anything else."""
    if len(cursor) > MAX_CURSOR_LENGTH or cursor.count(".") != 1:
        raise CursorError("not a cursor")
    encoded_body, encoded_tag = cursor.split(".")
    try:
        body, tag = _unb64(encoded_body), _unb64(encoded_tag)
    except (binascii.Error, ValueError) as exc:
        raise CursorError("not a cursor") from exc
    if not hmac.compare_digest(tag, _tag(key, scope, body)):
        raise CursorError("not issued for this query")
    payload = json.loads(body)
    if not isinstance(payload, dict):
        raise CursorError("not a cursor")
    return payload
