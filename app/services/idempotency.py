"""Idempotency-Key handling: a replayed POST returns the first response and creates nothing."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.errors import Unprocessable
from app.models.idempotency import IdempotencyRecord

MAX_KEY_LENGTH = 255


def fingerprint(method: str, path: str, payload: BaseModel | None) -> str:
    body = payload.model_dump(mode="json") if payload is not None else None
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotentRequest:
    """One POST's view of its Idempotency-Key (a no-op when the header is absent)."""

    def __init__(self, session: Session, owner_id: uuid.UUID, key: str | None, print_: str) -> None:
        if key is not None and not (0 < len(key) <= MAX_KEY_LENGTH and key.isprintable()):
            raise Unprocessable(
                f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters."
            )
        self._session = session
        self._owner_id = owner_id
        self._key = key
        self._fingerprint = print_

    def _stored(self) -> IdempotencyRecord | None:
        return self._session.exec(
            select(IdempotencyRecord).where(
                IdempotencyRecord.owner_id == self._owner_id, IdempotencyRecord.key == self._key
            )
        ).first()

    def _response_from(self, record: IdempotencyRecord) -> JSONResponse:
        if record.fingerprint != self._fingerprint:
            raise Unprocessable(
                "This Idempotency-Key was already used with a different request; "
                "use a new key for a new request."
            )
        headers = {**record.response_headers, "Idempotent-Replayed": "true"}
        return JSONResponse(record.response_body, status_code=record.status_code, headers=headers)

    def replay(self) -> JSONResponse | None:
        """The stored response of an earlier request with this key, if any."""
        if self._key is None:
            return None
        record = self._stored()
        return self._response_from(record) if record is not None else None

    def commit(self, status_code: int, body: BaseModel, headers: dict[str, str]) -> JSONResponse:
        """Commit the work with its response; a concurrent twin's response wins a race."""
        content: Any = body.model_dump(mode="json")
        if self._key is not None:
            self._session.add(
                IdempotencyRecord(
                    owner_id=self._owner_id,
                    key=self._key,
                    fingerprint=self._fingerprint,
                    status_code=status_code,
                    response_body=content,
                    response_headers=headers,
                )
            )
        try:
            self._session.commit()
        except IntegrityError:
            self._session.rollback()
            record = self._stored() if self._key is not None else None
            if record is None:
                raise
            return self._response_from(record)
        return JSONResponse(content, status_code=status_code, headers=headers)
