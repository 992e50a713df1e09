"""The CRM steps' pure parts: the lead score's sum and bounds, the renewal reminders
still ahead, and the dry run of the two CRM built-ins along each path."""

from datetime import date
from decimal import Decimal

import pytest

from sfa.contracts.renewal_runs import reminder_chain
from sfa.pipeline.leads import score
from sfa.workflows import dryrun, runtime_defaults
from sfa.workflows.definition import Definition

CRITERIA = {
    "base": 10,
    "source": {"referral": 40, "cold_call": 5},
    "customer_class": {"A": 30},
    "amount": [{"min": 100_000_000, "points": 30}, {"min": 25_000_000, "points": 15}],
}


@pytest.mark.parametrize(
    ("source", "amount", "cls", "expected"),
    [
        ("referral", "25000000", "A", 95),  # on a band's minimum: the band counts
        ("referral", "24999999.99", None, 50),
        ("cold_call", "0", "toko", 15),  # unknown class and no band: nothing
        (None, "100000000", "A", 70),  # the highest band reached, once
        ("referral", "100000000", "A", 100),  # 110 kept at 100
    ],
)
def test_the_lead_score_is_the_sum_of_the_criteria_within_0_to_100(source, amount, cls, expected):
    scored = score(CRITERIA, source=source, amount=Decimal(amount), customer_class=cls)
    assert scored.score == expected
    assert all(p["points"] for p in scored.points)


def test_a_negative_total_is_zero():
    assert (
        score(
            {"source": {"spam": -50}}, source="spam", amount=Decimal(0), customer_class=None
        ).score
        == 0
    )


def test_the_reminders_ahead_are_a_chain_soonest_first():
    end = date(2027, 3, 31)
    chain = reminder_chain(end, [7, 60, 30], today=date(2027, 1, 15))
    assert chain == {
        "date": "2027-01-30",
        "days_before": 60,
        "later": {
            "date": "2027-03-01",
            "days_before": 30,
            "later": {"date": "2027-03-24", "days_before": 7, "later": None},
        },
    }
    assert reminder_chain(end, [60, 30, 7], today=date(2027, 3, 24))["days_before"] == 7
    assert reminder_chain(end, [60, 30, 7], today=date(2027, 3, 25)) is None


def _trace(name: str, context: dict):
    definition = Definition.model_validate(runtime_defaults.definition(name))
    return dryrun.run(definition, context)


CONTRACT = {
    "contract": {
        "id": 1,
        "title": "T",
        "status": "renewal_due",
        "end_date": "2027-03-31",
        "acv": 1.0,
    },
    "customer": {"id": 2, "name": "Toko"},
}


@pytest.mark.parametrize(
    ("renewal", "expected"),
    [
        (
            {"mode": "owned", "owner_id": 5, "create_opportunity": True, "upsell_note": ""},
            ["open", "route", "mode", "owner_task", "opportunity_wanted", "opportunity", "done"],
        ),
        (
            {"mode": "unassigned", "summary_en": "nobody"},
            ["open", "route", "mode", "unassigned", "done"],
        ),
        (
            {"mode": "automated", "auto_renew": True, "reminders": None},
            [
                "open",
                "route",
                "mode",
                "first_reminder",
                "any_reminder",
                "wait_end",
                "renew_or_not",
                "renew",
                "done",
            ],
        ),
    ],
)
def test_the_renewal_workflow_dry_runs_each_mode(renewal, expected):
    trace = _trace("contract_renewal", CONTRACT | {"vars": {"renewal": renewal}})
    assert trace.outcome == "ended", trace.error
    assert trace.path == expected


def test_the_lead_workflow_dry_runs_both_scores():
    lead = {
        "opportunity": {"id": 1, "kind": "lead", "owner_id": 3, "stage": {"outcome": "open"}},
        "payload": {"kind": "lead"},
    }
    high = _trace(
        "lead_assignment",
        lead | {"vars": {"lead": {"score": 80}, "assignment": {"assigned": True}}},
    )
    assert high.path == ["threshold", "score", "high", "assign", "assigned", "tell_owner", "done"]
    low = _trace("lead_assignment", lead | {"vars": {"lead": {"score": 20}}})
    assert low.path[:6] == ["threshold", "score", "high", "nurtured", "pause", "still_lead"]
    assert low.outcome in ("ended", "stopped")
