"""The console's pipeline board and metrics, renewals and team pulse, in-process: the
same services and visibility as the API, moves and routing through the API's own
services, the API's numbers on the page."""

import html
import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest

from console_client import csrf_of, log_in
from crm_factories import make_contract, make_opportunity, make_pipeline, make_survey, principal
from factories import make_user
from sfa.contracts import staff as contract_staff
from sfa.pipeline import moves
from sfa.pipeline.models import Opportunity, StageSpan
from sfa.plans import service as plan_service
from sfa.surveys import service as survey_service
from sfa.users.models import Role


@pytest.fixture
def deals(db, world):
    """A pipeline; two deals of team A (rep A's, one won), one of team B (rep B's)."""
    pipeline, stages = make_pipeline(db, world.admin)
    a1 = make_opportunity(db, world.rep_a, title="Deal A1", amount=Decimal(2_000_000))
    a2 = make_opportunity(db, world.rep_a2, title="Deal A2", amount=Decimal(3_000_000))
    b1 = make_opportunity(db, world.rep_b, title="Deal B1", amount=Decimal(5_000_000))
    moves.move_opportunity(
        db, principal=principal(db, world.rep_a2), opportunity_id=a2.id, stage_id=stages["Won"].id
    )
    db.commit()
    return pipeline, stages, a1, a2, b1


def deal_ids(text: str) -> set[int]:
    return {int(i) for i in re.findall(r'id="deal-(\d+)"', text)}


def count_of(text: str, stage_id: int) -> int:
    column = text[text.index(f'data-stage-id="{stage_id}" data-outcome') :]
    return int(re.search(r'data-count="(\d+)"', column).group(1))


def test_the_board_shows_the_managers_teams_deals_by_stage(browser, world, deals):
    _, stages, a1, a2, b1 = deals
    log_in(browser, "manager.a")
    page = browser.get("/console/pipeline")
    assert page.status_code == 200, page.text
    assert deal_ids(page.text) == {a1.id, a2.id}
    assert "Deal B1" not in page.text and "Rep.B" not in page.text
    assert count_of(page.text, stages["Prospect"].id) == 1
    assert count_of(page.text, stages["Won"].id) == 1
    only_a2 = browser.get(f"/console/pipeline?rep_id={world.rep_a2.id}")
    assert deal_ids(only_a2.text) == {a2.id}
    assert browser.get(f"/console/pipeline?team_id={world.team_b.id}").status_code == 404
    assert browser.get(f"/console/pipeline?rep_id={world.rep_b.id}").status_code == 404
    assert browser.get("/console/pipeline?pipeline_id=999999").status_code == 404
    admin = type(browser)(browser.app, base_url="https://testserver")
    log_in(admin, "admin")
    assert deal_ids(admin.get("/console/pipeline").text) == {a1.id, a2.id, b1.id}


def _move(browser, page_html, opportunity_id, stage_id, **form):
    return browser.post(
        f"/console/pipeline/opportunities/{opportunity_id}/move",
        data={"stage_id": stage_id, "csrf_token": csrf_of(page_html)} | form,
        headers={"HX-Request": "true"},
    )


def test_moving_a_card_goes_through_the_move_service(browser, world, deals, db):
    _, stages, a1, _, b1 = deals
    log_in(browser, "manager.a")
    page = browser.get("/console/pipeline")
    client_id = str(uuid.uuid4())
    moved = _move(browser, page.text, a1.id, stages["Proposal"].id, client_id=client_id)
    assert moved.status_code == 200, moved.text
    assert 'id="board"' in moved.text and "Deal A1" in moved.text
    assert count_of(moved.text, stages["Proposal"].id) == 1
    assert count_of(moved.text, stages["Prospect"].id) == 0
    db.expire_all()
    assert db.get(Opportunity, a1.id).stage_id == stages["Proposal"].id
    history = db.query(StageSpan).filter_by(opportunity_id=a1.id).order_by(StageSpan.id).all()
    assert [s.stage_id for s in history] == [stages["Prospect"].id, stages["Proposal"].id]
    assert history[-1].entered_by == world.manager_a.id
    # The same form sent twice (a double click): recorded once.
    again = _move(browser, page.text, a1.id, stages["Proposal"].id, client_id=client_id)
    assert again.status_code == 200
    assert db.query(StageSpan).filter_by(opportunity_id=a1.id).count() == 2
    # The move service's own checks, shown as the API words them.
    lost = _move(browser, page.text, a1.id, stages["Lost"].id)
    assert lost.status_code == 422 and "lost_reason" in lost.text
    with_reason = _move(browser, page.text, a1.id, stages["Lost"].id, lost_reason="price")
    assert with_reason.status_code == 200
    db.expire_all()
    assert db.get(Opportunity, a1.id).lost_reason == "price"
    # Another team's deal: not found, not moved; without the token: refused.
    assert _move(browser, page.text, b1.id, stages["Won"].id).status_code == 404
    refused = browser.post(
        f"/console/pipeline/opportunities/{a1.id}/move", data={"stage_id": stages["Won"].id}
    )
    assert refused.status_code == 403
    db.expire_all()
    assert db.get(Opportunity, b1.id).stage_id == stages["Prospect"].id
    assert db.get(Opportunity, a1.id).stage_id == stages["Lost"].id


def _metric(text: str, name: str) -> str:
    return re.search(rf'data-metric="{name}">([^<]*)<', text).group(1)


