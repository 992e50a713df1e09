from typing import Annotated

from fastapi import APIRouter, Form, Request, status

from api.deps import LoopPrincipalDep, LoopSessionDep, PrincipalDep, SessionDep
from api.schemas.auth import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    LoginForm,
    RefreshIn,
    TokenOut,
)
from api.schemas.common import Id
from api.schemas.users import UserOut
from sfa.auth import service as auth_service
from sfa.errors import InvalidInput
from sfa.users import service as user_service

router = APIRouter(prefix="/v1", tags=["auth"])


@router.post(
    "/auth/token",
    response_model=TokenOut,
    summary="Log in with username and password (OAuth2 password flow)",
    max_body_size=16 * 1024,  # anonymous: a form of a few short fields
)
def token(session: SessionDep, form: Annotated[LoginForm, Form()], request: Request):
    pair = auth_service.login(
        session,
        username=form.username,
        password=form.password,
        client=request.client.host if request.client else None,
    )
    return TokenOut(
        access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
    )


@router.post("/auth/refresh", response_model=TokenOut, summary="Exchange a refresh token")
def refresh(session: SessionDep, body: RefreshIn):
    pair = auth_service.refresh(session, refresh_token=body.refresh_token)
    return TokenOut(
        access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
    )


@router.get("/me", response_model=UserOut, summary="The logged-in user")
async def me(session: LoopSessionDep, principal: LoopPrincipalDep):  # on the loop: api.deps
    principal.require("users:read")
    if principal.user_id is None:
        raise InvalidInput("an API key has no user profile")
    return user_service.get_user(session, principal=principal, user_id=principal.user_id)


@router.get("/api-keys", response_model=list[ApiKeyOut], summary="List API keys (admin)")
def list_keys(session: SessionDep, principal: PrincipalDep):
    return auth_service.list_api_keys(session, actor=principal)


@router.post(
    "/api-keys",
    response_model=ApiKeyCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Create an API key (admin); the key is shown once",
)
def create_key(session: SessionDep, principal: PrincipalDep, body: ApiKeyCreate):
    key, plaintext = auth_service.create_api_key(
        session, actor=principal, name=body.name, scopes=body.scopes
    )
    return ApiKeyCreated(**ApiKeyOut.model_validate(key).model_dump(), key=plaintext)


@router.delete("/api-keys/{key_id}", response_model=ApiKeyOut, summary="Revoke an API key")
def revoke_key(session: SessionDep, principal: PrincipalDep, key_id: Id):
    return auth_service.revoke_api_key(session, actor=principal, key_id=key_id)
