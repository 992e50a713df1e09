"""CURE decides each renewal's owner: every lens at its boundaries, with the reasons."""

from decimal import Decimal
from typing import get_args

import pytest

from sfa.company.settings import CompanySettings
from sfa.company.settings import RenewalRole as SettingsRole
from sfa.contracts import cure
from sfa.contracts.roles import RenewalRole

M = Decimal(1_000_000)
SARI = cure.Person(1, "Sari", open_renewals=2)
AGUS = cure.Person(2, "Agus", open_renewals=1)
BUDI = cure.Person(3, "Budi", open_renewals=0)
RINA = cure.Person(4, "Rina", open_renewals=5)
EKO = cure.Person(5, "Eko", open_renewals=3)
FULL_POOL = {
    "account_manager": [SARI, AGUS],
    "renewal_manager": [BUDI],
    "sales_rep": [RINA, EKO],
}
POLICY = cure.Policy()


def decide(acv, pool=FULL_POOL, policy=POLICY, **facts) -> cure.Decision:
    return cure.decide(cure.Facts(acv=Decimal(acv), pool=pool, **facts), policy)


# --- C: contract size -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("acv", "tier", "mode", "owner"),
    [
        (Decimal("49999999.99"), cure.Tier.low, cure.Mode.automated, None),
        (50 * M, cure.Tier.mid, cure.Mode.owned, BUDI),
        (Decimal("499999999.99"), cure.Tier.mid, cure.Mode.owned, BUDI),
        (500 * M, cure.Tier.enterprise, cure.Mode.owned, AGUS),
    ],
)
def test_size_tiers_at_their_boundaries(acv, tier, mode, owner):
    decision = decide(acv)
    assert (decision.tier, decision.mode, decision.owner) == (tier, mode, owner)
    assert (
        decision.owner_role
        == {
            cure.Tier.low: None,
            cure.Tier.mid: "renewal_manager",
            cure.Tier.enterprise: "account_manager",
        }[tier]
    )


def test_tiers_follow_the_policy_numbers():
    policy = cure.Policy(low_tier_max=10 * M, enterprise_tier_min=100 * M)
    assert decide(10 * M - 1, policy=policy).tier is cure.Tier.low
    assert decide(10 * M, policy=policy).tier is cure.Tier.mid
    assert decide(100 * M - 1, policy=policy).tier is cure.Tier.mid
    assert decide(100 * M, policy=policy).tier is cure.Tier.enterprise


def test_low_tier_is_an_automated_renewal_with_reminders():
    decision = decide(42 * M, auto_renew=True)
    assert decision.owner is None and decision.create_opportunity is False
    assert decision.auto_renew is True
    assert decision.reminder_days == (60, 30, 7)
    assert decision.summary["en"] == (
        "ACV 42 M < low tier 50 M → automated renewal (reminders to the customer 60/30/7 "
        "days before the end; auto-renew)"
    )
    no_auto = decide(42 * M, auto_renew=False)
    assert no_auto.auto_renew is False
    assert "no auto-renew" in no_auto.summary["en"]


def test_reminder_days_come_from_the_policy_latest_first():
    decision = decide(1 * M, policy=cure.Policy(reminder_days=(7, 45, 14)))
    assert decision.reminder_days == (45, 14, 7)


def test_the_reason_reads_like_the_issue_says():
    decision = decide(620 * M, pool={"account_manager": [SARI]})
    assert decision.summary["en"] == (
        "ACV 620 M ≥ enterprise tier 500 M → account manager Sari (2 open renewals)"
    )
    assert decision.summary["id"] == (
        "ACV 620 jt ≥ batas enterprise 500 jt → account manager Sari (2 perpanjangan terbuka)"
    )


def test_amounts_next_to_a_boundary_are_written_in_full():
    decision = decide(Decimal("49999999"))
    assert decision.summary["en"].startswith("ACV 49,999,999 < low tier 50,000,000")
    assert decision.summary["id"].startswith("ACV 49.999.999 < batas tier rendah 50.000.000")


# --- U: upsell --------------------------------------------------------------------------


def test_upsell_products_send_a_small_contract_to_a_seller():
    decision = decide(10 * M, upsell_products=("Kopi Sachet", "Teh Botol"))
    assert decision.upsell is True
    assert decision.mode is cure.Mode.owned
    assert (decision.owner_role, decision.owner) == ("account_manager", AGUS)
    assert decision.summary["en"].startswith(
        "upsell potential (products: Kopi Sachet, Teh Botol) → account manager Agus"
    )


@pytest.mark.parametrize(("score", "upsell"), [(49, False), (50, True), (None, False)])
def test_upsell_score_at_its_boundary(score, upsell):
    decision = decide(10 * M, upsell_score=score)
    assert decision.upsell is upsell
    assert decision.mode is (cure.Mode.owned if upsell else cure.Mode.automated)


def test_upsell_takes_a_mid_contract_from_the_renewal_manager():
    assert decide(100 * M).owner == BUDI
    decision = decide(100 * M, upsell_score=80)
    assert (decision.owner_role, decision.owner) == ("account_manager", AGUS)


def test_upsell_goes_to_the_sales_rep_when_the_company_has_no_account_manager():
    pool = {"renewal_manager": [BUDI], "sales_rep": [RINA, EKO]}
    decision = decide(10 * M, pool=pool, upsell_score=70)
    # Upsell roles: account manager, then sales rep (the fewest open renewals: Eko).
    assert (decision.owner_role, decision.owner) == ("sales_rep", EKO)


