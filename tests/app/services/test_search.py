"""Counting matches: exact up to a limit, a lower bound past it."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.models.enums import TaskStatus
from app.services import search
from app.services.search import TaskQuery, count_up_to, list_tasks
from tests.support.factories import make_task, make_user


@pytest.fixture
def owner_with_seven(engine: Engine) -> uuid.UUID:
    owner = make_user(engine)
    for i in range(7):
        make_task(engine, owner, f"invoice {i}")
    make_task(engine, make_user(engine), "invoice of someone else")
    return owner


@pytest.mark.parametrize(("limit", "expected"), [(10, (7, True)), (7, (7, True)), (5, (5, False))])
def test_matches_are_counted_exactly_up_to_the_limit(
    engine: Engine, owner_with_seven: uuid.UUID, limit: int, expected: tuple[int, bool]
) -> None:
    with Session(engine) as session:
        conditions = search._filters(session, owner_with_seven, TaskQuery(q="invoice"))
        assert count_up_to(session, conditions, limit) == expected


def test_a_listing_past_the_limit_says_its_total_is_a_lower_bound(
    engine: Engine, owner_with_seven: uuid.UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "TOTAL_COUNT_LIMIT", 3)
    with Session(engine) as session:
        listing = list_tasks(
            session,
            owner_with_seven,
            TaskQuery(status=[TaskStatus.todo], page_size=5),
            cursor_key=b"k" * 32,
        )
    assert (listing.total, listing.total_exact) == (3, False)
    assert len(listing.items) == 5, "the page itself is not limited by the count"
    assert listing.next_cursor is not None
