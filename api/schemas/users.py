from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Id, PatchIn, Strict, Text
from sfa.users.models import Role

Username = Field(min_length=3, max_length=80, pattern=r"^[A-Za-z0-9_.@-]+$")
Password = Field(min_length=8, max_length=200)


class UserCreate(Strict):
    username: Text = Username
    full_name: Text = Field(min_length=1, max_length=200)
    password: Text = Password
    role: Role
    team_id: Id | None = None
    email: Text | None = Field(None, max_length=254)
    phone: Text | None = Field(None, max_length=40)
    language: Text | None = Field(None, pattern=r"^[a-z]{2}$")


class UserUpdate(PatchIn):
    nullable = frozenset({"team_id", "email", "phone", "language"})

    username: Text | None = Field(None, min_length=3, max_length=80, pattern=r"^[A-Za-z0-9_.@-]+$")
    full_name: Text | None = Field(None, min_length=1, max_length=200)
    password: Text | None = Field(None, min_length=8, max_length=200)
    role: Role | None = None
    team_id: Id | None = None
    email: Text | None = Field(None, max_length=254)
    phone: Text | None = Field(None, max_length=40)
    language: Text | None = Field(None, pattern=r"^[a-z]{2}$")
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
    name: Text = Field(min_length=1, max_length=120)
    manager_id: Id | None = None


class TeamUpdate(PatchIn):
    nullable = frozenset({"manager_id"})

    name: Text | None = Field(None, min_length=1, max_length=120)
    manager_id: Id | None = None


class TeamOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    manager_id: int | None
