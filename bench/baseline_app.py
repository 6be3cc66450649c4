"""The baseline: a minimal FastAPI + SQLModel app with one table of the same shape.

It does what a task create/get does at its simplest (no auth, tags, events or outbox),
so taskstream's figures can be read as a ratio that survives machine noise. (No
`from __future__ import annotations` here: FastAPI must resolve the local alias `Db`.)
"""

import argparse
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated

import uvicorn
from fastapi import Depends, FastAPI, HTTPException
from sqlmodel import Field, Session, SQLModel, create_engine

from app.db import normalise_url
from app.limits import AdmissionMiddleware

POOL_SIZE = 20  # taskstream's default pool holds 10 + 10 overflow


class Item(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner_id: uuid.UUID = Field(index=True)
    title: str = Field(max_length=200)
    description: str = ""
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class ItemIn(SQLModel):
    title: str = Field(min_length=1, max_length=200)
    description: str = ""


def build(url: str) -> FastAPI:
    is_sqlite = url.startswith("sqlite")
    engine = create_engine(
        normalise_url(url),
        connect_args={"check_same_thread": False, "timeout": 30} if is_sqlite else {},
        pool_size=POOL_SIZE,
        max_overflow=0,
        hide_parameters=True,  # as taskstream's engines do
    )
    if is_sqlite:
        # WAL, as taskstream uses: readers then never hold up a writer.
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA journal_mode=WAL")
    SQLModel.metadata.create_all(engine)
    owner = uuid.uuid4()
    app = FastAPI()

    # Closed on the event loop, as in taskstream: a sync generator would need a free worker
    # thread to release SQLite's lock, and under load none may be free.
    async def session() -> AsyncIterator[Session]:
        s = Session(engine)
        try:
            yield s
        finally:
            s.close()

    Db = Annotated[Session, Depends(session)]  # noqa: N806  (a type alias)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/items", status_code=201)
    def create(data: ItemIn, s: Db) -> Item:
        item = Item(owner_id=owner, **data.model_dump())
        s.add(item)
        s.commit()
        s.refresh(item)
        return item

    @app.get("/items/{item_id}")
    def read(item_id: uuid.UUID, s: Db) -> Item:
        item = s.get(Item, item_id)
        if item is None or item.owner_id != owner:
            raise HTTPException(404)
        return item

    # The same admission bound as taskstream's (app.limits). Without it this textbook app
    # stalls at 100 clients: requests waiting for a worker thread to serialise their
    # response hold pooled connections that the threads running routes are waiting for.
    app.add_middleware(AdmissionMiddleware, limit=1 if is_sqlite else POOL_SIZE)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    args = parser.parse_args()
    uvicorn.run(build(args.url), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
