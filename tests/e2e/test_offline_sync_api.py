"""GET /v1/me/sync against a real server and committed data (docs/sync.md).

The sync reads the change log only below the oldest running transaction, so its changes
must really commit: the server is a uvicorn process on a database of its own, and each
test makes its own teams, reps and customers there (the tests never see each other's)."""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import create_engine, update
from sqlalchemy.orm import Session

from browser import Server
from factories import auth_header, make_customer, make_user
from own_database import own_database
from sfa.catalog.models import CustomerPrice, Product
from sfa.company import service as company_service
from sfa.customers.models import Customer
from sfa.notifications import outbox
from sfa.notifications.models import Channel, Notification, NotificationState, Target
from sfa.plans.models import PlannedVisit
from sfa.users.models import Role, Team, User

DATABASE = "sfa_offline_sync"


@pytest.fixture(scope="module")
def sync_db(pg_server, database_url):
    with own_database(pg_server, DATABASE) as url:
        engine = create_engine(url)
        try:
            yield url, engine
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def server(sync_db):
    with Server(sync_db[0]) as running:
        yield running


@dataclass
class Seeded:
    rep_a: User
    rep_b: User
    team_a: Team
    team_b: Team
    customers_a: list[int]
    customer_b: int
    products: list[int]
    inactive_product: int
    planned_a: int
    past_planned_a: int
    planned_b: int
    notification_a: int
    target_a: int


def _tomorrow(session: Session) -> date:
    settings = company_service.get_company_settings(session)
    return datetime.now(UTC).astimezone(settings.tz).date() + timedelta(days=1)


def _product(session: Session, tag: str, n: int, active: bool = True) -> Product:
    product = Product(
        external_id=f"{tag}-p{n}",
        code=f"{tag}-P{n}",
        name=f"Produk {n}",
        unit="pcs",
        list_price=Decimal(1000 * (n + 1)),
        currency="IDR",
        active=active,
    )
    session.add(product)
    return product


def _notify(session: Session, user: User, tag: str) -> Notification:
    row = outbox.enqueue(
        session,
        settings=company_service.get_company_settings(session),
        rule="order_placed",
        channel=Channel.in_app,
        template="order_placed_rep",
        dedupe_key=f"sync-test:{tag}:{user.id}",
        language="en",
        payload={"order_ref": "#1", "customer_name": "x", "distributor_name": "y"},
        due_at=datetime.now(UTC),
        recipient_user_id=user.id,
    )
    assert row is not None
    row.state, row.sent_at = NotificationState.sent, datetime.now(UTC)
    return row


def _seed(engine) -> Seeded:
    tag = uuid.uuid4().hex[:8]
    with Session(engine, expire_on_commit=False) as session:
        manager = make_user(session, f"mgr.{tag}", Role.manager)
        team_a, team_b = Team(name=f"A {tag}", manager_id=manager.id), Team(name=f"B {tag}")
        session.add_all([team_a, team_b])
        session.flush()
        rep_a = make_user(session, f"rep.a.{tag}", Role.rep, team_a)
        rep_b = make_user(session, f"rep.b.{tag}", Role.rep, team_b)
        customers_a = [
            make_customer(session, f"{tag}A{i}", team_a, -6.2 + i / 1000, 106.8) for i in range(3)
        ]
        customer_b = make_customer(session, f"{tag}B0", team_b, -6.3, 106.9)
        products = [_product(session, tag, n) for n in range(3)]
        inactive = _product(session, tag, 9, active=False)
        session.flush()
        session.add_all(
            [
                CustomerPrice(customer_id=customers_a[0].id, product_id=products[0].id, price=900),
                CustomerPrice(customer_id=customer_b.id, product_id=products[0].id, price=800),
            ]
        )
        tomorrow = _tomorrow(session)
        planned = [
            PlannedVisit(rep_id=rep_a.id, customer_id=customers_a[0].id, day=tomorrow),
            PlannedVisit(
                rep_id=rep_a.id, customer_id=customers_a[1].id, day=tomorrow - timedelta(days=3)
            ),
            PlannedVisit(rep_id=rep_b.id, customer_id=customer_b.id, day=tomorrow),
        ]
        for row in planned:
            row.source = "adhoc"
        session.add_all(planned)
        note = _notify(session, rep_a, tag)
        _notify(session, rep_b, tag)
        target = Target(
            rep_id=rep_a.id,
            period_start=tomorrow - timedelta(days=1),
            period_end=tomorrow + timedelta(days=30),
            visits_target=20,
            sales_target=Decimal(1_000_000),
        )
        session.add(target)
        session.commit()
        return Seeded(
            rep_a=rep_a,
            rep_b=rep_b,
            team_a=team_a,
            team_b=team_b,
            customers_a=[c.id for c in customers_a],
            customer_b=customer_b.id,
            products=[p.id for p in products],
            inactive_product=inactive.id,
            planned_a=planned[0].id,
            past_planned_a=planned[1].id,
            planned_b=planned[2].id,
            notification_a=note.id,
            target_a=target.id,
        )


