from fastapi import APIRouter, Query, status

from api.deps import PrincipalDep, SessionDep
from api.schemas.common import Id, PageOut, Text
from api.schemas.users import TeamCreate, TeamOut, TeamUpdate, UserCreate, UserOut, UserUpdate
from sfa.limits import INT64_MAX
from sfa.users import service as user_service
from sfa.users.models import Role

router = APIRouter(prefix="/v1", tags=["users and teams"])

Limit = Query(50, ge=1, le=1000)
Offset = Query(0, ge=0, le=INT64_MAX)


@router.get("/users", response_model=PageOut[UserOut], summary="Users visible to you")
def list_users(
    session: SessionDep,
    principal: PrincipalDep,
    role: Role | None = None,
    team_id: Id | None = None,
    q: Text | None = Query(None, max_length=100, description="matches username or full name"),
    limit: int = Limit,
    offset: int = Offset,
):
    page = user_service.list_users(
        session, principal=principal, role=role, team_id=team_id, q=q, limit=limit, offset=offset
    )
    return PageOut.of(page, UserOut.model_validate)


@router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED)
def create_user(session: SessionDep, principal: PrincipalDep, body: UserCreate):
    return user_service.create_user(session, principal=principal, data=body.model_dump())


@router.get("/users/{user_id}", response_model=UserOut)
def get_user(session: SessionDep, principal: PrincipalDep, user_id: Id):
    return user_service.get_user(session, principal=principal, user_id=user_id)


@router.patch("/users/{user_id}", response_model=UserOut)
def update_user(session: SessionDep, principal: PrincipalDep, user_id: Id, body: UserUpdate):
    return user_service.update_user(
        session, principal=principal, user_id=user_id, data=body.model_dump(exclude_unset=True)
    )


@router.delete(
    "/users/{user_id}",
    response_model=UserOut,
    summary="Deactivate a user (kept for the history of their visits and orders)",
)
def deactivate_user(session: SessionDep, principal: PrincipalDep, user_id: Id):
    return user_service.deactivate_user(session, principal=principal, user_id=user_id)


@router.get("/teams", response_model=PageOut[TeamOut], summary="Teams visible to you")
def list_teams(
    session: SessionDep, principal: PrincipalDep, limit: int = Limit, offset: int = Offset
):
    page = user_service.list_teams(session, principal=principal, limit=limit, offset=offset)
    return PageOut.of(page, TeamOut.model_validate)


@router.post("/teams", response_model=TeamOut, status_code=status.HTTP_201_CREATED)
def create_team(session: SessionDep, principal: PrincipalDep, body: TeamCreate):
    return user_service.create_team(session, principal=principal, data=body.model_dump())


@router.get("/teams/{team_id}", response_model=TeamOut)
def get_team(session: SessionDep, principal: PrincipalDep, team_id: Id):
    return user_service.get_team(session, principal=principal, team_id=team_id)


@router.patch("/teams/{team_id}", response_model=TeamOut)
def update_team(session: SessionDep, principal: PrincipalDep, team_id: Id, body: TeamUpdate):
    return user_service.update_team(
        session, principal=principal, team_id=team_id, data=body.model_dump(exclude_unset=True)
    )


@router.delete("/teams/{team_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_team(session: SessionDep, principal: PrincipalDep, team_id: Id):
    user_service.delete_team(session, principal=principal, team_id=team_id)
