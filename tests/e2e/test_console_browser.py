"""The console in a real headless Chromium against a real server (uvicorn on a free
loopback port) and committed data.

The server is another process, so it cannot see the suite's per-test transactions: the
data lives in a database of its own on the suite's cluster, made and migrated for this
module and dropped afterwards. Every request the browser makes is recorded: none may go
to another host. Screenshots of every page are kept in tests/artifacts/console/."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import httpx
import pytest
from playwright.sync_api import sync_playwright
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session
from workflow_samples import finance_task, make_workflow, run_about, task_then_approval

from browser import ARTIFACTS, RequestLog, Server, launch
from crm_factories import make_contract, make_opportunity, make_pipeline, make_survey, principal
from factories import PASSWORD, make_customer, make_user
from sfa import geo, migrate
from sfa.auth import service as auth_service
from sfa.auth import tokens
from sfa.catalog.models import Product
from sfa.company import service as company_service
from sfa.contracts import routing
from sfa.contracts import staff as contract_staff
from sfa.customers import locations
from sfa.orders import service as order_service
from sfa.orders.service import LineIn, NewOrder
from sfa.pipeline import moves
from sfa.surveys import service as survey_service
from sfa.tracking import service as tracking_service
from sfa.users.models import Role, Team
from sfa.visits import service as visit_service
from sfa.visits.service import CheckIn, Position

DATABASE = "sfa_console_browser"
SHOTS = ARTIFACTS / "console"
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 900}


@dataclass
class Seeded:
    rep_a1: int
    rep_b1: int
    team_a_visits: set[int]
    team_b_visits: set[int]
    mock_visit: int
    order_id: int
    manager_a: int
    crm: "Crm"
    team_a_runs: set[int]
    team_b_runs: set[int]


@dataclass
class Crm:
    team_a_deals: set[int]
    team_b_deals: set[int]
    stages: dict[str, int]  # name: id
    pipeline_id: int
    contract_id: int


def _seed_crm(session: Session, admin, manager_a, team_a, reps_a, rep_b, customer_a) -> Crm:
    """A pipeline with team A's deals in several stages and team B's; customer A's
    contract due for renewal and routed; a pulse survey answered by team A."""
    _, stages = make_pipeline(session, admin)
    owners = reps_a * 3
    a = [
        make_opportunity(session, rep, title=f"Deal A{i}", amount=Decimal(1_500_000 * (i + 1)))
        for i, rep in enumerate(owners)
    ]
    b = [make_opportunity(session, rep_b, title=f"Deal B{i}") for i in range(3)]
    for i, stage in enumerate(("Qualified", "Proposal", "Won", "Lost"), start=2):
        moves.move_opportunity(
            session,
            principal=principal(session, owners[i]),
            opportunity_id=a[i].id,
            stage_id=stages[stage].id,
            lost_reason="price" if stage == "Lost" else None,
        )
    today = datetime.now(company_service.get_company_settings(session).tz).date()
    contract = make_contract(
        session,
        admin,
        customer_a,
        120_000_000,
        title="Perjanjian pasokan A000",
        start_date=today - timedelta(days=340),
        end_date=today + timedelta(days=25),
    )
    contract_staff.add_staff(
        session, principal=principal(session, admin), user_id=admin.id, role="account_manager"
    )
    routing.route_renewal(session, principal=principal(session, admin), contract_id=contract.id)
    # Two answers are enough here, so that the page shows an eNPS.
    company_service.update_settings(session, actor="test", changes={"survey_min_group_size": 2})
    survey = make_survey(session, manager_a, team_a)
    for rep, score in zip(reps_a, (10, 6), strict=True):
        survey_service.answer(
            session, principal=principal(session, rep), survey_id=survey.id, answers={"enps": score}
        )
    return Crm(
        team_a_deals={d.id for d in a},
        team_b_deals={d.id for d in b},
        stages={name: stage.id for name, stage in stages.items()},
        pipeline_id=a[0].pipeline_id,
        contract_id=contract.id,
    )


def _seed_runs(session: Session, reps_a, rep_b) -> tuple[set[int], set[int]]:
    """Workflow runs about team A's reps (waiting, failed) and team B's rep (waiting)."""
    workflow = make_workflow(session, "browser-runs")
    team_a = [run_about(session, workflow, task_then_approval(rep.id), rep) for rep in reps_a]
    team_a.append(run_about(session, workflow, finance_task(), reps_a[0]))
    team_b = run_about(session, workflow, task_then_approval(rep_b.id), rep_b)
    return {r.id for r in team_a}, {team_b.id}


def _today_times(session: Session, count: int) -> list[datetime]:
    """`count` instants between today's company midnight (or two hours ago) and now."""
    tz = company_service.get_company_settings(session).tz
    now = datetime.now(UTC)
    midnight = datetime.combine(now.astimezone(tz).date(), time(), tzinfo=tz)
    start = max(midnight + timedelta(seconds=30), now - timedelta(hours=2))
    step = (now - start) / (count + 1)
    return [start + step * (i + 1) for i in range(count)]


