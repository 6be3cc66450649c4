"""The caller's tags."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from app.deps import CurrentUser, SessionDep, SettingsDep
from app.errors import problem_responses
from app.models.task import TagCreate, TagName, TagPublic
from app.services import tags as service
from app.services import tasks as task_service

router = APIRouter(prefix="/tags", tags=["tags"])


@router.get("", responses=problem_responses(401))
def list_(session: SessionDep, user: CurrentUser) -> list[TagPublic]:
    """Every tag of the caller with how many tasks carry it."""
    return service.list_tags(session, user.id)


@router.post("", status_code=status.HTTP_201_CREATED, responses=problem_responses(401, 422))
def create(
    data: TagCreate, session: SessionDep, user: CurrentUser, settings: SettingsDep
) -> TagPublic:
    """Create a tag (creating an existing one returns it)."""
    tag = service.create_tag(session, user.id, data.name, settings.quotas)
    session.commit()
    return tag


@router.delete(
    "/{name}", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(401, 404, 422)
)
def delete(name: TagName, session: SessionDep, user: CurrentUser) -> Response:
    """Delete a tag and detach it from every task (each gets a new version and an event)."""
    task_service.delete_tag(session, owner_id=user.id, name=name)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
