"""Pipelines and opportunities over HTTP: configurable stages, idempotent creation,
visibility, and a stage history that stays complete whatever order moves arrive in."""

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from crm_factories import STAGES, make_opportunity, make_pipeline, principal
from sfa.pipeline import moves


@pytest.fixture
def sales(db, world):
    pipeline, stages = make_pipeline(db, world.admin)
    db.commit()
    return pipeline, stages


def _tiles(history: list[dict]) -> bool:
    """Each stay ends when the next begins; only the last is open."""
    ordered = sorted(history, key=lambda s: (s["entered_at"], s["id"]))
    ends = [s["left_at"] for s in ordered]
    starts = [s["entered_at"] for s in ordered]
    return ends[:-1] == starts[1:] and ends[-1] is None


def test_admin_configures_pipelines_and_everyone_reads_them(client, world):
    created = client.post(
        "/v1/pipelines",
        json={"name": "Distributors", "stages": STAGES},
        headers=world.headers("admin"),
    )
    assert created.status_code == 201, created.text
    pipeline = created.json()
    assert [s["position"] for s in pipeline["stages"]] == [1, 2, 3, 4, 5, 6]
    assert pipeline["is_default"] is True  # the first one
    listed = client.get("/v1/pipelines", headers=world.headers("rep_a")).json()
    assert [p["name"] for p in listed] == ["Distributors"]
    refused = client.post(
        "/v1/pipelines", json={"name": "Mine", "stages": STAGES}, headers=world.headers("manager_a")
    )
    assert refused.status_code == 403


@pytest.mark.parametrize(
    ("stages", "problem"),
    [
        (STAGES[:4], "won stage"),
        ([STAGES[4], *STAGES[:4], STAGES[5]], "comes before an open stage"),
        ([STAGES[0], STAGES[0], STAGES[4], STAGES[5]], "unique"),
    ],
)
def test_bad_stage_lists_are_refused(client, world, stages, problem):
    response = client.post(
        "/v1/pipelines", json={"name": "Bad", "stages": stages}, headers=world.headers("admin")
    )
    assert response.status_code == 422
    assert problem in response.json()["error"]["message"]


def test_stages_are_edited_in_place_and_used_ones_are_kept(client, db, world, sales):
    pipeline, stages = sales
    deal = make_opportunity(db, world.rep_a, opened_at=datetime.now(UTC) - timedelta(hours=2))
    moves.move_opportunity(
        db,
        principal=principal(db, world.rep_a),
        opportunity_id=deal.id,
        stage_id=stages["Proposal"].id,
    )
    db.commit()
    assert deal.reached_position == 3
    current = client.get(f"/v1/pipelines/{pipeline.id}", headers=world.headers("admin")).json()
    kept = [{k: s[k] for k in ("id", "name", "probability", "outcome")} for s in current["stages"]]
    # Swap Qualified and Proposal, rename Proposal, drop an unused stage (Negotiation).
    kept[1], kept[2] = kept[2], kept[1]
    kept[1]["name"] = "Offer"
    edited = [kept[0], kept[1], kept[2], kept[4], kept[5]]
    response = client.patch(
        f"/v1/pipelines/{pipeline.id}", json={"stages": edited}, headers=world.headers("admin")
    )
    assert response.status_code == 200, response.text
    assert [s["name"] for s in response.json()["stages"]] == [
        "Prospect",
        "Offer",
        "Qualified",
        "Won",
        "Lost",
    ]
    # The funnel's furthest position follows the new order: Proposal, where the deal got
    # to, is second now (as Offer); the deal was never in Qualified, now third.
    db.refresh(deal)
    assert deal.reached_position == 2
    # Prospect holds the new deal: it cannot be removed.
    without_prospect = [s for s in edited if s["name"] != "Prospect"]
    refused = client.patch(
        f"/v1/pipelines/{pipeline.id}",
        json={"stages": without_prospect},
        headers=world.headers("admin"),
    )
    assert refused.status_code == 409


def test_rep_creates_own_opportunity_idempotently(client, world, sales):
    payload = {
        "client_id": str(uuid.uuid4()),
        "title": "New outlet",
        "prospect_name": "Toko Baru",
        "location": {"lat": -6.2, "lon": 106.8},
        "amount": "25000000",
        "source": "visit",
    }
    headers = world.headers("rep_a")
    first = client.post("/v1/opportunities", json=payload, headers=headers)
    assert first.status_code == 201, first.text
    opportunity = first.json()
    assert opportunity["owner_id"] == world.rep_a.id
    assert opportunity["team_id"] == world.team_a.id
    assert (opportunity["stage_name"], opportunity["probability"]) == ("Prospect", "10.00")
    again = client.post("/v1/opportunities", json=payload, headers=headers)
    assert again.status_code == 200 and again.json()["id"] == opportunity["id"]
    changed = client.post("/v1/opportunities", json=payload | {"amount": "1"}, headers=headers)
    assert changed.status_code == 409
    other_owner = client.post(
        "/v1/opportunities",
        json=payload | {"client_id": str(uuid.uuid4()), "owner_id": world.rep_a2.id},
        headers=headers,
    )
    assert other_owner.status_code == 403


def test_visibility_rep_own_manager_team(client, db, world, sales):
    mine = make_opportunity(db, world.rep_a)
    peer = make_opportunity(db, world.rep_a2)
    foreign = make_opportunity(db, world.rep_b)
    db.commit()
    ids = lambda who: [  # noqa: E731
        o["id"] for o in client.get("/v1/opportunities", headers=world.headers(who)).json()["items"]
    ]
    assert ids("rep_a") == [mine.id]
    assert ids("manager_a") == [mine.id, peer.id]
    assert ids("admin") == [mine.id, peer.id, foreign.id]
    assert (
        client.get(f"/v1/opportunities/{peer.id}", headers=world.headers("rep_a")).status_code
        == 404
    )


