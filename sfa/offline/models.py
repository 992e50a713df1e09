"""The change log the offline sync reads (filled by triggers: migration 0016)."""

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Identity, Index, String, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import UserDefinedType

from sfa.db import Base


class Xid8(UserDefinedType):
    """PostgreSQL's 64-bit transaction id (xid8); read as text, compared in SQL."""

    cache_ok = True

    def get_col_spec(self, **kw) -> str:
        return "xid8"


class SyncChange(Base):
    """One changed record: which one, and who may receive it. Written by statement-level
    triggers on the source tables in the writing transaction (`xid`), never by the
    application; the record's current state is read when a phone syncs."""

    __tablename__ = "sync_changes"
    __table_args__ = (
        Index("ix_sync_changes_xid_position", "xid", "position"),
        Index("ix_sync_changes_changed_at", "changed_at"),
    )

    position: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    xid = mapped_column(Xid8(), nullable=False, server_default=func.pg_current_xact_id())
    entity: Mapped[str] = mapped_column(String, nullable=False)
    entity_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sub_id: Mapped[int | None] = mapped_column(BigInteger)
    team_ids: Mapped[list[int] | None] = mapped_column(ARRAY(BigInteger))
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    changed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
