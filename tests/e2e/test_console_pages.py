"""The console (api/console) in-process: sessions, CSRF, roles, visibility and every page
rendering, over HTTPS as the browser sees it (the session cookie is Secure)."""

import re
import uuid
from datetime import UTC, date
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from api.console import i18n
from api.console.nav import entries
from console_client import csrf_of, log_in
from factories import PASSWORD
from sfa.auth import service as auth_service
from sfa.auth.models import ConsoleSession
from sfa.catalog.models import Product
from sfa.contracts import cure
from sfa.contracts.models import ContractStatus
from sfa.contracts.roles import RenewalRole
from sfa.orders import service as order_service
from sfa.orders.models import Order, OrderState
from sfa.orders.service import LineIn, NewOrder
from sfa.workflows.models import VersionState
from sfa.workflows.runtime_models import RunStatus, StepStatus, TaskStatus

TEMPLATES = Path(__file__).resolve().parents[2] / "api" / "console" / "templates"


@pytest.fixture
def discount_order(db, world):
    """Rep A's order with a 10 % discount, waiting for manager A."""
    product = Product(
        external_id="erp-console",
        code="KC1",
        name="Kopi Console",
        unit="pcs",
        list_price=Decimal("20000"),
        currency="IDR",
    )
    db.add(product)
    db.flush()
    rep = auth_service.principal_for_user(db, world.rep_a)
    order, _ = order_service.create_order(
        db,
        principal=rep,
        data=NewOrder(
            client_id=uuid.uuid4(),
            customer_id=world.customer_a.id,
            lines=(LineIn(product.id, Decimal(2), Decimal(10)),),
        ),
    )
    db.commit()
    return order


def test_login_sets_a_secure_httponly_lax_session_cookie(browser, world):
    response = log_in(browser, "manager.a", next="/console/suspicious")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/suspicious"
    cookie = next(
        h
        for k, h in response.headers.multi_items()
        if k == "set-cookie" and h.startswith("sfa_console=")
    )
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "secure", "samesite=lax", "path=/console"} <= flags


def test_a_wrong_password_is_refused_and_counted(browser, world, db):
    response = log_in(browser, "manager.a", password="wrong-password")
    assert response.status_code == 401
    assert (
        "Nama pengguna atau kata sandi salah" in response.text or "Wrong username" in response.text
    )
    assert db.query(ConsoleSession).count() == 0


def test_a_rep_has_no_console(browser, world, db):
    response = log_in(browser, "rep.a")
    assert response.status_code == 403
    assert "sfa_console=" not in response.headers.get("set-cookie", "")
    assert db.query(ConsoleSession).count() == 0
    assert browser.get("/console/today", follow_redirects=False).status_code == 303


def test_the_login_form_needs_its_token(browser, world):
    browser.get("/console/login")
    response = browser.post(
        "/console/login",
        data={"username": "manager.a", "password": PASSWORD},
        follow_redirects=False,
    )
    assert response.status_code == 403


def test_next_never_leaves_the_console(browser, world):
    response = log_in(browser, "manager.a", next="https://evil.example/")
    assert response.headers["location"] == "/console/today"


def test_anonymous_pages_redirect_to_login(browser, world):
    for entry in entries():
        response = browser.get(entry.path, follow_redirects=False)
        assert response.status_code == 303, entry.path
        assert response.headers["location"].startswith("/console/login?next=")
    htmx = browser.get("/console/today/panel", headers={"HX-Request": "true"})
    assert htmx.status_code == 204 and htmx.headers["hx-redirect"].startswith("/console/login")


@pytest.mark.parametrize("who", ["manager.a", "admin"])
def test_every_page_renders(browser, world, discount_order, who):
    assert log_in(browser, who).status_code == 303
    for entry in entries():
        response = browser.get(entry.path)
        assert response.status_code == 200, (entry.path, response.text[:2000])
        assert "<h1>" in response.text
    day = date.today().isoformat()
    page = browser.get(f"/console/reps/{world.rep_a.id}/days/{day}")
    assert page.status_code == 200 and "Rep.A" in page.text
    track = browser.get(f"/console/reps/{world.rep_a.id}/days/{day}/track?zoom=16")
    assert track.json()["geometry"]["type"] == "MultiLineString"
    for name in ("suspicious", "anomalies", "plan-compliance", "team-days"):
        csv = browser.get(f"/console/{name}.csv")
        assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")


def test_zooming_in_draws_the_stored_track_again(browser, world, monkeypatch):
    from sfa.tracking import days, repository

    log_in(browser, "manager.a")
    day = date.today().isoformat()
    assert browser.get(f"/console/reps/{world.rep_a.id}/days/{day}").status_code == 200
    calls = []
    for module, name in ((days, "analyse_track"), (repository, "pings_between")):
        monkeypatch.setattr(module, name, lambda *a, name=name, **k: calls.append(name))
    for zoom in (16, 17, 18):
        track = browser.get(f"/console/reps/{world.rep_a.id}/days/{day}/track?zoom={zoom}")
        assert track.json()["properties"]["zoom"] == zoom
    assert calls == []  # the stored day did not change: its kept track was drawn again
    assert browser.get(f"/console/reps/{world.rep_b.id}/days/{day}/track").status_code == 404


def test_a_bad_address_is_an_error_page_not_json(browser, world):
    log_in(browser, "manager.a")
    response = browser.get(f"/console/reps/{world.rep_a.id}/days/not-a-day")
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "day" in response.text
    assert browser.get("/console/suspicious?date_from=31-12-2026").status_code == 422


