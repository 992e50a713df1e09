from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Strict, Text
from api.schemas.csv_rows import CsvRow


class TokenOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int


class RefreshIn(Strict):
    refresh_token: Text = Field(min_length=1, max_length=4096)


class ApiKeyCreate(Strict):
    name: Text = Field(min_length=1, max_length=120)
    scopes: list[Annotated[Text, Field(max_length=60)]] = Field(min_length=1, max_length=100)


class LoginForm(BaseModel):
    """The OAuth2 password form (what Swagger UI's Authorize sends), bounded."""

    username: Text = Field(max_length=200)
    password: Text = Field(max_length=200)
    grant_type: Literal["password"] | None = None
    scope: Text = Field("", max_length=500)
    client_id: Text | None = Field(None, max_length=200)
    client_secret: Text | None = Field(None, max_length=200)


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: Text = Field(description="The secret key. Shown only once: store it now.")


class AuditOut(CsvRow):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: datetime
    actor: str
    entity: str
    entity_id: str
    action: str
    old: dict | None
    new: dict | None