def _visits(session, rep, customers, times, *, mock_first=False) -> list[int]:
    principal = auth_service.principal_for_user(session, rep)
    ids = []
    for i, (customer, at) in enumerate(zip(customers, times, strict=False)):
        lat, lon = geo.lat_lon(customer.location)
        visit, _ = visit_service.check_in(
            session,
            principal=principal,
            data=CheckIn(
                client_id=uuid.uuid4(),
                customer_id=customer.id,
                position=Position(
                    at=at, lat=lat + 0.0001, lon=lon, accuracy_m=8, mock=mock_first and i == 0
                ),
            ),
        )
        ids.append(visit.id)
    return ids


def _pings(session, rep, lat, lon, times) -> None:
    items = [
        (i, {"at": at, "lat": lat + 0.0004 * i, "lon": lon + 0.0003 * i, "accuracy_m": 10.0})
        for i, at in enumerate(times)
    ]
    tracking_service.store_rep_pings(session, rep_id=rep.id, items=items, batch_size=len(items))


def _seed(session: Session) -> Seeded:
    admin = make_user(session, "admin", Role.admin)
    manager_a = make_user(session, "manager.a", Role.manager)
    manager_b = make_user(session, "manager.b", Role.manager)
    team_a = Team(name="Team A", manager_id=manager_a.id)
    team_b = Team(name="Team B", manager_id=manager_b.id)
    session.add_all([team_a, team_b])
    session.flush()
    rep_a1 = make_user(session, "rep.a1", Role.rep, team_a)
    rep_a2 = make_user(session, "rep.a2", Role.rep, team_a)
    rep_b1 = make_user(session, "rep.b1", Role.rep, team_b)
    customers_a = [
        make_customer(session, f"A{i:03d}", team_a, -6.20 + 0.003 * i, 106.80 + 0.002 * i)
        for i in range(6)
    ]
    customers_b = [
        make_customer(session, f"B{i:03d}", team_b, -6.30 + 0.003 * i, 106.90) for i in range(2)
    ]
    times = _today_times(session, 3)
    a1 = _visits(session, rep_a1, customers_a[:3], times, mock_first=True)
    a2 = _visits(session, rep_a2, customers_a[3:], times)
    b1 = _visits(session, rep_b1, customers_b, times)
    _pings(session, rep_a1, -6.201, 106.801, _today_times(session, 20))
    _pings(session, rep_b1, -6.301, 106.901, _today_times(session, 20))
    product = Product(
        external_id="erp-browser",
        code="KB1",
        name="Kopi Bubuk 200 g",
        unit="pcs",
        list_price=Decimal("18500"),
        currency="IDR",
    )
    session.add(product)
    session.flush()
    order, _ = order_service.create_order(
        session,
        principal=auth_service.principal_for_user(session, rep_a1),
        data=NewOrder(
            client_id=uuid.uuid4(),
            customer_id=customers_a[0].id,
            lines=(LineIn(product.id, Decimal(12), Decimal(10)),),
        ),
    )
    locations.propose(
        session,
        principal=auth_service.principal_for_user(session, rep_a2),
        customer_id=customers_a[4].id,
        lat=-6.1875,
        lon=106.8095,
        accuracy_m=6,
        note="toko pindah ke seberang jalan",
        visit_id=None,
    )
    from sfa.anomalies import service as anomaly_service

    day = times[0].astimezone(company_service.get_company_settings(session).tz).date()
    anomaly_service.recompute(session, date_from=day, date_to=day)
    crm = _seed_crm(session, admin, manager_a, team_a, [rep_a1, rep_a2], rep_b1, customers_a[1])
    runs_a, runs_b = _seed_runs(session, [rep_a1, rep_a2], rep_b1)
    return Seeded(
        rep_a1=rep_a1.id,
        rep_b1=rep_b1.id,
        team_a_visits=set(a1 + a2),
        team_b_visits=set(b1),
        mock_visit=a1[0],
        order_id=order.id,
        manager_a=manager_a.id,
        crm=crm,
        team_a_runs=runs_a,
        team_b_runs=runs_b,
    )


