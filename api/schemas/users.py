from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Strict
from sfa.users.models import Role

Username = Field(min_length=3, max_length=80, pattern=r"^[A-Za-z0-9_.@-]+$")
Password = Field(min_length=8, max_length=200)


class UserCreate(Strict):
    username: str = Username
    full_name: str = Field(min_length=1, max_length=200)
    password: str = Password
    role: Role
    team_id: int | None = None
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=40)
    language: str | None = Field(None, pattern=r"^[a-z]{2}$")


class UserUpdate(Strict):
    username: str | None = Field(None, min_length=3, max_length=80, pattern=r"^[A-Za-z0-9_.@-]+$")
    full_name: str | None = Field(None, min_length=1, max_length=200)
    password: str | None = Field(None, min_length=8, max_length=200)
    role: Role | None = None
    team_id: int | None = None
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=40)
    language: str | None = Field(None, pattern=r"^[a-z]{2}$")
    is_active: bool | None = None


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    username: str
    full_name: str
    role: Role
    team_id: int | None
    email: str | None
    phone: str | None
    language: str | None
    is_active: bool
    created_at: datetime


class TeamCreate(Strict):
    name: str = Field(min_length=1, max_length=120)
    manager_id: int | None = None


class TeamUpdate(Strict):
    name: str | None = Field(None, min_length=1, max_length=120)
    manager_id: int | None = None


class TeamOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    manager_id: int | None
