"""Recurring series and the preview of their next occurrences."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.responses import JSONResponse

from app.deps import CurrentUser, OwnedSeries, SessionDep, SettingsDep
from app.errors import problem_responses
from app.models.series import (
    OccurrencePreview,
    SeriesCreate,
    SeriesPage,
    SeriesPublic,
    SeriesUpdate,
)
from app.services import series as service
from app.services.idempotency import IdempotentRequest, fingerprint

router = APIRouter(prefix="/recurring-tasks", tags=["recurring tasks"])


@router.get("", responses=problem_responses(401, 422))
def list_(
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> SeriesPage:
    """The caller's recurring series, newest first."""
    rows, total = service.list_series(session, user.id, page, page_size)
    return SeriesPage(
        items=[service.to_public(session, s, settings.recurrence_bounds) for s in rows],
        total=total,
        page=page,
        page_size=page_size,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=SeriesPublic,
    responses=problem_responses(401, 413, 422),
)
def create(
    data: SeriesCreate,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> JSONResponse:
    """Create a series from an RRULE or a preset; its first occurrence becomes a task."""
    idem = IdempotentRequest(
        session, user.id, idempotency_key, fingerprint("POST", request.url.path, data)
    )
    if (replayed := idem.replay()) is not None:
        return replayed
    bounds = settings.recurrence_bounds
    series = service.create_series(
        session, owner_id=user.id, data=data, bounds=bounds, quotas=settings.quotas
    )
    body = service.to_public(session, series, bounds)
    return idem.commit(201, body, {"Location": f"/api/v1/recurring-tasks/{series.id}"})


@router.get("/{series_id}", responses=problem_responses(401, 404, 422))
def read(series: OwnedSeries, session: SessionDep, settings: SettingsDep) -> SeriesPublic:
    """Fetch one series."""
    return service.to_public(session, series, settings.recurrence_bounds)


@router.patch("/{series_id}", responses=problem_responses(401, 404, 413, 422))
def update(
    data: SeriesUpdate, series: OwnedSeries, session: SessionDep, settings: SettingsDep
) -> SeriesPublic:
    """Change a series' task template or pause it; the rule itself is fixed."""
    session.refresh(series, with_for_update=True)
    service.update_series(session, series=series, data=data)
    session.commit()
    return service.to_public(session, series, settings.recurrence_bounds)


@router.delete(
    "/{series_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 404, 422),
)
def delete(series: OwnedSeries, session: SessionDep) -> Response:
    """Delete a series; tasks already created stay."""
    service.delete_series(session, series=series)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{series_id}/preview", responses=problem_responses(401, 404, 422))
def preview(
    series: OwnedSeries,
    settings: SettingsDep,
    count: Annotated[int, Query(ge=1, le=100)] = 10,
) -> OccurrencePreview:
    """The next occurrences from now (fewer if the rule's step budget runs out first)."""
    found = service.preview(series, count, bounds=settings.recurrence_bounds)
    return OccurrencePreview(occurrences=found)
