"""Tombstones of deleted records, for incremental exports (written by triggers: migration
0016)."""

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Identity, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sfa.db import Base


class Tombstone(Base):
    __tablename__ = "export_tombstones"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    entity: Mapped[str] = mapped_column(String, nullable=False)
    key: Mapped[dict] = mapped_column(JSONB, nullable=False)
    deleted_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
