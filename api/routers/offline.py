"""The mobile app's offline sync (docs/sync.md)."""

from fastapi import APIRouter, Query

from api.deps import PrincipalDep, SessionDep
from api.schemas.common import Text
from api.schemas.offline import SyncOut
from sfa.offline import service as offline_service

router = APIRouter(prefix="/v1", tags=["offline sync"])


@router.get(
    "/me/sync",
    response_model=SyncOut,
    summary="Everything my phone keeps offline, as changes since the cursor",
    description=(
        "Without a cursor: the full set (customers with locations and radius, products, "
        "customer prices, planned visits from today, unread notifications), in pages; "
        "then, with the last answer's cursor, only what changed since, deletions "
        "included. Targets with progress and the app's settings come whole on every "
        "page. A rep's token only."
    ),
)
def my_sync(
    session: SessionDep,
    principal: PrincipalDep,
    cursor: Text | None = Query(None, max_length=2000),
    limit: int = Query(
        offline_service.DEFAULT_LIMIT, ge=1, le=offline_service.MAX_LIMIT, description="records"
    ),
):
    return SyncOut.of(
        offline_service.sync(session, principal=principal, cursor=cursor, limit=limit)
    )
