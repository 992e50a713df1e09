from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Strict
from api.schemas.csv_rows import CsvRow


class TokenOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int


class RefreshIn(Strict):
    refresh_token: str = Field(min_length=1)


class ApiKeyCreate(Strict):
    name: str = Field(min_length=1, max_length=120)
    scopes: list[str] = Field(min_length=1)


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
    key: str = Field(description="The secret key. Shown only once: store it now.")


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