def test_a_manager_sees_only_their_teams(browser, world, discount_order):
    log_in(browser, "manager.a")
    today = browser.get("/console/today")
    assert "Rep.A" in today.text and "Rep.B" not in today.text
    assert 'id="today-empty"' in today.text  # nobody has been out yet today
    day = date.today().isoformat()
    foreign = browser.get(f"/console/reps/{world.rep_b.id}/days/{day}")
    assert foreign.status_code == 404
    assert browser.get(f"/console/today?team_id={world.team_b.id}").status_code == 404
    assert browser.get(f"/console/suspicious?team_id={world.team_b.id}").status_code == 404
    approvals = browser.get("/console/approvals")
    assert f'id="order-{discount_order.id}"' in approvals.text
    # Manager B has nothing to decide of team A's.
    other = TestClient(browser.app, base_url="https://testserver")
    log_in(other, "manager.b")
    page = other.get("/console/approvals")
    refused = other.post(
        f"/console/approvals/orders/{discount_order.id}/approve",
        headers={"X-CSRF-Token": csrf_of(page.text)},
    )
    assert refused.status_code == 404
    assert f'id="order-{discount_order.id}"' not in page.text


def test_posts_without_the_csrf_token_or_from_another_site_are_refused(
    browser, world, discount_order, db
):
    log_in(browser, "manager.a")
    page = browser.get("/console/approvals")
    url = f"/console/approvals/orders/{discount_order.id}/approve"
    assert browser.post(url, data={"note": "ok"}).status_code == 403
    assert browser.post(url, data={"note": "ok", "csrf_token": "forged"}).status_code == 403
    token = csrf_of(page.text)
    cross = browser.post(url, headers={"X-CSRF-Token": token, "Origin": "https://evil.example"})
    assert cross.status_code == 403
    db.expire_all()
    assert db.get(Order, discount_order.id).state is OrderState.submitted
    ok = browser.post(url, data={"note": "oke", "csrf_token": token})
    assert ok.status_code == 200, ok.text
    db.expire_all()
    assert db.get(Order, discount_order.id).state is OrderState.approved


def test_logout_ends_the_session(browser, world, db):
    log_in(browser, "manager.a")
    page = browser.get("/console/today")
    cookie = browser.cookies.get("sfa_console")
    # The same cookie works before the logout (so the refusal below is the logout's).
    assert (
        browser.get("/console/today", headers={"cookie": f"sfa_console={cookie}"}).status_code
        == 200
    )
    response = browser.post(
        "/console/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    assert response.status_code == 303
    assert db.query(ConsoleSession).count() == 0
    browser.cookies.clear()
    again = browser.get(
        "/console/today", headers={"cookie": f"sfa_console={cookie}"}, follow_redirects=False
    )
    assert again.status_code == 303


def test_a_deactivated_user_is_refused_on_the_next_request(browser, world, db):
    log_in(browser, "manager.a")
    assert browser.get("/console/today").status_code == 200
    world.manager_a.is_active = False
    db.commit()
    assert browser.get("/console/today", follow_redirects=False).status_code == 303


def test_the_language_switch_and_the_company_timezone(browser, world, discount_order, db):
    log_in(browser, "manager.a")
    page = browser.get("/console/approvals")
    assert "Persetujuan" in page.text  # the company's language (id) by default
    browser.post(
        "/console/language",
        data={"language": "en", "csrf_token": csrf_of(page.text), "next": "/console/approvals"},
    )
    english = browser.get("/console/approvals")
    assert "Approvals" in english.text and 'lang="en"' in english.text
    # Times are the company's (Asia/Jakarta, UTC+7), not the server's or UTC.
    created = db.get(Order, discount_order.id).created_at
    assert created.astimezone(ZoneInfo("Asia/Jakarta")).strftime("%Y-%m-%d %H:%M") in english.text
    assert created.astimezone(UTC).strftime("%Y-%m-%d %H:%M") not in english.text


def test_every_message_the_templates_use_exists_in_both_languages():
    used = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_.]+)["']""", template.read_text()))
    for page in (TEMPLATES.parent / "pages").glob("*.py"):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_.]+)["']""", page.read_text()))
        used |= set(re.findall(r'label="([a-z_.]+)"', page.read_text()))
        used |= set(re.findall(r"""\bt\(\s*f["']([a-z_.]+)\{""", page.read_text()))
    # A key made from a value (t("renewals.status." ~ status)): every value has its words.
    dynamic = {k for k in used if k.endswith(".")}
    values = {
        "renewals.status.": [*ContractStatus, "open"],
        "renewals.mode.": list(cure.Mode),
        "renewals.role.": list(RenewalRole),
        "renewals.lens.": ["size", "upsell", "enterprise", "resources"],
        "metrics.by.": ["all", "team", "rep"],
        "runs.status.": list(RunStatus),
        "step.status.": list(StepStatus),
        "tasks.status.": list(TaskStatus),
        "wf.version_state.": list(VersionState),
        "wf.change.": ["added", "removed", "changed"],
    }
    assert dynamic <= set(values), dynamic - set(values)
    used = (used - dynamic) | {f"{prefix}{v}" for prefix, vs in values.items() for v in vs}
    missing = sorted(used - set(i18n.MESSAGES))
    assert not missing, missing
    assert all(en and id_ for en, id_ in i18n.MESSAGES.values())