def test_history_stays_complete_after_out_of_order_moves(client, db, world, sales):
    _, stages = sales
    t0 = datetime.now(UTC) - timedelta(days=10)
    deal = make_opportunity(db, world.rep_a, opened_at=t0)
    db.commit()
    headers = world.headers("rep_a")
    url = f"/v1/opportunities/{deal.id}/move"

    def move(stage, hours, **extra):
        at = (t0 + timedelta(hours=hours)).isoformat()
        return client.post(
            url, json={"stage_id": stages[stage].id, "at": at} | extra, headers=headers
        )

    assert move("Proposal", 30).json()["current"] is True
    late = move("Qualified", 10)  # arrives after the Proposal move it precedes
    assert late.status_code == 201 and late.json()["current"] is False
    assert move("Won", 50).json()["opportunity"]["stage_name"] == "Won"
    very_late = move("Negotiation", 40, client_id=str(uuid.uuid4()))
    assert very_late.json()["from_stage_id"] == stages["Proposal"].id

    history = client.get(f"/v1/opportunities/{deal.id}/history", headers=headers).json()
    names = {s.id: n for n, s in stages.items()}
    assert [names[s["stage_id"]] for s in history] == [
        "Prospect",
        "Qualified",
        "Proposal",
        "Negotiation",
        "Won",
    ]
    assert _tiles(history)
    hours = [(datetime.fromisoformat(s["entered_at"]) - t0).total_seconds() / 3600 for s in history]
    assert hours == [0, 10, 30, 40, 50]
    assert all(s["entered_by"] == world.rep_a.id for s in history)
    current = client.get(f"/v1/opportunities/{deal.id}", headers=headers).json()
    assert current["stage_name"] == "Won"
    assert datetime.fromisoformat(current["closed_at"]) == t0 + timedelta(hours=50)


def test_retried_and_repeated_moves_are_recorded_once(client, db, world, sales):
    _, stages = sales
    deal = make_opportunity(db, world.rep_a, opened_at=datetime.now(UTC) - timedelta(hours=5))
    db.commit()
    url = f"/v1/opportunities/{deal.id}/move"
    move = {"stage_id": stages["Qualified"].id, "client_id": str(uuid.uuid4())}
    headers = world.headers("rep_a")
    assert client.post(url, json=move, headers=headers).status_code == 201
    replay = client.post(url, json=move, headers=headers)
    assert replay.status_code == 200 and replay.json()["recorded"] is False
    reused = client.post(url, json=move | {"stage_id": stages["Proposal"].id}, headers=headers)
    assert reused.status_code == 409
    same_stage = client.post(url, json={"stage_id": stages["Qualified"].id}, headers=headers)
    assert same_stage.status_code == 200 and same_stage.json()["recorded"] is False
    history = client.get(f"/v1/opportunities/{deal.id}/history", headers=headers).json()
    assert len(history) == 2 and _tiles(history)


def test_moves_are_checked(client, db, world, sales):
    pipeline, stages = sales
    _, other_stages = make_pipeline(db, world.admin, name="Other")  # now the default
    opened = datetime.now(UTC) - timedelta(hours=1)
    deal = make_opportunity(db, world.rep_a, opened_at=opened, pipeline_id=pipeline.id)
    db.commit()
    url = f"/v1/opportunities/{deal.id}/move"
    headers = world.headers("rep_a")
    lost = client.post(url, json={"stage_id": stages["Lost"].id}, headers=headers)
    assert lost.status_code == 422 and "lost_reason" in lost.json()["error"]["message"]
    wrong_pipeline = client.post(url, json={"stage_id": other_stages["Won"].id}, headers=headers)
    assert wrong_pipeline.status_code == 422
    before_opening = client.post(
        url,
        json={"stage_id": stages["Won"].id, "at": (opened - timedelta(hours=1)).isoformat()},
        headers=headers,
    )
    assert before_opening.status_code == 422
    future = client.post(
        url,
        json={"stage_id": stages["Won"].id, "at": (opened + timedelta(days=3)).isoformat()},
        headers=headers,
    )
    assert future.status_code == 422
    lost_ok = client.post(
        url, json={"stage_id": stages["Lost"].id, "lost_reason": "price"}, headers=headers
    )
    assert lost_ok.json()["opportunity"]["lost_reason"] == "price"
    reopened = client.post(url, json={"stage_id": stages["Proposal"].id}, headers=headers).json()
    assert reopened["opportunity"]["closed_at"] is None
    assert reopened["opportunity"]["lost_reason"] is None
    foreign = client.post(url, json={"stage_id": stages["Won"].id}, headers=world.headers("rep_a2"))
    assert foreign.status_code == 404


def test_opportunities_export_every_row_as_csv(client, db, world, sales):
    first = make_opportunity(db, world.rep_a, location={"lat": -6.2, "lon": 106.8})
    second = make_opportunity(db, world.rep_a2, title="Second")
    make_opportunity(db, world.rep_b)  # another team's: not in manager A's export
    db.commit()
    response = client.get(
        "/v1/opportunities?format=csv&limit=1", headers=world.headers("manager_a")
    )
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [int(r["id"]) for r in rows] == [first.id, second.id]
    assert (rows[0]["location.lat"], rows[0]["location.lon"]) == ("-6.2", "106.8")
    assert rows[1]["location.lat"] == "" and rows[1]["stage_name"] == "Prospect"
