"""The customer events (sfa/events/types.py), written in the transaction of the change.

`customer.location_changed` is emitted only when the point really moves (or appears, or
is cleared): coordinates are compared to 1e-7 degrees (about a centimetre), so a
location sent again unchanged is no event. Its natural key, where it has one, makes a
repeat write nothing: a proposal is approved once, a visit captures a location once.
"""

from sqlalchemy.orm import Session

from sfa import geo
from sfa.customers.models import Customer
from sfa.events.service import Actor, emit
from sfa.events.types import (
    CUSTOMER_CREATED,
    CUSTOMER_LOCATION_CHANGED,
    CustomerCreated,
    LocationChanged,
)

LatLon = tuple[float, float] | None
_DIGITS = 7


def created(session: Session, customer: Customer, actor: Actor, *, source: str) -> None:
    """A new customer (flushed: it has its id); `source` is "app" or "erp"."""
    emit(
        session,
        CUSTOMER_CREATED,
        subject_kind="customer",
        subject_id=customer.id,
        actor=actor,
        event_id=customer.id,
        payload=CustomerCreated(
            customer_id=customer.id,
            code=customer.code,
            name=customer.name,
            team_id=customer.team_id,
            distributor_id=customer.distributor_id,
            source=source,
        ),
    )


def _same(a: LatLon, b: LatLon) -> bool:
    if a is None or b is None:
        return a is b
    return all(round(x, _DIGITS) == round(y, _DIGITS) for x, y in zip(a, b, strict=True))


def location_changed(
    session: Session,
    customer_id: int,
    *,
    old: LatLon,
    new: LatLon,
    actor: Actor,
    proposal_id: int | None = None,
    visit_id: int | None = None,
) -> bool:
    """Emit the move from `old` to `new` (lat, lon) if it is one; whether it was."""
    if _same(old, new):
        return False
    if proposal_id is not None:
        key: str | None = f"proposal:{proposal_id}"
    elif visit_id is not None:
        key = f"visit:{visit_id}"
    else:
        key = None  # an edit: sent again, it no longer changes anything
    moved = (
        round(geo.distance_m(lat1=old[0], lon1=old[1], lat2=new[0], lon2=new[1]), 1)
        if old is not None and new is not None
        else None
    )
    emit(
        session,
        CUSTOMER_LOCATION_CHANGED,
        subject_kind="customer",
        subject_id=customer_id,
        actor=actor,
        event_id=key,
        payload=LocationChanged(
            customer_id=customer_id,
            lat=new[0] if new else None,
            lon=new[1] if new else None,
            old_lat=old[0] if old else None,
            old_lon=old[1] if old else None,
            moved_m=moved,
            proposal_id=proposal_id,
            visit_id=visit_id,
        ),
    )
    return True
