"""Registration and login."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.errors import Conflict, Unauthorized, invalid_field
from app.models.text import storable
from app.models.user import User, UserCreate
from app.security import LoginThrottle, hash_password, verify_password


def register(session: Session, data: UserCreate) -> User:
    email = data.email.lower()
    if session.exec(select(User).where(User.email == email)).first() is not None:
        raise Conflict("An account with this email already exists.")
    user = User(email=email, password_hash=hash_password(data.password))
    try:
        with session.begin_nested():
            session.add(user)
    except IntegrityError as exc:
        raise Conflict("An account with this email already exists.") from exc
    return user


def authenticate(
    session: Session, *, email: str, password: str, client: str, throttle: LoginThrottle
) -> User:
    try:
        storable(email)  # the login form is not a pydantic model, so check it here
    except ValueError as exc:
        raise invalid_field("username", f"The username {exc}.") from None
    email = email.strip().lower()
    keys = (f"account:{email}", f"client:{client}")
    throttle.check(*keys)
    user = session.exec(select(User).where(User.email == email)).first()
    if not verify_password(password, user.password_hash if user else None) or user is None:
        throttle.record_failure(*keys)
        raise Unauthorized("Wrong email or password.", headers={"WWW-Authenticate": "Bearer"})
    throttle.reset(keys[0])
    return user
