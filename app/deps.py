"""Request dependencies: settings, the session, the caller, and owned resources."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.client_address import client_address
from app.errors import Unauthorized
from app.logs import set_user
from app.models.series import RecurringSeries
from app.models.task import Task
from app.models.user import User
from app.security import PasswordHashing, decode_access_token
from app.services import series as series_service
from app.services import tasks as task_service
from app.services.webhook_targets import Resolver
from app.settings import Settings
from app.throttle import AddressThrottle, LoginThrottle

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


# Requests that only read (issue 18: the API's round trips, README "Performance").
READ_METHODS = frozenset({"GET", "HEAD"})


def reading_engine(engine: Engine) -> Engine:
    """`engine` without transactions, for reads on PostgreSQL; `engine` itself elsewhere.

    At READ COMMITTED (PostgreSQL's default, which taskstream keeps) every statement takes
    its own snapshot inside a transaction too, so a read-only request sees exactly what it
    saw before; it just saves the BEGIN and ROLLBACK round trips psycopg would send around
    its SELECTs. SQLite keeps its BEGIN IMMEDIATE (app.db) and so its transaction.
    """
    if engine.dialect.name != "postgresql":
        return engine
    reader: Engine | None = engine.__dict__.get("_taskstream_reader")
    if reader is None:
        reader = engine.execution_options(isolation_level="AUTOCOMMIT")
        engine.__dict__["_taskstream_reader"] = reader
    return reader


async def get_session(
    request: Request, engine: Annotated[Engine, Depends(get_engine)]
) -> AsyncIterator[Session]:
    """One session, one connection and one transaction for the whole request (none for a
    read on PostgreSQL: reading_engine).

    The dependencies and the route share it across their worker-thread hops, which is safe
    because AdmissionMiddleware admits no more requests than the pool has connections.
    An async dependency closes it on the event loop: a sync one would need a free worker
    thread to end its transaction.
    """
    if request.method in READ_METHODS:
        engine = reading_engine(engine)
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()


def get_throttle(request: Request) -> LoginThrottle:
    throttle: LoginThrottle = request.app.state.login_throttle
    return throttle


def get_resolver(request: Request) -> Resolver:
    resolver: Resolver = request.app.state.resolver
    return resolver


def get_registration_throttle(request: Request) -> AddressThrottle:
    throttle: AddressThrottle = request.app.state.registration_throttle
    return throttle


def get_password_hashing(request: Request) -> PasswordHashing:
    hashing: PasswordHashing = request.app.state.password_hashing
    return hashing


SettingsDep = Annotated[Settings, Depends(get_settings)]
ResolverDep = Annotated[Resolver, Depends(get_resolver)]
SessionDep = Annotated[Session, Depends(get_session)]
ThrottleDep = Annotated[LoginThrottle, Depends(get_throttle)]
RegistrationThrottleDep = Annotated[AddressThrottle, Depends(get_registration_throttle)]
PasswordsDep = Annotated[PasswordHashing, Depends(get_password_hashing)]


def get_client_address(request: Request, settings: SettingsDep) -> str:
    """The caller's address, through the trusted proxies (app.client_address)."""
    peer = request.client.host if request.client else None
    forwarded = request.headers.getlist("x-forwarded-for")
    return client_address(peer, forwarded, settings.trusted_proxies)


ClientAddress = Annotated[str, Depends(get_client_address)]


def get_current_user(
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> User:
    if not token:
        raise Unauthorized("Send a bearer access token.", headers={"WWW-Authenticate": "Bearer"})
    user = session.get(User, decode_access_token(token, settings))
    if user is None:
        raise Unauthorized("This account no longer exists.", headers={"WWW-Authenticate": "Bearer"})
    set_user(user.id)
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def owned_task(task_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Task:
    """The caller's task; anyone else's is a 404. Not locked: mutating routes lock it."""
    return task_service.get_task(session, user.id, task_id)


def owned_series(series_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> RecurringSeries:
    return series_service.get_series(session, user.id, series_id)


OwnedTask = Annotated[Task, Depends(owned_task)]
OwnedSeries = Annotated[RecurringSeries, Depends(owned_series)]
