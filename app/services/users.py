"""Registration and login."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.errors import Conflict, Unauthorized, invalid_field
from app.models.text import storable
from app.models.user import User, UserCreate
from app.security import PasswordHashing
from app.throttle import LoginThrottle


def register(session: Session, data: UserCreate, *, passwords: PasswordHashing) -> User:
    email = data.email.lower()
    # Hashed before the first query, so waiting for a hashing slot holds no connection.
    password_hash = passwords.hash(data.password)
    if session.exec(select(User).where(User.email == email)).first() is not None:
        raise Conflict("An account with this email already exists.")
    user = User(email=email, password_hash=password_hash)
    try:
        with session.begin_nested():
            session.add(user)
    except IntegrityError as exc:
        raise Conflict("An account with this email already exists.") from exc
    return user


def authenticate(
    session: Session,
    *,
    email: str,
    password: str,
    address: str,
    throttle: LoginThrottle,
    passwords: PasswordHashing,
) -> User:
    try:
        storable(email)  # the login form is not a pydantic model, so check it here
    except ValueError as exc:
        raise invalid_field("username", f"The username {exc}.") from None
    email = email.strip().lower()
    throttle.check(email, address)
    user = session.exec(select(User).where(User.email == email)).first()
    if not passwords.verify(password, user.password_hash if user else None) or user is None:
        throttle.record_failure(email, address)
        raise Unauthorized("Wrong email or password.", headers={"WWW-Authenticate": "Bearer"})
    throttle.succeeded(email, address)
    return user
