"""The caller's notification inbox and webhook."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.deps import CurrentUser, ResolverDep, SessionDep, SettingsDep
from app.errors import problem_responses
from app.models.notification import (
    MarkedRead,
    NotificationPage,
    NotificationPublic,
    UnreadCount,
    WebhookConfig,
    WebhookPublic,
)
from app.services import notifications as service
from app.services.webhook_targets import TargetRules

router = APIRouter(prefix="/notifications", tags=["notifications"])


@router.get("", responses=problem_responses(401, 422))
def list_(
    session: SessionDep,
    user: CurrentUser,
    unread: bool = False,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> NotificationPage:
    """Notifications, newest first; `unread=true` keeps only unread ones."""
    rows, total = service.list_notifications(
        session, user.id, unread_only=unread, page=page, page_size=page_size
    )
    return NotificationPage(
        items=[NotificationPublic.model_validate(n, from_attributes=True) for n in rows],
        total=total,
        page=page,
        page_size=page_size,
    )


@router.get("/unread-count", responses=problem_responses(401))
def unread_count(session: SessionDep, user: CurrentUser) -> UnreadCount:
    """How many notifications are unread."""
    return UnreadCount(unread=service.unread_count(session, user.id))


@router.post("/{notification_id}/read", responses=problem_responses(401, 404, 422))
def mark_read(
    notification_id: uuid.UUID, session: SessionDep, user: CurrentUser
) -> NotificationPublic:
    """Mark one notification read."""
    notification = service.mark_read(session, user.id, notification_id)
    session.commit()
    return NotificationPublic.model_validate(notification, from_attributes=True)


@router.post("/read-all", responses=problem_responses(401))
def mark_all_read(session: SessionDep, user: CurrentUser) -> MarkedRead:
    """Mark every notification read."""
    marked = service.mark_all_read(session, user.id)
    session.commit()
    return MarkedRead(marked=marked)


@router.get("/webhook", responses=problem_responses(401))
def get_webhook(user: CurrentUser) -> WebhookPublic:
    """Where reminders are also delivered, if anywhere."""
    return WebhookPublic(url=user.webhook_url, configured=user.webhook_url is not None)


WEBHOOK_RULES = """
Reminders are POSTed to the URL as JSON, signed in `X-Taskstream-Signature:
t=<unix>,v1=<hex of HMAC-SHA256(secret, "<t>.<body>")>`.

The URL must use `https` on port 443 (plain `http` is accepted only in dev), carry no
`user:password@`, and name a public address: literal IPs in any notation and host names
that resolve to loopback, private, link-local, shared, reserved or multicast addresses
are refused with a 422 naming `url`. The notifier checks again at every delivery and
connects only to the addresses it checked; it follows no redirects (a 3xx is a failed
delivery), stops each call at a total deadline and reads the answer only up to a size cap.

The secret is stored encrypted under a server key (`TASKSTREAM_WEBHOOK_SECRET_KEY`), so a
copy of the database alone cannot sign requests; it is never shown again.
"""


@router.put("/webhook", responses=problem_responses(401, 422), description=WEBHOOK_RULES)
def put_webhook(
    data: WebhookConfig,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    resolver: ResolverDep,
) -> WebhookPublic:
    """Deliver reminders to this URL too, signed with HMAC-SHA256 of the body using the secret."""
    service.set_webhook(
        session,
        user,
        str(data.url),
        data.secret,
        rules=TargetRules.from_settings(settings),
        resolver=resolver,
        sealing_key=settings.webhook_secret_key.get_secret_value(),
    )
    session.commit()
    return WebhookPublic(url=user.webhook_url, configured=True)


@router.delete("/webhook", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(401))
def delete_webhook(session: SessionDep, user: CurrentUser) -> Response:
    """Stop webhook delivery."""
    service.clear_webhook(session, user)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