@pytest.fixture(scope="module")
def console_db(pg_server, database_url):
    admin = create_engine(f"{pg_server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {DATABASE}"))
    url = f"{pg_server}/{DATABASE}"
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        migrate.upgrade(url)
        with Session(engine) as session:
            seeded = _seed(session)
            session.commit()
        yield url, seeded
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture(scope="module")
def server(console_db):
    url, _ = console_db
    with Server(url) as running:
        yield running


@pytest.fixture(scope="module")
def chromium():
    with sync_playwright() as p:
        browser = launch(p)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def context(chromium, server):
    ctx = chromium.new_context(viewport=LAPTOP, base_url=server.url, locale="id-ID")
    log = RequestLog(ctx)
    try:
        yield ctx
    finally:
        ctx.close()
        assert log.urls, "the browser made no request at all"
        assert not log.foreign(server.url), log.foreign(server.url)


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def log_in(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/console/login")
    page.get_by_label("Nama pengguna").fill(username)
    page.get_by_label("Kata sandi").fill(password)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_load_state()


def wait_for_map(page, name: str) -> None:
    page.wait_for_function(f"document.documentElement.dataset.mapReady === '{name}'")


def unlabelled_fields(page) -> list[str]:
    """Visible form fields without a <label> or an aria-label."""
    return page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')]
          .filter(e => e.type !== 'hidden')
          .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
          .map(e => e.name || e.id || e.outerHTML)"""
    )


def test_manager_today_map_shows_exactly_their_teams_visits(context, console_db):
    _, seeded = console_db
    page = context.new_page()
    log_in(page, "manager.a")
    assert page.url.endswith("/console/today")
    wait_for_map(page, "today")
    ids = {
        int(i)
        for i in page.eval_on_selector_all(
            ".leaflet-marker-icon.visit-marker", "els => els.map(e => e.dataset.visitId)"
        )
    }
    assert ids == seeded.team_a_visits
    assert not ids & seeded.team_b_visits
    reps = page.eval_on_selector_all(".rep-marker", "els => els.map(e => e.textContent)")
    assert reps == ["rep.a1"]  # only rep A1 has pings today; rep B1's are another team's
    assert page.locator("#today-panel tr[data-rep-id]").count() == 2
    assert "rep.b1" not in page.content()
    # Flags on hover: the mock check-in's reason.
    page.hover(f'.visit-marker[data-visit-id="{seeded.mock_visit}"]')
    assert page.locator(".leaflet-tooltip").first.is_visible()
    shot(page, "today")


def test_open_a_suspicious_visit_and_read_its_reason(context, console_db):
    _, seeded = console_db
    page = context.new_page()
    log_in(page, "manager.a")
    page.goto("/console/suspicious")
    row = page.locator(f'tr[data-visit-id="{seeded.mock_visit}"]')
    reason = row.locator('[data-flag="mock_location"]').inner_text()
    assert "palsu" in reason.lower() or "mock" in reason.lower(), reason
    shot(page, "suspicious")
    row.get_by_role("link").click()
    wait_for_map(page, "rep-day")
    assert f"/console/reps/{seeded.rep_a1}/days/" in page.url
    selected = page.locator(f'.visit-marker.selected[data-visit-id="{seeded.mock_visit}"]')
    assert selected.count() == 1
    assert reason in page.locator(f"#visit-{seeded.mock_visit}").inner_text()
    assert page.locator(".leaflet-overlay-pane path").count() >= 1  # the track
    # Replay: the slider moves the rep's marker through the day, minute by minute.
    clock = page.locator("#replay-clock")
    first = clock.inner_text()
    page.locator("#replay-time").fill("5")
    assert clock.inner_text() != first
    assert page.locator(".rep-marker.replay").inner_text() == clock.inner_text()
    shot(page, "rep-day")


def test_approve_a_discount_and_see_it_approved_through_the_api(context, console_db, server):
    _, seeded = console_db
    page = context.new_page()
    log_in(page, "manager.a")
    page.goto("/console/approvals")
    wait_for_map(page, "approvals")
    shot(page, "approvals")
    card = page.locator(f"#order-{seeded.order_id}")
    assert "Kopi Bubuk 200 g" in card.inner_text()
    card.get_by_label("Komentar").fill("oke, pelanggan lama")
    card.get_by_role("button", name="Setujui").click()
    page.locator(f'#order-{seeded.order_id}[data-state="approved"]').wait_for()
    token = tokens.issue(seeded.manager_a, "access")
    order = httpx.get(
        f"{server.url}/v1/orders/{seeded.order_id}",
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert order["state"] == "approved"
    assert order["approvals"][0]["note"] == "oke, pelanggan lama"


def test_a_form_post_without_the_csrf_token_is_refused(context):
    page = context.new_page()
    log_in(page, "manager.a")
    page.goto("/console/approvals")
    status = page.evaluate(
        """url => fetch(url, {method: 'POST', body: new URLSearchParams({note: 'x'})})
                 .then(r => r.status)""",
        "/console/approvals/customers/0/locations/0/reject",
    )
    assert status == 403
    # A whole form posted by the browser without the token: refused, nothing decided.
    with page.expect_navigation() as navigation:
        page.evaluate(
            """() => { const f = document.createElement('form');
                       f.method = 'post'; f.action = '/console/logout';
                       document.body.appendChild(f); f.submit(); }"""
        )
    assert navigation.value.status == 403
    assert "token keamanan" in page.locator(".error").inner_text()
    page.goto("/console/today")
    assert page.url.endswith("/console/today")  # still logged in


def test_a_rep_cannot_open_the_console(context):
    page = context.new_page()
    log_in(page, "rep.a1")
    assert "/console/login" in page.url
    assert "aplikasi seluler" in page.locator(".error").inner_text()
    page.goto("/console/today")
    assert "/console/login" in page.url
    shot(page, "rep-refused")


def test_every_page_is_labelled_keyboard_reachable_and_screenshotted(context, console_db):
    page = context.new_page()
    log_in(page, "admin")
    links = page.eval_on_selector_all("header nav a", "els => els.map(e => e.getAttribute('href'))")
    assert len(links) >= 7
    for href in links:
        page.goto(href)
        assert page.locator("h1").count() == 1
        assert not unlabelled_fields(page), (href, unlabelled_fields(page))
        shot(page, href.strip("/").replace("/", "-"))
    # Keyboard: from the top of the page, Tab reaches the navigation and the filter form.
    page.goto("/console/suspicious")
    reached = set()
    for _ in range(40):
        page.keyboard.press("Tab")
        reached.add(
            page.evaluate(
                "(e => e.name ? 'field:' + e.name : e.textContent.trim())(document.activeElement)"
            )
        )
    assert {"Kunjungan mencurigakan", "field:team_id", "field:code", "Tampilkan"} <= reached, (
        reached
    )


def test_phone_width(context, console_db):
    page = context.new_page()
    log_in(page, "manager.a")
    page.set_viewport_size(PHONE)
    for path, ready in (("/console/today", "today"), ("/console/approvals", "approvals")):
        page.goto(path)
        wait_for_map(page, ready)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, (path, overflow)
        box = page.locator(".map, .mini-map").first.bounding_box()
        assert box["width"] <= PHONE["width"] and box["height"] > 150
        shot(page, "phone" + path.replace("/", "-"))


def test_logout(context):
    page = context.new_page()
    log_in(page, "manager.a")
    page.get_by_role("button", name="Keluar").click()
    page.wait_for_load_state()
    assert "/console/login" in page.url
    page.goto("/console/today")
    assert "/console/login" in page.url


def _api(server, user_id: int, path: str, **params):
    token = tokens.issue(user_id, "access")
    response = httpx.get(
        f"{server.url}{path}", params=params, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    return response.json()


def _column(page, stage_id: int):
    return page.locator(f'.column[data-stage-id="{stage_id}"]')


def test_pipeline_board_shows_the_teams_deals_and_moves_them(context, console_db, server):
    _, seeded = console_db
    crm = seeded.crm
    page = context.new_page()
    log_in(page, "manager.a")
    page.goto("/console/pipeline")
    cards = page.eval_on_selector_all(".deal", "els => els.map(e => e.dataset.opportunityId)")
    assert {int(i) for i in cards} == crm.team_a_deals
    assert len(cards) == len(crm.team_a_deals)  # each deal once
    prospect = _column(page, crm.stages["Prospect"])
    before = prospect.locator(".deal").count()
    assert prospect.locator("[data-count]").inner_text() == str(before)
    shot(page, "pipeline")
    # Drag a card from Prospect onto Negotiation: the board comes back with it moved.
    card = prospect.locator(".deal").first
    dragged = int(card.get_attribute("data-opportunity-id"))
    card.drag_to(_column(page, crm.stages["Negotiation"]))
    page.locator("#board-notice").wait_for()
    assert _column(page, crm.stages["Negotiation"]).locator(f"#deal-{dragged}").count() == 1
    assert prospect.locator(".deal").count() == before - 1
    assert prospect.locator("[data-count]").inner_text() == str(before - 1)
    deal = _api(server, seeded.manager_a, f"/v1/opportunities/{dragged}")
    assert deal["stage_id"] == crm.stages["Negotiation"]
    # The keyboard way: the card's own form. Lost without a reason is refused, and the
    # move service's message shows; with a reason it moves.
    other = prospect.locator(".deal").first
    other_id = int(other.get_attribute("data-opportunity-id"))
    other.locator("summary").focus()
    page.keyboard.press("Enter")
    other.get_by_label("Pindahkan ke tahap").select_option(label="Lost")
    other.get_by_role("button", name="Pindahkan deal").click()
    page.locator("#flash").wait_for()
    assert "lost_reason" in page.locator("#flash").inner_text()
    assert (
        _api(server, seeded.manager_a, f"/v1/opportunities/{other_id}")["stage_id"]
        == (crm.stages["Prospect"])
    )
    other.get_by_label("Alasan kalah (untuk tahap kalah)").fill("harga")
    other.get_by_role("button", name="Pindahkan deal").click()
    _column(page, crm.stages["Lost"]).locator(f"#deal-{other_id}").wait_for()
    assert not page.locator("#flash").is_visible()
    deal = _api(server, seeded.manager_a, f"/v1/opportunities/{other_id}")
    assert (deal["stage_id"], deal["lost_reason"]) == (crm.stages["Lost"], "harga")
    history = _api(server, seeded.manager_a, f"/v1/opportunities/{other_id}/history")
    assert [h["stage_id"] for h in history] == [crm.stages["Prospect"], crm.stages["Lost"]]
    shot(page, "pipeline-moved")
    page.set_viewport_size(PHONE)
    page.goto("/console/pipeline")
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
    shot(page, "phone-console-pipeline")


def test_pipeline_metrics_renewals_and_pulse(context, console_db, server):
    _, seeded = console_db
    crm = seeded.crm
    page = context.new_page()
    log_in(page, "manager.a")
    page.goto(f"/console/pipeline/metrics?pipeline_id={crm.pipeline_id}")
    period = {
        name: page.get_by_label(label).input_value()
        for name, label in (("date_from", "Dari"), ("date_to", "Sampai"))
    }
    report = _api(
        server, seeded.manager_a, "/v1/reports/pipeline", pipeline_id=crm.pipeline_id, **period
    )
    (group,) = report["items"]
    for metric in ("cohort_deals", "won", "lost", "open_deals"):
        shown = page.locator(f'.metrics-grid [data-metric="{metric}"]').inner_text()
        assert shown == str(group["summary"][metric]), metric
    assert group["summary"]["cohort_deals"] == len(crm.team_a_deals)  # team B's not counted
    shot(page, "pipeline-metrics")
    page.goto("/console/renewals")
    card = page.locator(f"#contract-{crm.contract_id}")
    contract = _api(server, seeded.manager_a, f"/v1/contracts/{crm.contract_id}", lang="id")
    assert contract["renewal"]["summary"] in card.locator(".summary").inner_text()
    card.get_by_role("button", name="Rutekan ulang").click()
    page.locator(f"#contract-{crm.contract_id} .notice").wait_for()
    decisions = _api(server, seeded.manager_a, f"/v1/contracts/{crm.contract_id}/decisions")
    assert len(decisions) == 2  # the seed's and this one
    shot(page, "renewals")
    page.goto("/console/pulse")
    # One promoter (10) and one detractor (6) of two answers: 50 % - 50 %.
    assert page.locator("#enps [data-enps]").first.get_attribute("data-enps") == "0.0"
    shot(page, "pulse")


def test_workflow_runs_page_has_exactly_the_teams_runs(context, console_db, server):
    _, seeded = console_db
    page = context.new_page()
    log_in(page, "manager.a")
    page.goto("/console/workflow-runs")
    rows = page.eval_on_selector_all("#runs tr[data-run-id]", "rs => rs.map(r => r.dataset.runId)")
    shown = {int(i) for i in rows}
    listed = _api(server, seeded.manager_a, "/v1/workflow-runs", limit=1000)
    assert len(rows) == len(shown) == listed["total"]  # each run once, as many as the API's
    assert shown == {r["id"] for r in listed["items"]}
    assert seeded.team_a_runs <= shown and not shown & seeded.team_b_runs
    assert page.locator('#runs tr[data-status="failed"]').count() == 1
    shot(page, "workflow-runs")
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
    shot(page, "phone-console-workflow-runs")
