"""Every pipeline metric against numbers worked out by hand on a small fixture.

Company timezone Asia/Jakarta (UTC+7); the period is March 2026 (local days). Stages:
Prospect 10 %, Qualified 25 %, Proposal 50 %, Negotiation 75 %, Won, Lost. B is
2026-03-02 09:00 local; "+2d" means two days after B. Amounts in IDR (M = million).

deal owner  opened       moves                                      amount    notes
D1   rep_a  B            Qualified +2d, Proposal +5d, Won +10d        100 M
D2   rep_a  +1d          Qualified +2d, Lost +4d ("price")             50 M
D3   rep_a2 +2d          Proposal +6d (skips Qualified),              200 M
                         Negotiation +9d, Won +14d
D4   rep_a  +3d          Lost +5d ("no budget")                        80 M
D5   rep_a  +4d          Qualified +7d (open)                         120 M     closes 2026-04
D6   rep_a  +8d          Proposal +9d (open)                           40 M     60 %, closes 2026-05
D7   rep_a  02-10        Qualified 02-20, Won +1d (2026-03-03)        300 M     opened in February
D8   rep_a  03-01 00:30  none (open)                                 5000 USD   Feb 28 in UTC
D9   rep_b  B            Won +3d                                      999 M     team B
"""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from analytics.pipeline import PipelineQuery, pipeline_report
from crm_factories import make_opportunity, make_pipeline, principal
from sfa.pipeline import moves

JKT = ZoneInfo("Asia/Jakarta")
B = datetime(2026, 3, 2, 9, 0, tzinfo=JKT)
M = Decimal(1_000_000)
MARCH = {"date_from": datetime(2026, 3, 1).date(), "date_to": datetime(2026, 3, 31).date()}


def days(n: float) -> datetime:
    return B + timedelta(days=n)


@pytest.fixture
def fixture(db, world):
    _, stages = make_pipeline(db, world.admin)
    deals = {}

    def deal(name, owner, opened, amount, steps, **extra):
        opportunity = make_opportunity(
            db, owner, title=name, opened_at=opened, amount=amount, **extra
        )
        for stage, at, *reason in steps:
            moves.move_opportunity(
                db,
                principal=principal(db, owner),
                opportunity_id=opportunity.id,
                stage_id=stages[stage].id,
                at=at,
                lost_reason=reason[0] if reason else None,
            )
        deals[name] = opportunity

    rep_a, rep_a2, rep_b = world.rep_a, world.rep_a2, world.rep_b
    deal(
        "D1", rep_a, B, 100 * M, [("Qualified", days(2)), ("Proposal", days(5)), ("Won", days(10))]
    )
    deal("D2", rep_a, days(1), 50 * M, [("Qualified", days(2)), ("Lost", days(4), "price")])
    deal(
        "D3",
        rep_a2,
        days(2),
        200 * M,
        [("Proposal", days(6)), ("Negotiation", days(9)), ("Won", days(14))],
    )
    deal("D4", rep_a, days(3), 80 * M, [("Lost", days(5), "no budget")])
    deal(
        "D5",
        rep_a,
        days(4),
        120 * M,
        [("Qualified", days(7))],
        expected_close=datetime(2026, 4, 15).date(),
    )
    deal(
        "D6",
        rep_a,
        days(8),
        40 * M,
        [("Proposal", days(9))],
        expected_close=datetime(2026, 5, 20).date(),
        probability=Decimal(60),
    )
    deal(
        "D7",
        rep_a,
        datetime(2026, 2, 10, 9, 0, tzinfo=JKT),
        300 * M,
        [("Qualified", datetime(2026, 2, 20, 9, 0, tzinfo=JKT)), ("Won", days(1))],
    )
    deal("D8", rep_a, datetime(2026, 3, 1, 0, 30, tzinfo=JKT), Decimal(5000), [], currency="USD")
    deal("D9", rep_b, B, 999 * M, [("Won", days(3))])
    db.commit()
    return deals


def report(db, who, **query):
    return pipeline_report(db, principal=principal(db, who), query=PipelineQuery(**query))


