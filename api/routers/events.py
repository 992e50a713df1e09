from fastapi import APIRouter, Query

from api.deps import PrincipalDep
from api.schemas.common import PageOut
from api.schemas.events import EventTypeOut
from sfa.events import service as event_service
from sfa.limits import INT64_MAX
from sfa.pagination import Page

router = APIRouter(prefix="/v1", tags=["events"])


@router.get(
    "/event-types",
    response_model=PageOut[EventTypeOut],
    summary="The domain event types, each with its payload's JSON schema (docs/events.md)",
)
def list_event_types(
    principal: PrincipalDep,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=INT64_MAX),
):
    # Any signed-in user or API key: the catalogue is the contract consumers (workflows,
    # webhooks) are written against, and names no data.
    types = event_service.event_types()
    page = Page(types[offset : offset + limit], len(types), limit, offset)
    return PageOut.of(page, EventTypeOut.of)