@pytest.fixture
def seeded(sync_db) -> Seeded:
    return _seed(sync_db[1])


def _sync(server, user, cursor=None, **params) -> httpx.Response:
    if cursor is not None:
        params["cursor"] = cursor
    return httpx.get(
        f"{server.url}/v1/me/sync", params=params, headers=auth_header(user), timeout=30
    )


def _ok(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


def _ids(items) -> set[int]:
    return {item["id"] for item in items}


def _ours(body: dict, seeded: Seeded) -> dict:
    """The answer narrowed to this test's products (the catalog is company-wide, and
    other tests of the module add products of their own)."""
    mine = set(seeded.products) | {seeded.inactive_product}
    return {
        "products": {p["id"] for p in body["products"] if p["id"] in mine},
        "deleted_products": set(body["deleted"]["products"]) & mine,
    }


def _commit(engine, *statements) -> None:
    with Session(engine) as session:
        for statement in statements:
            session.execute(statement)
        session.commit()


def test_full_set_then_only_what_changed(server, sync_db, seeded):
    engine = sync_db[1]
    full = _ok(_sync(server, seeded.rep_a))
    assert full["reset"] is True and full["has_more"] is False
    assert _ids(full["customers"]) == set(seeded.customers_a)
    assert _ours(full, seeded)["products"] == set(seeded.products)
    assert [(p["customer_id"], p["price"]) for p in full["prices"]] == [
        (seeded.customers_a[0], "900.00")
    ]
    assert _ids(full["planned_visits"]) == {seeded.planned_a}
    assert _ids(full["notifications"]) == {seeded.notification_a}
    assert [t["target"]["id"] for t in full["targets"]] == [seeded.target_a]
    assert full["settings"]["verify_radius_m"] == 300
    assert {c["radius_m"] for c in full["customers"]} == {300}
    location = full["customers"][0]["location"]
    assert location is not None and -6.3 < location["lat"] < -6.1

    # Nothing changed: nothing is sent again.
    quiet = _ok(_sync(server, seeded.rep_a, full["cursor"]))
    assert quiet["reset"] is False
    assert not quiet["customers"] and not _ours(quiet, seeded)["products"]
    assert not quiet["planned_visits"] and not any(quiet["deleted"].values())

    tomorrow = date.fromisoformat(full["planned_visits"][0]["day"])
    moved = seeded.customers_a[2]
    _commit(
        engine,
        update(Product).where(Product.id == seeded.products[1]).values(list_price=5555),
        update(CustomerPrice)
        .where(CustomerPrice.customer_id == seeded.customers_a[0])
        .values(price=950),
        update(Customer).where(Customer.id == moved).values(team_id=seeded.team_b.id),
        update(Customer).where(Customer.id == seeded.customer_b).values(name="Renamed B"),
        update(Notification)
        .where(Notification.id == seeded.notification_a)
        .values(read_at=datetime.now(UTC)),
    )
    with Session(engine) as session:
        new_plan = PlannedVisit(
            rep_id=seeded.rep_a.id,
            customer_id=seeded.customers_a[1],
            day=tomorrow + timedelta(days=1),
            source="adhoc",
        )
        session.add(new_plan)
        session.commit()
        new_plan_id = new_plan.id

    delta = _ok(_sync(server, seeded.rep_a, quiet["cursor"]))
    assert delta["reset"] is False
    mine = _ours(delta, seeded)
    assert mine["products"] == {seeded.products[1]}
    assert [p["list_price"] for p in delta["products"] if p["id"] == seeded.products[1]] == [
        "5555.00"
    ]
    assert [(p["customer_id"], p["price"]) for p in delta["prices"]] == [
        (seeded.customers_a[0], "950.00")
    ]
    assert _ids(delta["planned_visits"]) == {new_plan_id}
    assert delta["customers"] == []  # team B's rename is not ours
    assert delta["deleted"]["customers"] == [moved]
    assert delta["deleted"]["notifications"] == [seeded.notification_a]
    assert delta["notifications"] == []

    # The moved customer arrives at team B's rep; team A's never reach them.
    rep_b = _ok(_sync(server, seeded.rep_b))
    assert _ids(rep_b["customers"]) == {seeded.customer_b, moved}
    assert _ids(rep_b["planned_visits"]) == {seeded.planned_b}
    assert not set(seeded.customers_a[:2]) & _ids(rep_b["customers"])


def test_another_teams_changes_never_reach_a_rep(server, sync_db, seeded):
    engine = sync_db[1]
    start = _ok(_sync(server, seeded.rep_a))
    with Session(engine) as session:
        session.add(
            PlannedVisit(
                rep_id=seeded.rep_b.id,
                customer_id=seeded.customer_b,
                day=_tomorrow(session) + timedelta(days=2),
                source="adhoc",
            )
        )
        session.execute(
            update(CustomerPrice)
            .where(CustomerPrice.customer_id == seeded.customer_b)
            .values(price=1)
        )
        _notify(session, seeded.rep_b, "later")
        session.commit()
    delta = _ok(_sync(server, seeded.rep_a, start["cursor"]))
    sent = delta["customers"] + delta["prices"] + delta["planned_visits"] + delta["notifications"]
    assert sent == [] and not any(delta["deleted"].values()), delta


def test_pages_add_up_to_the_full_set(server, seeded):
    whole = _ok(_sync(server, seeded.rep_a))
    pages, cursor = [], None
    while True:
        page = _ok(_sync(server, seeded.rep_a, cursor, limit=2))
        pages.append(page)
        cursor = page["cursor"]
        if not page["has_more"]:
            break
    assert len(pages) > 3
    assert pages[0]["reset"] is True and not any(p["reset"] for p in pages[1:])
    for section in ("customers", "products", "prices", "planned_visits", "notifications"):
        paged = [item for page in pages for item in page[section]]
        assert [_key(i) for i in paged] == [_key(i) for i in whole[section]], section
    assert all(
        len(p["customers"] + p["products"] + p["prices"] + p["planned_visits"]) <= 2 for p in pages
    )
    # The last page's cursor follows the change log.
    follow = _ok(_sync(server, seeded.rep_a, cursor))
    assert follow["reset"] is False and not follow["customers"]


def _key(item: dict):
    return item.get("id") or (item["customer_id"], item["product_id"])


def test_a_change_committed_late_is_not_skipped(server, sync_db, seeded):
    """Log positions are taken when written, commits come in any order: the sync holds
    back what is above the oldest running transaction until it finishes."""
    engine = sync_db[1]
    start = _ok(_sync(server, seeded.rep_a))
    early = Session(engine)
    try:
        # A transaction that starts first and writes first (a lower xid)…
        early.execute(
            update(Customer).where(Customer.id == seeded.customers_a[0]).values(name="Early")
        )
        early.flush()
        # …while a later one commits before it.
        _commit(
            engine,
            update(Customer).where(Customer.id == seeded.customers_a[1]).values(name="Late"),
        )
        held = _ok(_sync(server, seeded.rep_a, start["cursor"]))
        assert held["customers"] == []
        early.commit()
    finally:
        early.close()
    after = _ok(_sync(server, seeded.rep_a, held["cursor"]))
    assert {c["name"] for c in after["customers"]} == {"Early", "Late"}


def test_a_rep_moved_to_another_team_starts_over(server, sync_db, seeded):
    start = _ok(_sync(server, seeded.rep_a))
    _commit(
        sync_db[1],
        update(User).where(User.id == seeded.rep_a.id).values(team_id=seeded.team_b.id),
    )
    again = _ok(_sync(server, seeded.rep_a, start["cursor"]))
    assert again["reset"] is True
    assert _ids(again["customers"]) == {seeded.customer_b}


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        "s1.!!!",
        "s1.WzEsMl0",  # [1,2]
        "s1.WyJjaGFuZ2VzIiwtMSwwLDAsW10sW10sMF0",  # a negative position
    ],
)
def test_a_bad_cursor_is_a_400(server, seeded, cursor):
    response = _sync(server, seeded.rep_a, cursor)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "bad_request"


def test_only_a_rep_syncs(server, sync_db, seeded):
    with Session(sync_db[1], expire_on_commit=False) as session:
        manager = session.get_one(User, seeded.team_a.manager_id)
    response = _sync(server, manager)
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "forbidden"
