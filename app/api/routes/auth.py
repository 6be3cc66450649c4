"""Registration, login and the caller's account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from app.deps import CurrentUser, SessionDep, SettingsDep, ThrottleDep
from app.errors import problem_responses
from app.models.user import Token, UserCreate, UserPublic
from app.security import create_access_token
from app.services import users

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(409, 413, 422),
)
def register(data: UserCreate, session: SessionDep) -> UserPublic:
    """Create an account."""
    user = users.register(session, data)
    session.commit()
    return UserPublic.model_validate(user, from_attributes=True)


@router.post("/token", responses=problem_responses(401, 422, 429))
def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    throttle: ThrottleDep,
) -> Token:
    """Exchange email and password for a bearer access token."""
    client = request.client.host if request.client else "unknown"
    user = users.authenticate(
        session, email=form.username, password=form.password, client=client, throttle=throttle
    )
    access_token, expires_in = create_access_token(user.id, settings)
    return Token(access_token=access_token, expires_in=expires_in)


@router.get("/me", responses=problem_responses(401))
def me(user: CurrentUser) -> UserPublic:
    """The account the token belongs to."""
    return UserPublic.model_validate(user, from_attributes=True)
