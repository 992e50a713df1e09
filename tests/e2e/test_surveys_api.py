"""Pulse surveys: managers schedule for their team, reps answer once per period,
answers are anonymous, results and eNPS are hidden below the minimum group size."""

import pytest
from sqlalchemy import inspect

from crm_factories import ENPS_QUESTIONS, make_survey
from factories import auth_header, make_user
from sfa.surveys import results
from sfa.surveys.models import Response
from sfa.users.models import Role


@pytest.fixture
def team_a_reps(db, world):
    """Five reps in team A (rep_a, rep_a2 and three more): enough for the default group."""
    extra = [make_user(db, f"rep.a{i}", Role.rep, world.team_a) for i in range(3, 6)]
    db.commit()
    return [world.rep_a, world.rep_a2, *extra]


def answer(client, rep, survey_id, answers):
    return client.post(
        f"/v1/me/surveys/{survey_id}/responses", json={"answers": answers}, headers=auth_header(rep)
    )


def test_manager_schedules_a_survey_for_their_team_only(client, world):
    body = {"title": "Pulse", "cadence": "monthly", "questions": ENPS_QUESTIONS}
    mine = client.post(
        "/v1/surveys", json=body | {"team_id": world.team_a.id}, headers=world.headers("manager_a")
    )
    assert mine.status_code == 201, mine.text
    assert [q["key"] for q in mine.json()["questions"]] == ["enps", "mood", "note"]
    foreign = client.post(
        "/v1/surveys", json=body | {"team_id": world.team_b.id}, headers=world.headers("manager_a")
    )
    assert foreign.status_code == 404
    too_many = body | {
        "team_id": world.team_a.id,
        "questions": [{"kind": "text", "text": f"Q{i}"} for i in range(11)],
    }
    assert (
        client.post("/v1/surveys", json=too_many, headers=world.headers("manager_a")).status_code
        == 422
    )
    bad_enps = body | {
        "team_id": world.team_a.id,
        "questions": [{"kind": "scale", "text": "x", "enps": True, "min": 1, "max": 5}],
    }
    response = client.post("/v1/surveys", json=bad_enps, headers=world.headers("manager_a"))
    assert response.status_code == 422 and "0-10" in response.json()["error"]["message"]
    assert (
        client.post(
            "/v1/surveys", json=body | {"team_id": world.team_a.id}, headers=world.headers("rep_a")
        ).status_code
        == 403
    )


def test_rep_answers_once_per_period(client, db, world):
    survey = make_survey(db, world.manager_a, world.team_a)
    db.commit()
    listed = client.get("/v1/me/surveys", headers=world.headers("rep_a")).json()
    assert [(s["id"], s["answered"]) for s in listed] == [(survey.id, False)]
    period = listed[0]["period"]
    assert period[4:6] == "-W"
    first = answer(client, world.rep_a, survey.id, {"enps": 9, "mood": "good", "note": "ok"})
    assert first.status_code == 201, first.text
    assert first.json()["answered"] is True
    again = answer(client, world.rep_a, survey.id, {"enps": 3})
    assert again.status_code == 409 and period in again.json()["error"]["message"]
    assert client.get("/v1/me/surveys", headers=world.headers("rep_b")).json() == []
    foreign = answer(client, world.rep_b, survey.id, {"enps": 10})
    assert foreign.status_code == 404
    for bad in ({"enps": 11}, {"mood": "great"}, {"nope": 1}, {}):
        assert answer(client, world.rep_a2, survey.id, bad).status_code == 422, bad
    assert client.get("/v1/me/surveys", headers=world.headers("manager_a")).status_code == 403


def test_answers_are_stored_without_their_author(db, client, world):
    survey = make_survey(db, world.manager_a, world.team_a)
    db.commit()
    answer(client, world.rep_a, survey.id, {"enps": 7, "note": "secret"})
    columns = {c.key for c in inspect(Response).columns}
    assert columns == {"id", "survey_id", "period", "team_id", "answers"}
    (row,) = db.query(Response).all()
    assert row.answers == {"enps": 7, "note": "secret"}
    assert str(world.rep_a.id) not in str(row.answers)


def test_results_and_enps_hidden_below_the_minimum_group_size(client, db, world, team_a_reps):
    survey = make_survey(db, world.manager_a, world.team_a)
    db.commit()
    scores = [10, 9, 8, 6, 3]
    for rep, score in zip(team_a_reps[:4], scores, strict=False):
        assert answer(client, rep, survey.id, {"enps": score, "mood": "ok"}).status_code == 201
    url = f"/v1/surveys/{survey.id}/results"
    four = client.get(url, headers=world.headers("manager_a")).json()
    assert (four["responses"], four["hidden"]) == (4, True)
    assert four["questions"] is None and four["enps"] is None
    report = client.get("/v1/reports/enps", headers=world.headers("manager_a")).json()["items"]
    assert [(r["answers"], r["hidden"], r["enps"], r["promoters"]) for r in report] == [
        (4, True, None, None)
    ]
    answer(client, team_a_reps[4], survey.id, {"enps": scores[4], "mood": "bad", "note": "tired"})
    five = client.get(url, headers=world.headers("manager_a")).json()
    assert five["hidden"] is False
    # 2 promoters (10, 9), 1 passive (8), 2 detractors (6, 3): 40 % - 40 % = 0.
    assert five["enps"] == {
        "answers": 5,
        "hidden": False,
        "promoters": 2,
        "passives": 1,
        "detractors": 2,
        "enps": "0.0",
    }
    mood = next(q for q in five["questions"] if q["key"] == "mood")
    assert mood["counts"] == {"good": 0, "ok": 4, "bad": 1}
    assert next(q for q in five["questions"] if q["key"] == "note")["texts"] == ["tired"]
    (row,) = client.get("/v1/reports/enps", headers=world.headers("manager_a")).json()["items"]
    assert (row["team_name"], row["answers"], row["enps"]) == ("Team A", 5, "0.0")
    assert client.get("/v1/reports/enps", headers=world.headers("manager_b")).json()["items"] == []
    assert client.get(url, headers=world.headers("manager_b")).status_code == 404
    assert client.get(url, headers=world.headers("rep_a")).status_code == 403


def test_minimum_group_size_is_a_setting(client, db, world):
    survey = make_survey(db, world.manager_a, world.team_a)
    db.commit()
    answer(client, world.rep_a, survey.id, {"enps": 10})
    answer(client, world.rep_a2, survey.id, {"enps": 9})
    client.patch("/v1/settings", json={"survey_min_group_size": 2}, headers=world.headers("admin"))
    shown = client.get(
        f"/v1/surveys/{survey.id}/results", headers=world.headers("manager_a")
    ).json()
    assert shown["hidden"] is False and shown["enps"]["enps"] == "100.0"


@pytest.mark.parametrize(
    ("values", "promoters", "detractors", "score"),
    [
        ([10, 9, 9, 8, 7, 6, 5, 0], 3, 3, "0.0"),
        ([10, 10, 9, 8, 2], 3, 1, "40.0"),  # 60 % - 20 %
        ([10, 10, 10, 10], 4, 0, "100.0"),
        ([0, 6, 6], 0, 3, "-100.0"),
        ([7, 8], 0, 0, "0.0"),
        ([9, 9, 6], 2, 1, "33.3"),  # 66.7 % - 33.3 %
        ([9, 6, 6], 1, 2, "-33.3"),
    ],
)
def test_enps_formula(values, promoters, detractors, score):
    enps = results.enps_of(values)
    assert (enps.answers, enps.promoters, enps.detractors) == (len(values), promoters, detractors)
    assert str(enps.score) == score