def test_funnel_conversion_and_drop_off(db, world, fixture):
    (group,) = report(db, world.manager_a, **MARCH)
    stages = {s["name"]: s for s in group["stages"]}
    # Opened in March (local): D1-D6 and D8 (D8 opened on Feb 28 in UTC); not D7.
    assert group["summary"]["cohort_deals"] == 7
    # Furthest non-lost stage: D1, D3 Won; D6 Proposal; D2, D5 Qualified; D4, D8 Prospect.
    assert [
        stages[n]["reached"] for n in ("Prospect", "Qualified", "Proposal", "Negotiation", "Won")
    ] == [7, 5, 3, 2, 2]
    assert stages["Prospect"]["conversion_to_next"] == round(5 / 7, 4)
    assert stages["Qualified"]["conversion_to_next"] == 0.6
    assert stages["Proposal"]["conversion_to_next"] == round(2 / 3, 4)
    assert stages["Negotiation"]["conversion_to_next"] == 1.0
    assert stages["Won"]["conversion_to_next"] is None
    assert [
        stages[n]["drop_off"] for n in ("Prospect", "Qualified", "Proposal", "Negotiation")
    ] == [2, 2, 1, 0]
    # Lost after getting no further: D4 after Prospect, D2 after Qualified.
    assert stages["Prospect"]["lost_after"] == 1 and stages["Qualified"]["lost_after"] == 1
    assert stages["Lost"]["reached"] is None


def test_outcomes_size_cycle_and_lost_reasons(db, world, fixture):
    (group,) = report(db, world.manager_a, **MARCH)
    summary = group["summary"]
    # Closed in March: won D1, D3, D7 (opened in February); lost D2, D4.
    assert (summary["won"], summary["lost"]) == (3, 2)
    assert summary["win_rate"] == 0.6
    assert summary["won_amount"] == 600 * M
    assert summary["average_deal_size"] == 200 * M
    # Cycle: D1 10 days, D3 12 days, D7 21 days (Feb 10 -> Mar 3): mean 43/3.
    assert summary["cycle_days"] == 14.33
    assert group["lost_reasons"] == [
        {"reason": "no budget", "deals": 1, "amount": 80 * M},
        {"reason": "price", "deals": 1, "amount": 50 * M},
    ]


def test_time_in_stage_median_and_p90(db, world, fixture):
    (group,) = report(db, world.manager_a, **MARCH)
    stages = {s["name"]: s for s in group["stages"]}
    # Prospect stays ending in March: D1 2, D2 1, D3 4, D4 2, D5 3, D6 1 days.
    # Sorted 1 1 2 2 3 4: median = 2; p90 at rank 0.9 × 5 = 4.5 -> 3 + 0.5 × (4 - 3) = 3.5.
    assert (stages["Prospect"]["stays"], stages["Prospect"]["median_days"]) == (6, 2.0)
    assert stages["Prospect"]["p90_days"] == 3.5
    # Qualified: D1 3, D2 2, D7 11 (Feb 20 -> Mar 3): median 3; p90 = 3 + 0.8 × 8 = 9.4.
    assert (stages["Qualified"]["stays"], stages["Qualified"]["median_days"]) == (3, 3.0)
    assert stages["Qualified"]["p90_days"] == 9.4
    # Proposal: D1 5, D3 3: median 4, p90 = 3 + 0.9 × 2 = 4.8. Negotiation: D3 5.
    assert (stages["Proposal"]["median_days"], stages["Proposal"]["p90_days"]) == (4.0, 4.8)
    assert (stages["Negotiation"]["median_days"], stages["Negotiation"]["p90_days"]) == (5.0, 5.0)
    # Nobody has left Won or Lost.
    assert stages["Won"]["stays"] == 0 and stages["Won"]["median_days"] is None


def test_open_pipeline_weighted_forecast_and_velocity(db, world, fixture):
    (group,) = report(db, world.manager_a, **MARCH)
    summary = group["summary"]
    # Open now: D5 (120 M, Qualified 25 %), D6 (40 M, its own 60 %), D8 (USD: not summed).
    assert summary["open_deals"] == 3 and summary["other_currency_deals"] == 1
    assert summary["open_amount"] == 160 * M
    assert summary["weighted_pipeline"] == 54 * M  # 30 M + 24 M
    assert group["forecast"] == [
        {"month": "2026-04", "deals": 1, "amount": 120 * M, "weighted": 30 * M},
        {"month": "2026-05", "deals": 1, "amount": 40 * M, "weighted": 24 * M},
        {"month": None, "deals": 1, "amount": Decimal("0.00"), "weighted": Decimal("0.00")},
    ]
    # 2 open IDR deals × 0.6 × 200 M ÷ (43/3) days = 720 M / 43 per day.
    assert summary["velocity_per_day"] == Decimal("16744186.05")


