"""Workflows and their versions (the authoring side; runs are sfa/workflows/runtime*).

A version is a draft until it is published; from then on it never changes (the service
refuses, and a trigger of migration 0018 refuses any UPDATE or DELETE of a published or
archived version other than archiving it). A workflow has at most one draft and at most
one published version, which is its active one; publishing archives the one before.
"""

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sfa.db import Base


class VersionState(enum.StrEnum):
    draft = "draft"
    published = "published"
    archived = "archived"


class Workflow(Base):
    __tablename__ = "workflows"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    key: Mapped[str] = mapped_column(String(60), unique=True)  # a slug: "discount-approval"
    name: Mapped[str] = mapped_column(String(200))  # the latest saved definition's name
    # The published version runs start on; None until the first publish.
    active_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("workflow_versions.id", ondelete="RESTRICT", use_alter=True)
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class WorkflowVersion(Base):
    __tablename__ = "workflow_versions"
    __table_args__ = (
        UniqueConstraint("workflow_id", "number"),
        CheckConstraint(
            "state = 'draft' OR (published_at IS NOT NULL AND published_by IS NOT NULL)",
            name="published_has_who_and_when",
        ),
        Index(
            "uq_workflow_versions_one_draft",
            "workflow_id",
            unique=True,
            postgresql_where=text("state = 'draft'"),
        ),
        Index(
            "uq_workflow_versions_one_published",
            "workflow_id",
            unique=True,
            postgresql_where=text("state = 'published'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, ... per workflow
    state: Mapped[VersionState] = mapped_column(
        Enum(VersionState, name="workflow_version_state"), default=VersionState.draft
    )
    definition: Mapped[dict] = mapped_column(JSONB)
    # A rollback publishes a copy of an older version: the number it copies.
    copied_from: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    published_by: Mapped[str | None] = mapped_column(String(80))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
