from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from api.schemas.common import Id, Strict, Text
from sfa.purchase_orders.models import PoIntake

MAX_TEXT = 500


class IntakeLineCorrectionIn(Strict):
    index: int | None = Field(None, ge=0, le=499, description="null adds a line")
    remove: bool = False
    product_id: Id | None = None
    buyer_code: Text | None = Field(None, max_length=80)
    description: Text | None = Field(None, max_length=MAX_TEXT)
    quantity: Decimal | None = Field(
        None, gt=0, max_digits=18, decimal_places=4, allow_inf_nan=False
    )
    unit: Text | None = Field(None, max_length=20)
    unit_price: Decimal | None = Field(
        None, gt=0, max_digits=18, decimal_places=2, allow_inf_nan=False
    )
    line_total: Decimal | None = Field(
        None, gt=0, max_digits=18, decimal_places=2, allow_inf_nan=False
    )
    unit_factor: Decimal | None = Field(
        None,
        gt=0,
        max_digits=12,
        decimal_places=4,
        allow_inf_nan=False,
        description="how many of the product's own unit one line unit holds (CTN = 40)",
    )


class IntakeCorrectionIn(Strict):
    header: dict[Text, Text | None] | None = Field(
        None,
        description="po_number, po_date (YYYY-MM-DD), buyer_name, buyer_npwp, "
        "delivery_address, delivery_date, currency, total",
        max_length=8,
    )
    customer_id: Id | None = None
    rep_id: Id | None = None
    lines: list[IntakeLineCorrectionIn] | None = Field(None, max_length=500)

    def changes(self) -> dict:
        data = self.model_dump(exclude_unset=True)
        if "lines" in data:
            data["lines"] = [ln.model_dump(exclude_unset=True) for ln in self.lines or []]
        for text in (data.get("header") or {}).values():
            if text is not None and len(text) > MAX_TEXT:
                raise ValueError("header values are at most 500 characters")
        return data


class IntakeSummaryOut(BaseModel):
    id: int
    state: str
    reason_code: str | None
    reason: str | None
    filename: str
    size_bytes: int
    source: str
    sender: str | None
    page_count: int | None
    customer_id: int | None
    rep_id: int | None
    order_id: int | None
    created_at: datetime
    processed_at: datetime | None

    @classmethod
    def of(cls, i: PoIntake) -> "IntakeSummaryOut":
        return cls(
            id=i.id,
            state=i.state,
            reason_code=i.reason_code,
            reason=i.reason,
            filename=i.filename,
            size_bytes=i.size_bytes,
            source=i.source,
            sender=i.sender,
            page_count=i.page_count,
            customer_id=i.customer_id,
            rep_id=i.rep_id,
            order_id=i.order_id,
            created_at=i.created_at,
            processed_at=i.processed_at,
        )


class IntakeOut(IntakeSummaryOut):
    page_kinds: list[str] = Field(description="per page: 'text' (the PDF's own text) or 'ocr'")
    read_seconds: float | None
    draft: dict | None = Field(
        description="header fields and lines: each value with its confidence (0..1) and "
        "region [page, x0, y0, x1, y1] in PDF points from the page's top-left corner; the "
        "buyer's match; each line's product match, unit factor and quantity in our unit"
    )
    issues: list[dict] = Field(description="what keeps the draft from being confirmed as it is")

    @classmethod
    def full(cls, i: PoIntake, issues: list[dict]) -> "IntakeOut":
        return cls(
            **IntakeSummaryOut.of(i).model_dump(),
            page_kinds=[p["source"] for p in i.pages or []],
            read_seconds=i.read_seconds,
            draft=i.draft,
            issues=issues,
        )