def test_per_rep_and_per_team(db, world, fixture):
    by_rep = {g["group_id"]: g for g in report(db, world.manager_a, by="rep", **MARCH)}
    assert set(by_rep) == {world.rep_a.id, world.rep_a2.id}
    a2 = by_rep[world.rep_a2.id]["summary"]
    assert (a2["cohort_deals"], a2["won"], a2["win_rate"], a2["cycle_days"]) == (1, 1, 1.0, 12.0)
    a = by_rep[world.rep_a.id]["summary"]
    # rep_a: won D1 and D7, lost D2 and D4; cycle (10 + 21) / 2.
    assert (a["won"], a["lost"], a["win_rate"], a["cycle_days"]) == (2, 2, 0.5, 15.5)
    assert a["average_deal_size"] == 200 * M
    by_team = {g["group_name"]: g["summary"] for g in report(db, world.admin, by="team", **MARCH)}
    assert by_team["Team B"]["won_amount"] == 999 * M
    assert by_team["Team A"]["won"] == 3


def test_visibility_and_filters(db, world, fixture):
    (rep,) = report(db, world.rep_a2, **MARCH)
    assert rep["summary"]["won_amount"] == 200 * M  # only D3, their own
    (team_b,) = report(db, world.admin, team_id=world.team_b.id, **MARCH)
    assert team_b["summary"]["won"] == 1
    (all_time,) = report(db, world.manager_a)
    assert all_time["summary"]["cohort_deals"] == 8  # D7 too
    (february,) = report(
        db,
        world.manager_a,
        date_from=datetime(2026, 2, 1).date(),
        date_to=datetime(2026, 2, 28).date(),
    )
    assert february["summary"]["cohort_deals"] == 1  # D7; D8 is March in Jakarta
    from sfa.errors import NotFound

    with pytest.raises(NotFound):
        report(db, world.manager_a, team_id=world.team_b.id)


def test_usd_report_sums_only_usd(db, world, fixture):
    (group,) = report(db, world.manager_a, currency="USD", **MARCH)
    assert group["summary"]["open_amount"] == Decimal("5000.00")
    assert group["summary"]["other_currency_deals"] == 2 + 5  # D5, D6 open; 3 won + 2 lost


def test_time_in_stage_for_the_whole_company_all_time(db, world, fixture):
    """The company-wide path reads ranks from the index; the per-team path sorts: both
    must give percentile_cont's numbers."""
    (company,) = report(db, world.admin)
    stages = {s["name"]: s for s in company["stages"]}
    # Prospect, every stay: D1 2, D2 1, D3 4, D4 2, D5 3, D6 1, D7 10, D9 3 days.
    # Sorted 1 1 2 2 3 3 4 10: median at rank 3.5 = 2.5; p90 at 6.3 = 4 + 0.3 × 6 = 5.8.
    assert (stages["Prospect"]["stays"], stages["Prospect"]["median_days"]) == (8, 2.5)
    assert stages["Prospect"]["p90_days"] == 5.8
    assert (stages["Qualified"]["median_days"], stages["Qualified"]["p90_days"]) == (3.0, 9.4)
    assert (stages["Negotiation"]["stays"], stages["Negotiation"]["p90_days"]) == (1, 5.0)
    by_team = {g["group_name"]: g for g in report(db, world.admin, by="team")}
    team_a = {s["name"]: s for s in by_team["Team A"]["stages"]}
    # Team A without D9: 1 1 2 2 3 4 10: median 2; p90 at rank 5.4 = 4 + 0.4 × 6 = 6.4.
    assert (team_a["Prospect"]["median_days"], team_a["Prospect"]["p90_days"]) == (2.0, 6.4)
    team_b = {s["name"]: s for s in by_team["Team B"]["stages"]}
    assert (team_b["Prospect"]["stays"], team_b["Prospect"]["median_days"]) == (1, 3.0)
