"""The fair peer: the FastAPI + SQLModel task API most users start from, the textbook way.

What a user would otherwise write (FastAPI's "SQL databases" and "OAuth2 with JWT"
tutorials): a users table and a tasks table with an owner column, a bearer JWT (PyJWT,
HS256, as taskstream) decoded on every request by a dependency that loads the user from
the database, and every task query scoped to that user. No tags, quotas, idempotency,
ETags, events or outbox: those are what taskstream adds, and the benchmark asks whether
they cost it the lead.

Given what taskstream is given (issue 18: "the same database settings, pool and server"):
the engine from app.db.make_engine (pool 10 + 10 overflow, pre-ping, hidden parameters),
the same admission bound in front (without it a textbook app stalls at 100 clients, see
bench/baseline_app.py), and uvicorn started with the same arguments as `taskstream api`
(uvloop and httptools picked by uvicorn's "auto", access log off). (No
`from __future__ import annotations`: FastAPI must resolve the local aliases.)

Tokens: POST /users makes a user and answers its id and a token signed with --secret;
logging in (password hashing) is not what the benchmark measures.
"""

import argparse
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated

import jwt
import uvicorn
from fastapi import Depends, FastAPI, HTTPException, status
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Field, Session, SQLModel

from app.db import make_engine
from app.limits import AdmissionMiddleware

POOL_SIZE = 10  # taskstream's default TASKSTREAM_DATABASE_POOL_SIZE
ALGORITHM = "HS256"


class PeerUser(SQLModel, table=True):
    __tablename__ = "peer_user"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    email: str = Field(unique=True, max_length=320)
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class TaskBase(SQLModel):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)
    status: str = Field(default="todo", max_length=20)
    priority: str = Field(default="medium", max_length=20)
    due_at: datetime | None = None


class PeerTask(TaskBase, table=True):
    __tablename__ = "peer_task"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner_id: uuid.UUID = Field(foreign_key="peer_user.id", index=True)
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class TaskCreate(TaskBase):
    pass


class TaskPublic(TaskBase):
    id: uuid.UUID
    owner_id: uuid.UUID
    created_at: datetime
    updated_at: datetime


class UserIn(SQLModel):
    email: str = Field(max_length=320)


class UserOut(SQLModel):
    id: uuid.UUID
    access_token: str


def build(url: str, secret: str) -> FastAPI:
    engine = make_engine(url, pool_size=POOL_SIZE)
    SQLModel.metadata.create_all(engine, tables=[PeerUser.__table__, PeerTask.__table__])  # type: ignore[attr-defined]
    oauth2_scheme = OAuth2PasswordBearer(tokenUrl="token")
    app = FastAPI()

    # The session closes on the event loop, as taskstream's does (app.deps.get_session).
    async def get_session() -> AsyncIterator[Session]:
        session = Session(engine)
        try:
            yield session
        finally:
            session.close()

    SessionDep = Annotated[Session, Depends(get_session)]  # noqa: N806  (a type alias)

    def get_current_user(
        session: SessionDep, token: Annotated[str, Depends(oauth2_scheme)]
    ) -> PeerUser:
        unauthorized = HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="Could not validate credentials",
            headers={"WWW-Authenticate": "Bearer"},
        )
        try:
            payload = jwt.decode(token, secret, algorithms=[ALGORITHM])
            user_id = uuid.UUID(payload["sub"])
        except (jwt.PyJWTError, KeyError, ValueError) as exc:
            raise unauthorized from exc
        user = session.get(PeerUser, user_id)
        if user is None:
            raise unauthorized
        return user

    CurrentUser = Annotated[PeerUser, Depends(get_current_user)]  # noqa: N806

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/users", status_code=201)
    def create_user(data: UserIn, session: SessionDep) -> UserOut:
        user = PeerUser(email=data.email)
        session.add(user)
        session.commit()
        session.refresh(user)
        claims = {"sub": str(user.id), "exp": datetime.now(UTC) + timedelta(hours=2)}
        return UserOut(id=user.id, access_token=jwt.encode(claims, secret, ALGORITHM))

    @app.post("/tasks", status_code=201, response_model=TaskPublic)
    def create_task(data: TaskCreate, session: SessionDep, user: CurrentUser) -> PeerTask:
        task = PeerTask.model_validate(data, update={"owner_id": user.id})
        session.add(task)
        session.commit()
        session.refresh(task)
        return task

    @app.get("/tasks/{task_id}", response_model=TaskPublic)
    def read_task(task_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> PeerTask:
        task = session.get(PeerTask, task_id)
        if task is None or task.owner_id != user.id:
            raise HTTPException(status_code=404, detail="Task not found")
        return task

    app.add_middleware(AdmissionMiddleware, limit=2 * POOL_SIZE)  # as app.main.create_app
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8200)
    args = parser.parse_args()
    # The same arguments as `taskstream api` (taskstream.cli._serve).
    uvicorn.run(
        build(args.url, args.secret),
        host=args.host,
        port=args.port,
        log_level="warning",
        log_config=None,
        access_log=False,
        proxy_headers=True,
    )


if __name__ == "__main__":
    main()
