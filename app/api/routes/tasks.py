"""Tasks: CRUD, completion, listing with search, filters, sorting and pagination."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.responses import JSONResponse

from app.deps import CurrentUser, OwnedTask, SessionDep, SettingsDep
from app.errors import problem_responses
from app.events.history import TaskHistory, task_history
from app.models.enums import Priority, TaskStatus
from app.models.instants import UtcInstant
from app.models.task import TagName, TaskCreate, TaskPage, TaskPublic, TaskUpdate
from app.services import tasks as service
from app.services.cursors import MAX_CURSOR_LENGTH, cursor_key
from app.services.idempotency import IdempotentRequest, fingerprint
from app.services.search import SortField, SortOrder, TaskQuery, list_tasks

router = APIRouter(prefix="/tasks", tags=["tasks"])

IfMatch = Annotated[str | None, Header(description="The task's ETag; a stale one answers 412.")]
IdempotencyKey = Annotated[
    str | None,
    Header(description="Retries with the same key return the first response.", max_length=255),
]
MAX_PAGE_SIZE = 100


def _with_etag(task_body: TaskPublic, *, location: bool) -> dict[str, str]:
    headers = {"ETag": f'"{task_body.id.hex}.{task_body.version}"'}
    if location:
        headers["Location"] = f"/api/v1/tasks/{task_body.id}"
    return headers


@router.get("", responses=problem_responses(401, 422))
def list_(
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    q: Annotated[str | None, Query(max_length=200, description="Full-text search")] = None,
    status_: Annotated[list[TaskStatus], Query(alias="status")] = [],  # noqa: B006
    priority: Annotated[list[Priority], Query()] = [],  # noqa: B006
    tags: Annotated[list[TagName], Query(max_length=20)] = [],  # noqa: B006
    tags_mode: Literal["any", "all"] = "any",
    due_before: UtcInstant | None = None,
    due_after: UtcInstant | None = None,
    overdue: bool | None = None,
    series_id: uuid.UUID | None = None,
    sort: SortField = "created_at",
    order: SortOrder = "desc",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH)] = None,
) -> TaskPage:
    """List, search, filter and sort the caller's tasks."""
    query = TaskQuery(
        q=q,
        status=status_,
        priority=priority,
        tags=tags,
        tags_mode=tags_mode,
        due_before=due_before,
        due_after=due_after,
        overdue=overdue,
        series_id=series_id,
        sort=sort,
        order=order,
        page=page,
        page_size=page_size,
        cursor=cursor,
    )
    listing = list_tasks(session, user.id, query, cursor_key=cursor_key(settings))
    return TaskPage(
        items=service.list_public(session, listing.items),
        total=listing.total,
        total_exact=listing.total_exact,
        page=page,
        page_size=page_size,
        next_cursor=listing.next_cursor,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TaskPublic,
    responses=problem_responses(401, 413, 422),
)
def create(
    data: TaskCreate,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Create a task."""
    idem = IdempotentRequest(
        session, user.id, idempotency_key, fingerprint("POST", request.url.path, data)
    )
    if (replayed := idem.replay()) is not None:
        return replayed
    task = service.create_task(session, owner_id=user.id, data=data, quotas=settings.quotas)
    # The tags are those just written (create_task's event says the same): no query back.
    body = service.to_public(task, sorted(data.tags))
    return idem.commit(201, body, _with_etag(body, location=True))


@router.get("/{task_id}", responses=problem_responses(401, 404, 422))
def read(task: OwnedTask, session: SessionDep, response: Response) -> TaskPublic:
    """Fetch one task; its ETag is the version to send back in If-Match."""
    response.headers["ETag"] = service.etag(task)
    return service.public_task(session, task)


@router.patch("/{task_id}", responses=problem_responses(401, 404, 412, 413, 422))
def update(
    data: TaskUpdate,
    task: OwnedTask,
    session: SessionDep,
    response: Response,
    settings: SettingsDep,
    if_match: IfMatch = None,
) -> TaskPublic:
    """Change some fields of a task."""
    service.check_if_match(service.lock(session, task), if_match)
    service.update_task(session, task=task, data=data, quotas=settings.quotas)
    # Read back inside the transaction: after the commit it would take another three
    # round trips (BEGIN, SELECT, ROLLBACK) for the same rows.
    body = service.public_task(session, task)
    session.commit()
    response.headers["ETag"] = service.etag(task)
    return body


def _transition(
    done: bool,
    task: OwnedTask,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    if_match: str | None,
    idempotency_key: str | None,
) -> JSONResponse:
    idem = IdempotentRequest(
        session, user.id, idempotency_key, fingerprint("POST", request.url.path, None)
    )
    if (replayed := idem.replay()) is not None:
        return replayed
    service.check_if_match(service.lock(session, task), if_match)
    service.set_done(session, task=task, done=done)
    body = service.public_task(session, task)
    return idem.commit(200, body, _with_etag(body, location=False))


@router.post(
    "/{task_id}/complete",
    response_model=TaskPublic,
    responses=problem_responses(401, 404, 412, 422),
)
def complete(
    task: OwnedTask,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Mark a task done."""
    return _transition(True, task, request, session, user, if_match, idempotency_key)


@router.post(
    "/{task_id}/reopen", response_model=TaskPublic, responses=problem_responses(401, 404, 412, 422)
)
def reopen(
    task: OwnedTask,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Mark a done task as to do again."""
    return _transition(False, task, request, session, user, if_match, idempotency_key)


@router.delete(
    "/{task_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 404, 412, 422),
)
def delete(task: OwnedTask, session: SessionDep, if_match: IfMatch = None) -> Response:
    """Delete a task."""
    service.check_if_match(service.lock(session, task), if_match)
    service.delete_task(session, task=task)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{task_id}/history", responses=problem_responses(401, 404, 422))
def history(task_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> TaskHistory:
    """Every change of the task, oldest first, from the event log (deleted tasks included)."""
    return task_history(session, user.id, task_id)
