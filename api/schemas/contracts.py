from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field

from api.schemas.common import Day, Id, Strict, Text
from api.schemas.csv_rows import CsvRow
from sfa.contracts.models import ContractStatus, ContractStatusSpan, RenewalDecision, StaffRole
from sfa.contracts.roles import RenewalRole
from sfa.contracts.service import ContractDetails
from sfa.users.models import User

# An amount in the company currency: exact, two decimals, never negative.
Acv = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2, allow_inf_nan=False)]


class ContractFields(Strict):
    title: Text | None = Field(None, min_length=1, max_length=200)
    acv: Acv | None = Field(None, description="annual contract value")
    currency: str | None = Field(
        None, pattern=r"^[A-Z]{3}$", description="must be the company currency (or left out)"
    )
    start_date: Day | None = None
    end_date: Day | None = None
    auto_renew: bool | None = None
    notice_days: int | None = Field(None, ge=0, le=3650)
    upsell_score: int | None = Field(None, ge=0, le=100)
    upsell_product_ids: list[Id] | None = Field(
        None, max_length=100, description="products the customer does not buy yet"
    )
    enterprise: bool | None = Field(
        None, description="null: derived from the ACV tier and the number of stakeholders"
    )
    stakeholders: int | None = Field(None, ge=0, le=100_000)
    note: Text | None = Field(None, max_length=2000)
    roles: dict[RenewalRole, Id | None] | None = Field(
        None, description="people named on the contract, by role; null removes one"
    )


class ContractCreate(ContractFields):
    customer_id: Id
    title: Text = Field(min_length=1, max_length=200)
    acv: Acv = Field(description="annual contract value, company currency")
    start_date: Day
    end_date: Day
    status: ContractStatus | None = Field(None, description="draft or active (default)")


class ContractUpdate(ContractFields):
    status: ContractStatus | None = Field(
        None, description="active, renewal_due, churned, cancelled (renewed: POST .../renew)"
    )


class RenewIn(Strict):
    start_date: Day | None = Field(None, description="default: the day after the end")
    end_date: Day | None = Field(None, description="default: as long as the old term")
    acv: Acv | None = None
    title: Text | None = Field(None, min_length=1, max_length=200)
    auto_renew: bool | None = None
    notice_days: int | None = Field(None, ge=0, le=3650)


class ReasonOut(BaseModel):
    lens: str = Field(description="size, upsell, enterprise or resources (the order applied)")
    code: str
    text: dict[str, str] = Field(description="the reason in en and id")
    numbers: dict


class DecisionOut(BaseModel):
    id: int
    decided_at: datetime
    actor: str
    tier: str = Field(description="low, mid or enterprise")
    mode: str = Field(description="automated, owned or unassigned")
    owner_id: int | None
    owner_name: str | None
    owner_role: str | None
    enterprise: bool
    upsell: bool
    create_opportunity: bool
    auto_renew: bool
    reminder_days: list[int]
    summary: str = Field(description="why, in the language asked for (lang)")
    summary_en: str
    summary_id: str
    reasons: list[ReasonOut]

    @classmethod
    def of(cls, d: RenewalDecision, lang: str = "en") -> "DecisionOut":
        return cls(
            id=d.id,
            decided_at=d.decided_at,
            actor=d.actor,
            tier=d.tier,
            mode=d.mode,
            owner_id=d.owner_id,
            owner_name=d.owner_name,
            owner_role=d.owner_role,
            enterprise=d.enterprise,
            upsell=d.upsell,
            create_opportunity=d.create_opportunity,
            auto_renew=d.auto_renew,
            reminder_days=d.reminder_days,
            summary=d.summary_id if lang == "id" else d.summary_en,
            summary_en=d.summary_en,
            summary_id=d.summary_id,
            reasons=[ReasonOut.model_validate(r) for r in d.reasons],
        )


class UpsellProductOut(BaseModel):
    id: int
    code: str | None
    name: str


class ContractOut(BaseModel):
    id: int
    customer_id: int
    title: str
    acv: Decimal
    currency: str
    start_date: date
    end_date: date
    auto_renew: bool
    notice_days: int
    notice_deadline: date = Field(description="the last day the customer can give notice")
    status: ContractStatus
    upsell_score: int | None
    upsell_products: list[UpsellProductOut]
    enterprise: bool | None
    stakeholders: int | None
    note: str | None
    roles: dict[str, int]
    renewal_of_id: int | None
    successor_id: int | None
    renewal_owner_id: int | None
    renewal_mode: str | None
    renewal: DecisionOut | None = Field(description="the current routing decision and why")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, d: ContractDetails, lang: str = "en") -> "ContractOut":
        c = d.contract
        return cls(
            id=c.id,
            customer_id=c.customer_id,
            title=c.title,
            acv=c.acv,
            currency=c.currency,
            start_date=c.start_date,
            end_date=c.end_date,
            auto_renew=c.auto_renew,
            notice_days=c.notice_days,
            notice_deadline=c.end_date - timedelta(days=c.notice_days),
            status=c.status,
            upsell_score=c.upsell_score,
            upsell_products=[
                UpsellProductOut(id=p.id, code=p.code, name=p.name) for p in d.upsell_products
            ],
            enterprise=c.enterprise,
            stakeholders=c.stakeholders,
            note=c.note,
            roles=d.roles,
            renewal_of_id=c.renewal_of_id,
            successor_id=d.successor_id,
            renewal_owner_id=c.renewal_owner_id,
            renewal_mode=c.renewal_mode,
            renewal=DecisionOut.of(d.decision, lang) if d.decision else None,
            created_at=c.created_at,
            updated_at=c.updated_at,
        )


class StatusSpanOut(BaseModel):
    status: ContractStatus
    entered_at: datetime
    left_at: datetime | None
    actor: str

    @classmethod
    def of(cls, s: ContractStatusSpan) -> "StatusSpanOut":
        return cls(status=s.status, entered_at=s.entered_at, left_at=s.left_at, actor=s.actor)


class StaffIn(Strict):
    user_id: Id
    role: RenewalRole


class StaffOut(BaseModel):
    user_id: int
    username: str
    full_name: str
    role: RenewalRole
    is_active: bool

    @classmethod
    def of(cls, held: StaffRole, user: User) -> "StaffOut":
        return cls(
            user_id=user.id,
            username=user.username,
            full_name=user.full_name,
            role=held.role,
            is_active=user.is_active,
        )


class ContractCsvRow(CsvRow):
    """A contract as one flat CSV row (the routing reason as text, products joined)."""

    id: int
    customer_id: int
    title: str
    acv: Decimal
    currency: str
    start_date: date
    end_date: date
    notice_deadline: date
    auto_renew: bool
    status: ContractStatus
    enterprise: bool | None
    stakeholders: int | None
    upsell_score: int | None
    upsell_products: str
    renewal_of_id: int | None
    successor_id: int | None
    renewal_owner_id: int | None
    renewal_owner_role: str | None
    renewal_mode: str | None
    routing_reason: str | None
    routed_at: datetime | None

    @classmethod
    def of(cls, out: ContractOut) -> "ContractCsvRow":
        data = out.model_dump(include=set(cls.model_fields) - {"upsell_products"})
        return cls(
            **data,
            upsell_products="; ".join(p.name for p in out.upsell_products),
            renewal_owner_role=out.renewal.owner_role if out.renewal else None,
            routing_reason=out.renewal.summary if out.renewal else None,
            routed_at=out.renewal.decided_at if out.renewal else None,
        )