def test_upsell_roles_are_a_setting():
    policy = cure.Policy(upsell_roles=("sales_rep",))
    decision = decide(10 * M, policy=policy, upsell_score=70)
    assert decision.owner_role == "sales_rep"


# --- R: resources -----------------------------------------------------------------------


def test_no_renewal_manager_falls_back_to_the_account_manager():
    decision = decide(100 * M, pool={"account_manager": [SARI, AGUS], "sales_rep": [RINA]})
    assert (decision.owner_role, decision.owner) == ("account_manager", AGUS)
    resources = decision.reasons[-1]
    assert resources.lens == "resources" and resources.code == "fallback"
    assert (
        "no renewal manager in the company; fallback → account manager Agus"
        in (decision.summary["en"])
    )


def test_no_renewal_or_account_manager_falls_back_to_the_customers_rep():
    decision = decide(100 * M, pool={"sales_rep": [RINA, EKO]})
    assert (decision.owner_role, decision.owner) == ("sales_rep", EKO)
    assert "no renewal manager or account manager in the company" in decision.summary["en"]


def test_nobody_at_all_leaves_the_renewal_unassigned_and_says_so():
    decision = decide(100 * M, pool={})
    assert decision.mode is cure.Mode.unassigned and decision.owner is None
    assert decision.reasons[-1].code == "nobody"


def test_fallback_order_is_a_setting():
    policy = cure.Policy(fallback_order=("sales_rep", "account_manager"))
    decision = decide(100 * M, policy=policy, pool={"account_manager": [SARI], "sales_rep": [RINA]})
    assert decision.owner == RINA


def test_balancing_picks_the_fewest_open_renewals_then_the_lowest_id():
    tied = [cure.Person(9, "Z", 1), cure.Person(8, "Y", 1), cure.Person(7, "X", 4)]
    decision = decide(100 * M, pool={"renewal_manager": tied})
    assert decision.owner.user_id == 8


def test_the_person_named_on_the_contract_wins_over_balancing():
    decision = decide(100 * M, assigned={"renewal_manager": cure.Person(42, "Dewi", 9)})
    assert decision.owner.user_id == 42
    assert decision.reasons[-1].code == "named"
    assert "the contract's renewal manager Dewi" in decision.summary["en"]


# --- E: enterprise ----------------------------------------------------------------------


def test_enterprise_always_gets_an_account_manager_and_an_opportunity():
    decision = decide(600 * M)
    assert decision.enterprise is True and decision.create_opportunity is True
    assert decision.owner_role == "account_manager"


def test_a_small_contract_flagged_enterprise_goes_to_the_account_manager():
    decision = decide(5 * M, enterprise_flag=True)
    assert (decision.tier, decision.owner_role) == (cure.Tier.low, "account_manager")
    assert decision.create_opportunity is True
    assert decision.summary["en"].startswith("marked enterprise → account manager")


def test_enterprise_without_account_managers_falls_back():
    decision = decide(600 * M, pool={"renewal_manager": [BUDI]})
    assert (decision.owner_role, decision.owner) == ("renewal_manager", BUDI)
    assert decision.create_opportunity is True


@pytest.mark.parametrize(("stakeholders", "enterprise"), [(9, False), (10, True)])
def test_enterprise_derived_from_stakeholders_at_the_boundary(stakeholders, enterprise):
    decision = decide(100 * M, stakeholders=stakeholders)
    assert decision.enterprise is enterprise
    assert decision.owner_role == ("account_manager" if enterprise else "renewal_manager")


def test_stakeholder_rule_can_be_switched_off():
    policy = cure.Policy(enterprise_min_stakeholders=None)
    assert decide(100 * M, policy=policy, stakeholders=500).enterprise is False


def test_flagged_not_enterprise_keeps_the_size_lens_but_makes_no_opportunity():
    decision = decide(600 * M, enterprise_flag=False)
    assert decision.owner_role == "account_manager"
    assert decision.enterprise is False and decision.create_opportunity is False


# --- the decision's record --------------------------------------------------------------


def test_reasons_name_every_lens_in_the_order_applied():
    decision = decide(100 * M)
    assert [r.lens for r in decision.reasons] == ["size", "upsell", "enterprise", "resources"]
    assert decision.reasons[0].numbers == {
        "acv": "100000000",
        "low_tier_max": "50000000",
        "enterprise_tier_min": "500000000",
    }
    assert all(set(r.text) == {"en", "id"} for r in decision.reasons)


def test_policy_refuses_inconsistent_numbers_and_unknown_roles():
    with pytest.raises(ValueError, match="cannot exceed"):
        cure.Policy(low_tier_max=600 * M, enterprise_tier_min=500 * M)
    with pytest.raises(ValueError, match="unknown renewal role"):
        cure.Policy(fallback_order=("boss",))


def test_settings_know_the_same_roles_and_defaults_as_the_policy():
    assert set(get_args(SettingsRole)) == {r.value for r in RenewalRole}
    settings = CompanySettings()
    assert settings.renewal_low_tier_max == POLICY.low_tier_max
    assert settings.renewal_enterprise_tier_min == POLICY.enterprise_tier_min
    assert tuple(settings.renewal_fallback_order) == POLICY.fallback_order
    assert tuple(settings.renewal_upsell_roles) == POLICY.upsell_roles
    assert tuple(settings.renewal_reminder_days) == POLICY.reminder_days
