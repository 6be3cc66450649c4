"""Registration, login and the caller's account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, status
from fastapi.security import OAuth2PasswordRequestForm

from app.deps import (
    ClientAddress,
    CurrentUser,
    PasswordsDep,
    RegistrationThrottleDep,
    SessionDep,
    SettingsDep,
    ThrottleDep,
)
from app.errors import problem_responses
from app.models.user import MAX_EMAIL_LENGTH, MAX_PASSWORD_LENGTH, Token, UserCreate, UserPublic
from app.security import create_access_token
from app.services import users

router = APIRouter(prefix="/auth", tags=["auth"])


class LoginForm(OAuth2PasswordRequestForm):
    """The OAuth2 password form, refusing a username longer than an email can be (422)."""

    def __init__(
        self,
        username: Annotated[str, Form(max_length=MAX_EMAIL_LENGTH)],
        password: Annotated[
            str, Form(max_length=MAX_PASSWORD_LENGTH, json_schema_extra={"format": "password"})
        ],
        grant_type: Annotated[str | None, Form(pattern="^password$")] = None,
        scope: Annotated[str, Form()] = "",
        client_id: Annotated[str | None, Form()] = None,
        client_secret: Annotated[str | None, Form(json_schema_extra={"format": "password"})] = None,
    ) -> None:
        super().__init__(
            grant_type=grant_type,
            username=username,
            password=password,
            scope=scope,
            client_id=client_id,
            client_secret=client_secret,
        )


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(409, 413, 422, 429, 503),
)
def register(
    data: UserCreate,
    session: SessionDep,
    address: ClientAddress,
    throttle: RegistrationThrottleDep,
    passwords: PasswordsDep,
) -> UserPublic:
    """Create an account."""
    throttle.hit(address, "Too many registrations from this address; wait and retry.")
    user = users.register(session, data, passwords=passwords)
    session.commit()
    return UserPublic.model_validate(user, from_attributes=True)


@router.post("/token", responses=problem_responses(401, 422, 429, 503))
def token(
    form: Annotated[LoginForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
    address: ClientAddress,
    throttle: ThrottleDep,
    passwords: PasswordsDep,
) -> Token:
    """Exchange email and password for a bearer access token."""
    user = users.authenticate(
        session,
        email=form.username,
        password=form.password,
        address=address,
        throttle=throttle,
        passwords=passwords,
    )
    access_token, expires_in = create_access_token(user.id, settings)
    return Token(access_token=access_token, expires_in=expires_in)


@router.get("/me", responses=problem_responses(401))
def me(user: CurrentUser) -> UserPublic:
    """The account the token belongs to."""
    return UserPublic.model_validate(user, from_attributes=True)
