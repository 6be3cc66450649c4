"""Dapr's app API token: with it configured, only the sidecar reaches a worker's Dapr routes."""

from __future__ import annotations

import hmac
from collections.abc import Callable

from fastapi import Request
from pydantic import SecretStr

from app.contract import DAPR_API_TOKEN_HEADER
from app.errors import Unauthorized


def require_app_token(expected: SecretStr | None) -> Callable[[Request], None]:
    """A route dependency refusing requests whose dapr-api-token header is not ``expected``.

    daprd sends the token on every call to the app (deliveries and /dapr/subscribe alike);
    without one configured (embedded mode, tests) the routes stay open, as before.
    """
    token = expected.get_secret_value().encode() if expected is not None else None

    def check(request: Request) -> None:
        if token is None:
            return
        sent = request.headers.get(DAPR_API_TOKEN_HEADER, "").encode()
        # Constant time, so the comparison does not reveal how much of a guess was right.
        if not hmac.compare_digest(sent, token):
            raise Unauthorized("only the Dapr sidecar, with the app's token, may call this route")

    return check
