"""Company settings: every number of docs/rules.md with its default.

Stored as overrides in `company_settings`; reading merges them over these defaults, so a
new setting needs no data migration.
"""

import re
from datetime import date
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo, available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


# Who can own a renewal (issue 15): the names of the owner roles on a contract.
RenewalRole = Literal["account_manager", "renewal_manager", "customer_success", "sales_rep"]
ReminderChannel = Literal["email", "sms"]
_UPSELL_ROLES: tuple[RenewalRole, ...] = ("account_manager", "sales_rep")
_FALLBACK_ORDER: tuple[RenewalRole, ...] = ("renewal_manager", "account_manager", "sales_rep")
_REMINDER_CHANNELS: tuple[ReminderChannel, ...] = ("email", "sms")


class VisitDuration(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_minutes: float = Field(gt=0, allow_inf_nan=False)
    max_minutes: float = Field(gt=0, allow_inf_nan=False)


class CompanySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    company_name: str = "Demo Company"
    timezone: str = "Asia/Jakarta"
    currency: str = Field("IDR", pattern=r"^[A-Z]{3}$")
    language: str = Field("id", pattern=r"^[a-z]{2}$")
    workday_start: str = "08:00"
    workday_end: str = "18:00"

    # Visit verification
    verify_radius_m: float = Field(300, gt=0, allow_inf_nan=False)
    low_accuracy_radius_m: float = Field(600, gt=0, allow_inf_nan=False)
    low_accuracy_threshold_m: float = Field(100, gt=0, allow_inf_nan=False)
    capture_max_accuracy_m: float = Field(50, gt=0, allow_inf_nan=False)
    dwell_radius_m: float = Field(150, gt=0, allow_inf_nan=False)
    future_tolerance_hours: float = Field(24, gt=0, allow_inf_nan=False)

    # Event-time bounds (issue 12, sfa/event_times.py): device times older than this, or
    # before the company's start (company-local day; null: no such bound), are rejected.
    max_backdate_days: int = Field(35, ge=1, le=3650)
    company_start_date: date | None = Field(None, ge=date(2000, 1, 1), le=date(2099, 12, 31))

    # Tracking
    max_accuracy_m: float = Field(100, gt=0, allow_inf_nan=False)
    max_speed_kmh: float = Field(200, gt=0, allow_inf_nan=False)
    gap_minutes: float = Field(15, gt=0, allow_inf_nan=False)
    stop_radius_m: float = Field(100, gt=0, allow_inf_nan=False)
    stop_min_minutes: float = Field(5, gt=0, allow_inf_nan=False)

    # Suspicious visits
    consecutive_near_m: float = Field(50, gt=0, allow_inf_nan=False)
    consecutive_near_count: int = Field(3, ge=2)
    rapid_visits_count: int = Field(4, ge=2)
    rapid_visits_window_minutes: float = Field(30, gt=0, allow_inf_nan=False)
    cluster_area_m2: float = Field(5, gt=0, allow_inf_nan=False)
    cluster_min_customers: int = Field(3, ge=2)
    visit_min_minutes: float = Field(5, gt=0, allow_inf_nan=False)
    visit_max_minutes: float = Field(60, gt=0, allow_inf_nan=False)
    visit_duration_by_class: dict[str, VisitDuration] = Field(default_factory=dict)
    clock_skew_minutes: float = Field(10, gt=0, allow_inf_nan=False)

    # Weekly anomalies
    short_visits_spike_pct: float = Field(20, gt=0, allow_inf_nan=False)
    short_visits_spike_min: int = Field(5, ge=1)
    visit_count_sigma: float = Field(2, gt=0, allow_inf_nan=False)
    visit_count_history_weeks: int = Field(20, ge=1)
    visit_count_min_history_weeks: int = Field(4, ge=1)
    low_visit_rate_pct: float = Field(80, gt=0, le=100, allow_inf_nan=False)
    low_visit_rate_weeks: int = Field(3, ge=1)

    # Orders and discounts
    discount_auto_max_pct: float = Field(5, ge=0, le=100, allow_inf_nan=False)
    discount_single_max_pct: float = Field(15, ge=0, le=100, allow_inf_nan=False)
    discount_escalation_hours: float = Field(24, gt=0, allow_inf_nan=False)

    # Integrations and reminders
    erp_sync_minutes: int = Field(15, ge=1)
    quiet_hours_start: str = "21:00"
    quiet_hours_end: str = "07:00"

    # Manager console (api/console): an optional base map. Without it the maps show only
    # our own layers on a plain background and the page calls no other host; with it the
    # browser loads tiles from this server, e.g. "https://tiles.example.com/{z}/{x}/{y}.png".
    console_tile_url: str | None = Field(
        None, max_length=500, pattern=r"^https?://[^\s\"'<>]+\{z\}[^\s\"'<>]*$"
    )
    console_tile_attribution: str = Field("", max_length=200)

    # Contracts, renewals (CURE), pipeline and pulse surveys (issue 15; docs/contracts.md).
    # ACV tiers in the company currency: below the first is low (automated renewal),
    # below the second mid (a renewal manager), from the second on enterprise.
    renewal_low_tier_max: Decimal = Field(Decimal(50_000_000), ge=0, allow_inf_nan=False)
    renewal_enterprise_tier_min: Decimal = Field(Decimal(500_000_000), ge=0, allow_inf_nan=False)
    # A contract with at least this many stakeholders counts as enterprise (null: off).
    renewal_enterprise_min_stakeholders: int | None = Field(10, ge=1)
    # Upsell potential: any upsell product, or an upsell score (0-100) at least this.
    renewal_upsell_min_score: int = Field(50, ge=0, le=100)
    renewal_upsell_roles: list[RenewalRole] = Field(
        default_factory=lambda: list(_UPSELL_ROLES), min_length=1
    )
    renewal_fallback_order: list[RenewalRole] = Field(
        default_factory=lambda: list(_FALLBACK_ORDER), min_length=1
    )
    renewal_alert_days: int = Field(90, ge=1, le=730)
    renewal_reminder_days: list[int] = Field(default_factory=lambda: [60, 30, 7], min_length=1)
    renewal_reminder_channels: list[ReminderChannel] = Field(
        default_factory=lambda: list(_REMINDER_CHANNELS)
    )
    # Pulse surveys: results of fewer answers than this are hidden (anonymity).
    survey_min_group_size: int = Field(5, ge=1)

    # ERP round trip (docs/erp.md): figures as the ERP keeps them, and new customers.
    # Decimals of unit prices (Tryton's [product] price_decimal) and the rounding of
    # amounts (the company currency's rounding in the ERP): an order's net prices and line
    # amounts are then the sale's in the ERP, to the last digit.
    price_decimals: int = Field(4, ge=0, le=6)
    amount_rounding: Decimal = Field(Decimal("0.01"), gt=0, le=1, decimal_places=2)
    # A customer new from the ERP with a known position joins the team of the nearest
    # customer within this distance; otherwise it waits, unassigned, for an admin.
    customer_team_radius_m: float = Field(2000, gt=0, allow_inf_nan=False)

    # Purchase-order intake (issue 17): below these, a value waits for a person's review.
    po_min_confidence: float = Field(0.85, ge=0, le=1, allow_inf_nan=False)
    po_buyer_min_score: float = Field(0.9, ge=0, le=1, allow_inf_nan=False)
    po_product_min_score: float = Field(0.9, ge=0, le=1, allow_inf_nan=False)

    # Tax invoices, Coretax e-Faktur export (issue 17): the seller's identity and the
    # transaction code (04: DPP nilai lain, the 2025 rule for non-luxury goods).
    tax_seller_npwp: str | None = Field(None, pattern=r"^[0-9]{16}$")
    tax_seller_tku: str = Field("000000", pattern=r"^[0-9]{6}$")
    tax_trx_code: str = Field("04", pattern=r"^(0[1-9]|10)$")

    # Partition upkeep (issue 19; docs/scaling.md): months of pings kept. The
    # partition-upkeep job drops each monthly partition whose whole month ended longer
    # ago than this (a DROP TABLE, never a DELETE); null keeps every ping.
    ping_retention_months: int | None = Field(None, ge=1, le=1200)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        if value not in available_timezones():
            raise ValueError(f"unknown IANA timezone {value!r}, e.g. 'Asia/Jakarta'")
        return value

    @field_validator("workday_start", "workday_end", "quiet_hours_start", "quiet_hours_end")
    @classmethod
    def _hh_mm(cls, value: str) -> str:
        if not _HHMM.match(value):
            raise ValueError(f"{value!r} is not a time of day as HH:MM, e.g. '08:00'")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "CompanySettings":
        if self.workday_start >= self.workday_end:
            raise ValueError("workday_start must be before workday_end")
        if self.discount_auto_max_pct > self.discount_single_max_pct:
            raise ValueError("discount_auto_max_pct cannot exceed discount_single_max_pct")
        if self.visit_min_minutes >= self.visit_max_minutes:
            raise ValueError("visit_min_minutes must be below visit_max_minutes")
        if self.renewal_low_tier_max > self.renewal_enterprise_tier_min:
            raise ValueError("renewal_low_tier_max cannot exceed renewal_enterprise_tier_min")
        if any(not 0 < d <= 730 for d in self.renewal_reminder_days):
            raise ValueError("renewal_reminder_days must be days between 1 and 730")
        # A ping may arrive up to max_backdate_days late; its month's partition must still
        # be there, or the late ping would land in a dropped month. The shortest month has
        # 28 days, so N months of retention keep at least N x 28 days.
        retention = self.ping_retention_months
        if retention is not None and retention * 28 <= self.max_backdate_days:
            raise ValueError(
                f"ping_retention_months {retention} keeps less than max_backdate_days "
                f"({self.max_backdate_days}): late pings would find their month dropped"
            )
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def visit_duration_for(self, customer_class: str | None) -> VisitDuration:
        """Standard visit duration for a customer class, falling back to the company default."""
        override = self.visit_duration_by_class.get(customer_class or "")
        return override or VisitDuration(
            min_minutes=self.visit_min_minutes, max_minutes=self.visit_max_minutes
        )