def test_the_metrics_page_shows_the_apis_numbers(browser, client, world, deals):
    pipeline, stages, *_ = deals
    log_in(browser, "manager.a")
    page = browser.get(f"/console/pipeline/metrics?pipeline_id={pipeline.id}")
    assert page.status_code == 200, page.text
    api = client.get(
        "/v1/reports/pipeline",
        params={
            "pipeline_id": pipeline.id,
            "date_from": _field(page.text, "date_from"),
            "date_to": _field(page.text, "date_to"),
        },
        headers=world.headers("manager_a"),
    ).json()["items"]
    assert len(api) == 1
    summary = api[0]["summary"]
    assert summary["cohort_deals"] == 2 and summary["won"] == 1  # team A's deals only
    for name in ("cohort_deals", "won", "lost", "open_deals"):
        assert _metric(page.text, name) == str(summary[name]), name
    assert _metric(page.text, "win_rate") == f"{summary['win_rate'] * 100:.0f} %"
    assert _metric(page.text, "won_amount") == f"{Decimal(summary['won_amount']):,.0f}"
    assert _metric(page.text, "open_amount") == f"{Decimal(summary['open_amount']):,.0f}"
    won_row = page.text[page.text.index(f'<tr data-stage-id="{stages["Prospect"].id}"') :]
    reached = next(s for s in api[0]["stages"] if s["name"] == "Prospect")["reached"]
    assert _metric(won_row, "reached") == str(reached) == "2"
    per_team = browser.get(f"/console/pipeline/metrics?pipeline_id={pipeline.id}&by=team")
    assert "Team A" in per_team.text and "Team B" not in per_team.text
    csv = browser.get(f"/console/pipeline/metrics.csv?pipeline_id={pipeline.id}")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "summary,,won,1" in csv.text.replace("\r", "").replace('"', "")
    assert browser.get("/console/pipeline/metrics?by=nobody").status_code == 422


def _field(text: str, name: str) -> str:
    return re.search(rf'name="{name}" type="date" value="([^"]*)"', text).group(1)


@pytest.fixture
def contracts(db, world):
    """Customer A's contract ending in 20 days, customer B's in 30; an account manager."""
    today = plan_service.company_today(db)
    mine = make_contract(
        db,
        world.admin,
        world.customer_a,
        120_000_000,
        title="Supply A",
        start_date=today - timedelta(days=345),
        end_date=today + timedelta(days=20),
    )
    theirs = make_contract(
        db,
        world.admin,
        world.customer_b,
        80_000_000,
        title="Supply B",
        start_date=today - timedelta(days=335),
        end_date=today + timedelta(days=30),
    )
    contract_staff.add_staff(
        db, principal=principal(db, world.admin), user_id=world.admin.id, role="account_manager"
    )
    db.commit()
    return mine, theirs


def test_renewals_show_the_decision_and_route_through_cure(browser, client, world, contracts):
    mine, theirs = contracts
    log_in(browser, "manager.a")
    page = browser.get("/console/renewals")
    assert page.status_code == 200, page.text
    assert f'id="contract-{mine.id}"' in page.text and "Supply B" not in page.text
    assert "data-unrouted" in page.text  # not routed yet
    routed = browser.post(
        f"/console/renewals/contracts/{mine.id}/route",
        headers={"X-CSRF-Token": csrf_of(page.text), "HX-Request": "true"},
    )
    assert routed.status_code == 200, routed.text
    api = client.get(
        f"/v1/contracts/{mine.id}", params={"lang": "id"}, headers=world.headers("manager_a")
    ).json()
    # The reason in Bahasa Indonesia, the user's language.
    assert html.escape(api["renewal"]["summary"], quote=False) in routed.text
    assert f'data-owner-id="{api["renewal"]["owner_id"] or ""}"' in routed.text
    assert [r["lens"] for r in api["renewal"]["reasons"]] == re.findall(
        r'data-lens="(\w+)"', routed.text
    )
    assert "data-unrouted" not in browser.get("/console/renewals").text
    foreign = browser.post(
        f"/console/renewals/contracts/{theirs.id}/route",
        headers={"X-CSRF-Token": csrf_of(page.text)},
    )
    assert foreign.status_code == 404
    # Outside the window (ending in 20 days, a window of 10): not listed.
    assert f"contract-{mine.id}" not in browser.get("/console/renewals?within_days=10").text
    assert browser.get("/console/renewals?status=churned").status_code == 422


def test_team_pulse_shows_enps_only_for_groups_large_enough(browser, db, world):
    team_a_reps = [world.rep_a, world.rep_a2]
    team_a_reps += [make_user(db, f"rep.a{i}", Role.rep, world.team_a) for i in range(3, 6)]
    rep_b2 = make_user(db, "rep.b2", Role.rep, world.team_b)
    survey_a = make_survey(db, world.manager_a, world.team_a)
    survey_b = make_survey(db, world.manager_b, world.team_b)
    for rep, score in zip(team_a_reps, (10, 9, 9, 7, 3), strict=True):
        survey_service.answer(
            db, principal=principal(db, rep), survey_id=survey_a.id, answers={"enps": score}
        )
    for rep in (world.rep_b, rep_b2):
        survey_service.answer(
            db, principal=principal(db, rep), survey_id=survey_b.id, answers={"enps": 10}
        )
    db.commit()
    log_in(browser, "manager.a")
    page = browser.get("/console/pulse")
    assert page.status_code == 200, page.text
    assert 'data-enps="40.0"' in page.text  # 3 promoters, 1 detractor of 5: 60 % - 20 %
    assert "Team B" not in page.text
    admin = type(browser)(browser.app, base_url="https://testserver")
    log_in(admin, "admin")
    everyone = admin.get("/console/pulse").text
    row_b = everyone[everyone.index(f'data-team-id="{world.team_b.id}"') :]
    assert 'data-hidden="true"' in row_b[:200] and "data-enps" not in row_b.split("</tr>")[0]
