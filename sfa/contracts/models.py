"""Contracts, the people in renewal roles, and every renewal-routing decision (CURE)."""

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sfa.contracts.roles import RenewalRole
from sfa.db import Base, Money, TimestampMixin


class ContractStatus(enum.StrEnum):
    draft = "draft"
    active = "active"
    renewal_due = "renewal_due"  # inside the alert window: the renewal is being worked on
    renewed = "renewed"  # its successor contract exists (renewal chain)
    churned = "churned"  # the customer did not renew
    cancelled = "cancelled"


# Statuses whose renewal is still open: counted when balancing owners' workload.
OPEN_STATUSES = (ContractStatus.active, ContractStatus.renewal_due)
FINAL_STATUSES = (ContractStatus.renewed, ContractStatus.churned, ContractStatus.cancelled)


_role_enum = Enum(RenewalRole, name="renewal_role")


class Contract(TimestampMixin, Base):
    __tablename__ = "contracts"
    __table_args__ = (
        CheckConstraint("end_date >= start_date", name="dates_ordered"),
        CheckConstraint("acv >= 0", name="acv_non_negative"),
        CheckConstraint("notice_days >= 0", name="notice_non_negative"),
        CheckConstraint("upsell_score BETWEEN 0 AND 100", name="upsell_score_range"),
        CheckConstraint("stakeholders >= 0", name="stakeholders_non_negative"),
        CheckConstraint("renewal_of_id <> id", name="not_own_renewal"),
        Index("ix_contracts_end_date", "end_date"),
        Index("ix_contracts_renewal_owner_id_status", "renewal_owner_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="RESTRICT"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    # Annual contract value, in the company currency (`currency` records which it was).
    acv: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    auto_renew: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # The customer must give notice this many days before the end to stop an auto-renewal.
    notice_days: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    status: Mapped[ContractStatus] = mapped_column(Enum(ContractStatus, name="contract_status"))
    upsell_score: Mapped[int | None] = mapped_column(SmallInteger)  # 0-100
    # None: derived (ACV tier, stakeholders); True/False: set by a person.
    enterprise: Mapped[bool | None] = mapped_column(Boolean)
    stakeholders: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(String(2000))
    # Renewal chain: this contract renews `renewal_of_id` (one successor per contract).
    renewal_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("contracts.id", ondelete="RESTRICT"), unique=True
    )
    # The current routing decision's outcome (the decisions themselves: renewal_decisions).
    renewal_owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    renewal_mode: Mapped[str | None] = mapped_column(String(20))
    created_by: Mapped[str | None] = mapped_column(String(80))


class ContractRole(Base):
    """A person named on a contract in a role (its account manager, ...)."""

    __tablename__ = "contract_roles"
    __table_args__ = (PrimaryKeyConstraint("contract_id", "role"),)

    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"))
    role: Mapped[RenewalRole] = mapped_column(_role_enum)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class ContractUpsellProduct(Base):
    """A product the customer does not buy yet that could be sold with the renewal."""

    __tablename__ = "contract_upsell_products"
    __table_args__ = (PrimaryKeyConstraint("contract_id", "product_id"),)

    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))


class StaffRole(Base):
    """Who in the company can own renewals in a role (CURE's resources lens)."""

    __tablename__ = "contract_staff"
    __table_args__ = (PrimaryKeyConstraint("user_id", "role"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[RenewalRole] = mapped_column(_role_enum)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RenewalDecision(Base):
    """One CURE decision, with everything it looked at: it can be explained and replayed."""

    __tablename__ = "renewal_decisions"
    __table_args__ = (Index("ix_renewal_decisions_contract_id_id", "contract_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor: Mapped[str] = mapped_column(String(80))
    tier: Mapped[str] = mapped_column(String(20))
    mode: Mapped[str] = mapped_column(String(20))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    owner_name: Mapped[str | None] = mapped_column(String(200))
    owner_role: Mapped[str | None] = mapped_column(String(40))
    enterprise: Mapped[bool] = mapped_column(Boolean)
    upsell: Mapped[bool] = mapped_column(Boolean)
    create_opportunity: Mapped[bool] = mapped_column(Boolean)
    auto_renew: Mapped[bool] = mapped_column(Boolean)
    reminder_days: Mapped[list] = mapped_column(JSONB)
    # [{"lens", "code", "text": {"en", "id"}, "numbers"}], in the order they were applied.
    reasons: Mapped[list] = mapped_column(JSONB)
    summary_en: Mapped[str] = mapped_column(String(2000))
    summary_id: Mapped[str] = mapped_column(String(2000))
    # The inputs (facts about the contract and its candidates) and the policy applied.
    facts: Mapped[dict] = mapped_column(JSONB)
    policy: Mapped[dict] = mapped_column(JSONB)


class ContractStatusSpan(Base):
    """How long a contract spent in each status (the renewal's steps, until the workflow
    engine's run steps take over: docs/contracts.md)."""

    __tablename__ = "contract_status_history"
    __table_args__ = (Index("ix_contract_status_history_contract_id", "contract_id", "entered_at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"))
    status: Mapped[ContractStatus] = mapped_column(Enum(ContractStatus, name="contract_status"))
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    left_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(80))
