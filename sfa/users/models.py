import enum

from sqlalchemy import BigInteger, Boolean, Enum, ForeignKey, String
from sqlalchemy.ext.associationproxy import association_proxy
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sfa.db import Base, TimestampMixin


class Role(enum.StrEnum):
    rep = "rep"
    manager = "manager"
    admin = "admin"
    # Decides the large discounts (the second approval level of the default "Discount
    # approval" workflow) and whatever else a workflow gives the role.
    finance = "finance"


class Team(TimestampMixin, Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    # A manager may lead several teams; a team has at most one manager.
    manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL", use_alter=True), index=True
    )

    members: Mapped[list["User"]] = relationship(
        back_populates="team", foreign_keys="User.team_id", lazy="raise"
    )


class User(TimestampMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    role: Mapped[Role] = mapped_column(Enum(Role, name="user_role"))
    # The team a rep works in; managers lead teams through Team.manager_id instead.
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="RESTRICT"), index=True
    )
    language: Mapped[str | None] = mapped_column(String(8))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")

    team: Mapped[Team | None] = relationship(
        back_populates="members", foreign_keys=[team_id], lazy="raise"
    )
    password: Mapped["UserPassword | None"] = relationship(
        cascade="all, delete-orphan", lazy="select"
    )
    # The argon2 hash lives in a table of its own (UserPassword): read and set it here.
    password_hash = association_proxy(
        "password", "password_hash", creator=lambda value: UserPassword(password_hash=value)
    )


class UserPassword(Base):
    """A user's password hash, in a row of its own: a users row that fails a constraint
    is logged by PostgreSQL whole ("Failing row contains …"), and that line must never
    carry a hash. This row has nothing that can fail that way (its key and the hash,
    always set)."""

    __tablename__ = "user_passwords"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    password_hash: Mapped[str] = mapped_column(String(200))
