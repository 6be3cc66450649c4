"""The notification inbox."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from app.db import utcnow
from app.errors import NotFound, invalid_field
from app.models.notification import Notification
from app.models.user import User
from app.sealing import seal
from app.services.webhook_targets import (
    Resolver,
    TargetRefused,
    TargetRules,
    checked_addresses,
    parse_target,
)


def list_notifications(
    session: Session, owner_id: uuid.UUID, *, unread_only: bool, page: int, page_size: int
) -> tuple[list[Notification], int]:
    conditions = [col(Notification.owner_id) == owner_id]
    if unread_only:
        conditions.append(col(Notification.read_at).is_(None))
    total = session.exec(select(func.count()).select_from(Notification).where(*conditions)).one()
    rows = session.exec(
        select(Notification)
        .where(*conditions)
        .order_by(col(Notification.created_at).desc(), col(Notification.id).desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    return list(rows), total


def unread_count(session: Session, owner_id: uuid.UUID) -> int:
    return session.exec(
        select(func.count())
        .select_from(Notification)
        .where(Notification.owner_id == owner_id, col(Notification.read_at).is_(None))
    ).one()


def mark_read(session: Session, owner_id: uuid.UUID, notification_id: uuid.UUID) -> Notification:
    notification = session.exec(
        select(Notification).where(
            Notification.id == notification_id, Notification.owner_id == owner_id
        )
    ).first()
    if notification is None:
        raise NotFound(f"No notification {notification_id}.")
    if notification.read_at is None:
        notification.read_at = utcnow()
        session.add(notification)
    return notification


def mark_all_read(session: Session, owner_id: uuid.UUID) -> int:
    result = session.execute(
        sa.update(Notification)
        .where(col(Notification.owner_id) == owner_id, col(Notification.read_at).is_(None))
        .values(read_at=utcnow())
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def set_webhook(
    session: Session,
    user: User,
    url: str,
    secret: str,
    *,
    rules: TargetRules,
    resolver: Resolver,
    sealing_key: str,
) -> User:
    """Point the user's reminders at url, once it passes the rules (and its host resolves
    to permitted addresses only); the notifier checks again on every send."""
    try:
        target = parse_target(url, rules)
        checked_addresses(target.host, target.port, rules, resolver)
    except TargetRefused as refused:
        raise invalid_field("url", f"This webhook URL is refused: {refused}.") from refused
    user.webhook_url = url
    user.webhook_secret_sealed = seal(sealing_key, secret, user.id.bytes)
    session.add(user)
    return user


def clear_webhook(session: Session, user: User) -> User:
    user.webhook_url = None
    user.webhook_secret_sealed = None
    session.add(user)
    return user
