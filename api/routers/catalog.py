from fastapi import APIRouter, Query

from api.csv_export import csv_export
from api.deps import PrincipalDep, SessionDep, exports_from_replica
from api.formats import CSV_RESPONSES, ListFormat
from api.schemas.catalog import CustomerPricesOut, PriceOut, ProductOut
from api.schemas.common import Id, PageOut, Text
from sfa.catalog import service as catalog_service
from sfa.company import service as company_service
from sfa.errors import InvalidInput
from sfa.limits import INT64_MAX
from sfa.pagination import each_batch, paginate

router = APIRouter(prefix="/v1", tags=["catalog"])


def _ids(raw: str) -> list[int]:
    try:
        return [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise InvalidInput(
            f"product_ids={raw!r} is not a comma-separated list of ids",
            hint="for example product_ids=12,15,40",
        ) from None


@router.get(
    "/products",
    response_model=PageOut[ProductOut],
    summary="The product catalog (active products unless include_inactive=true)",
    responses=CSV_RESPONSES,
)
@exports_from_replica
def list_products(
    session: SessionDep,
    principal: PrincipalDep,
    q: Text | None = Query(None, max_length=100, description="matches code or name"),
    include_inactive: bool = False,
    format: ListFormat = ListFormat.json,
    limit: int = Query(50, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=INT64_MAX),
):
    stmt = catalog_service.products_query(
        principal=principal, q=q, include_inactive=include_inactive
    )
    if format is ListFormat.csv:
        return csv_export(ProductOut, each_batch(session, stmt), "products.csv", ProductOut.of)
    return PageOut.of(paginate(session, stmt, limit=limit, offset=offset), ProductOut.of)


@router.get("/products/{product_id}", response_model=ProductOut)
def get_product(session: SessionDep, principal: PrincipalDep, product_id: Id):
    return ProductOut.of(
        catalog_service.get_product(session, principal=principal, product_id=product_id)
    )


@router.get(
    "/customers/{customer_id}/prices",
    response_model=CustomerPricesOut,
    summary="What this customer pays: its own price if any, else the list price",
    description="`product_ids=1,2,3` for given products (up to 500); without it, "
    "the active catalog page by page. `format=csv`: every price (the given products, or "
    "the whole active catalog) as a file.",
    responses=CSV_RESPONSES,
)
@exports_from_replica
def customer_prices(
    session: SessionDep,
    principal: PrincipalDep,
    customer_id: Id,
    product_ids: Text | None = Query(None, examples=["12,15,40"]),
    format: ListFormat = ListFormat.json,
    limit: int = Query(50, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=INT64_MAX),
):
    ids = _ids(product_ids) if product_ids is not None else None
    currency = company_service.get_company_settings(session).currency

    def convert(pair) -> PriceOut:
        return PriceOut.of(pair[0], pair[1], currency)

    if format is ListFormat.csv:
        batches = catalog_service.customer_price_batches(
            session, principal=principal, customer_id=customer_id, product_ids=ids
        )
        return csv_export(PriceOut, batches, f"prices-customer-{customer_id}.csv", convert)
    page = catalog_service.customer_prices(
        session,
        principal=principal,
        customer_id=customer_id,
        product_ids=ids,
        limit=limit,
        offset=offset,
    )
    return CustomerPricesOut.of(page, convert, customer_id=customer_id)
