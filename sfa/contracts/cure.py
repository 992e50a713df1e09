"""CURE: who owns a contract's renewal. A pure function of the contract's facts, the people
who could own it, and the company's policy — no database, no clock — so that every
boundary can be tested and the decision can be replayed from what was stored.

The four lenses (docs/contracts.md):

- **C**ontract size: ACV below `low_tier_max` is *low* (an automated renewal: reminders to
  the customer, auto-renew when the contract allows it); below `enterprise_tier_min` *mid*
  (a renewal manager); from `enterprise_tier_min` on *enterprise* (the account manager).
- **U**psell: a contract with upsell potential (an upsell product, or a score of at least
  `upsell_min_score`) goes to a seller (`upsell_roles`, e.g. account manager then sales
  rep) even when small.
- **E**nterprise: an enterprise contract (flagged, or derived from its ACV tier or its
  number of stakeholders) always goes to a dedicated account manager, and gets an
  opportunity in the pipeline.
- **R**esources: the role chosen above is turned into a person: the one the contract
  names in that role, else the holder of the role with the fewest open renewals; when
  nobody holds it, the roles of `fallback_order` are tried in turn.

Enterprise is applied before Resources although DESIGN lists it last: C, U and E choose
the *role*, R finds the *person*, so that an enterprise contract's owner is searched for
once, among account managers first (applying E after R would pick a person and then
replace them, and the stored reasons would say both).
"""

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sfa.contracts.roles import RenewalRole
from sfa.contracts.wording import (
    LANGUAGES,
    amounts,
    day_list,
    open_renewals,
    or_list,
    role_label,
)


class Tier(enum.StrEnum):
    low = "low"
    mid = "mid"
    enterprise = "enterprise"


class Mode(enum.StrEnum):
    automated = "automated"  # reminders to the customer, auto-renew when allowed
    owned = "owned"  # a person owns the renewal
    unassigned = "unassigned"  # a person was needed and nobody holds any allowed role


ROLES = tuple(RenewalRole)


@dataclass(frozen=True)
class Person:
    user_id: int
    name: str
    open_renewals: int = 0


@dataclass(frozen=True)
class Policy:
    """The company's numbers (settings `renewal_*`; docs/contracts.md)."""

    low_tier_max: Decimal = Decimal(50_000_000)
    enterprise_tier_min: Decimal = Decimal(500_000_000)
    enterprise_min_stakeholders: int | None = 10
    upsell_min_score: int = 50
    upsell_roles: tuple[str, ...] = ("account_manager", "sales_rep")
    fallback_order: tuple[str, ...] = ("renewal_manager", "account_manager", "sales_rep")
    reminder_days: tuple[int, ...] = (60, 30, 7)

    def __post_init__(self) -> None:
        if self.low_tier_max > self.enterprise_tier_min:
            raise ValueError("low_tier_max cannot exceed enterprise_tier_min")
        for role in (*self.upsell_roles, *self.fallback_order):
            if role not in ROLES:
                raise ValueError(f"unknown renewal role {role!r}; known: {', '.join(ROLES)}")


@dataclass(frozen=True)
class Facts:
    """What the decision looks at, about one contract."""

    acv: Decimal
    auto_renew: bool = False
    enterprise_flag: bool | None = None  # None: derived from the tier and stakeholders
    stakeholders: int | None = None
    upsell_score: int | None = None
    upsell_products: tuple[str, ...] = ()
    # People the contract itself names, by role (its account manager, ...).
    assigned: Mapping[str, Person] = field(default_factory=dict)
    # Everyone who could take each role: the company's holders of the role; for
    # `sales_rep`, the reps of the customer's team. Each with their open renewals.
    pool: Mapping[str, Sequence[Person]] = field(default_factory=dict)


@dataclass(frozen=True)
class Reason:
    lens: str  # size, upsell, enterprise, resources
    code: str
    text: Mapping[str, str]  # language -> sentence
    numbers: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    tier: Tier
    mode: Mode
    owner: Person | None
    owner_role: str | None
    enterprise: bool
    upsell: bool
    create_opportunity: bool
    auto_renew: bool
    reminder_days: tuple[int, ...]
    reasons: tuple[Reason, ...]
    summary: Mapping[str, str]  # language -> "ACV 620 M ≥ enterprise tier 500 M → ..."


def _both(en: str, id_: str) -> dict[str, str]:
    return {"en": en, "id": id_}


# --- C: contract size -------------------------------------------------------------------


def _size(facts: Facts, policy: Policy) -> tuple[Tier, Reason]:
    acv, low, high = facts.acv, policy.low_tier_max, policy.enterprise_tier_min
    words = {lang: amounts(acv, low, high, lang=lang) for lang in LANGUAGES}
    en, id_ = words["en"], words["id"]
    if acv < low:
        tier, code = Tier.low, "below_low_tier"
        text = _both(
            f"ACV {en[0]} < low tier {en[1]}", f"ACV {id_[0]} < batas tier rendah {id_[1]}"
        )
    elif acv < high:
        tier, code = Tier.mid, "mid_tier"
        text = _both(
            f"ACV {en[0]} ≥ low tier {en[1]} and < enterprise tier {en[2]}",
            f"ACV {id_[0]} ≥ batas tier rendah {id_[1]} dan < batas enterprise {id_[2]}",
        )
    else:
        tier, code = Tier.enterprise, "enterprise_tier"
        text = _both(
            f"ACV {en[0]} ≥ enterprise tier {en[2]}", f"ACV {id_[0]} ≥ batas enterprise {id_[2]}"
        )
    numbers = {"acv": str(acv), "low_tier_max": str(low), "enterprise_tier_min": str(high)}
    return tier, Reason("size", code, text, numbers)


# --- U: upsell --------------------------------------------------------------------------


def _upsell(facts: Facts, policy: Policy) -> Reason:
    score, products = facts.upsell_score, facts.upsell_products
    numbers: dict[str, object] = {
        "upsell_score": score,
        "upsell_min_score": policy.upsell_min_score,
    }
    parts_en, parts_id = [], []
    if score is not None and score >= policy.upsell_min_score:
        parts_en.append(f"score {score} ≥ {policy.upsell_min_score}")
        parts_id.append(f"skor {score} ≥ {policy.upsell_min_score}")
    if products:
        listed = ", ".join(products)
        parts_en.append(f"products: {listed}")
        parts_id.append(f"produk: {listed}")
        numbers["upsell_products"] = list(products)
    if not parts_en:
        detail = f"score {score} < {policy.upsell_min_score}" if score is not None else "none"
        detail_id = (
            f"skor {score} < {policy.upsell_min_score}" if score is not None else "tidak ada"
        )
        return Reason(
            "upsell",
            "no_upsell",
            _both(f"no upsell potential ({detail})", f"tanpa potensi upsell ({detail_id})"),
            numbers,
        )
    return Reason(
        "upsell",
        "upsell",
        _both(
            f"upsell potential ({'; '.join(parts_en)})",
            f"potensi upsell ({'; '.join(parts_id)})",
        ),
        numbers,
    )


# --- E: enterprise ----------------------------------------------------------------------


def _enterprise(facts: Facts, policy: Policy, tier: Tier) -> tuple[bool, Reason]:
    minimum = policy.enterprise_min_stakeholders
    numbers = {"enterprise_flag": facts.enterprise_flag, "stakeholders": facts.stakeholders}
    if facts.enterprise_flag is not None:
        code = "flagged_enterprise" if facts.enterprise_flag else "flagged_not_enterprise"
        text = (
            _both("marked enterprise", "ditandai enterprise")
            if facts.enterprise_flag
            else _both("marked not enterprise", "ditandai bukan enterprise")
        )
        return facts.enterprise_flag, Reason("enterprise", code, text, numbers)
    if tier is Tier.enterprise:
        return True, Reason(
            "enterprise",
            "enterprise_tier",
            _both("enterprise by ACV", "enterprise karena ACV"),
            numbers,
        )
    if minimum is not None and facts.stakeholders is not None and facts.stakeholders >= minimum:
        numbers["enterprise_min_stakeholders"] = minimum
        return True, Reason(
            "enterprise",
            "many_stakeholders",
            _both(
                f"{facts.stakeholders} stakeholders ≥ {minimum}",
                f"{facts.stakeholders} pemangku kepentingan ≥ {minimum}",
            ),
            numbers,
        )
    return False, Reason(
        "enterprise", "not_enterprise", _both("not enterprise", "bukan enterprise"), numbers
    )


# --- R: resources -----------------------------------------------------------------------


def _find_person(facts: Facts, roles: Sequence[str]) -> tuple[str, Person, str] | None:
    """The first role of `roles` somebody can take: (role, person, how)."""
    for role in roles:
        named = facts.assigned.get(role)
        if named is not None:
            return role, named, "named"
        holders = facts.pool.get(role) or ()
        if holders:
            return role, min(holders, key=lambda p: (p.open_renewals, p.user_id)), "balanced"
    return None


def _resources(
    facts: Facts, policy: Policy, wanted: Sequence[str]
) -> tuple[str | None, Person | None, Reason]:
    order = list(dict.fromkeys([*wanted, *policy.fallback_order]))
    found = _find_person(facts, order)
    numbers: dict[str, object] = {"tried": order}
    if found is None:
        listed = {lang: ", ".join(role_label(r, lang) for r in order) for lang in LANGUAGES}
        return (
            None,
            None,
            Reason(
                "resources",
                "nobody",
                _both(
                    f"nobody holds any of: {listed['en']}",
                    f"tidak ada yang memegang peran: {listed['id']}",
                ),
                numbers,
            ),
        )
    role, person, how = found
    numbers |= {"role": role, "user_id": person.user_id, "open_renewals": person.open_renewals}
    missing = order[: order.index(role)]
    text = {lang: _who(facts, role, person, how, missing, lang) for lang in LANGUAGES}
    code = "fallback" if missing else how
    return role, person, Reason("resources", code, text, numbers)


def _who(facts: Facts, role: str, person: Person, how: str, missing: list[str], lang: str) -> str:
    label = role_label(role, lang)
    if how == "named":
        who = (
            f"the contract's {label} {person.name}"
            if lang == "en"
            else f"{label} kontrak ini, {person.name}"
        )
    else:
        holders = len(facts.pool.get(role) or ())
        load = open_renewals(person.open_renewals, lang)
        if holders > 1:
            load += f"; fewest of {holders}" if lang == "en" else f"; paling sedikit dari {holders}"
        who = f"{label} {person.name} ({load})"
    if missing:
        gone = or_list([role_label(r, lang) for r in missing], lang)
        who = (
            f"no {gone} in the company; fallback → {who}"
            if lang == "en"
            else f"tidak ada {gone}; dialihkan → {who}"
        )
    return who


# --- the decision -----------------------------------------------------------------------


def decide(facts: Facts, policy: Policy) -> Decision:
    """The owner of this contract's renewal and why (see the module docstring)."""
    tier, size_reason = _size(facts, policy)
    upsell_reason = _upsell(facts, policy)
    upsell = upsell_reason.code == "upsell"
    enterprise, enterprise_reason = _enterprise(facts, policy, tier)
    reasons = [size_reason, upsell_reason, enterprise_reason]
    # The role the lenses ask for, strongest last; None = automated.
    wanted: tuple[str, ...] | None = {
        Tier.low: None,
        Tier.mid: ("renewal_manager",),
        Tier.enterprise: ("account_manager",),
    }[tier]
    decisive = size_reason
    if upsell and wanted != ("account_manager",):
        wanted, decisive = policy.upsell_roles, upsell_reason
    if enterprise and tier is not Tier.enterprise:
        decisive = enterprise_reason
    if enterprise:
        wanted = ("account_manager",)
    if wanted is None:
        return _automated(facts, policy, tier, reasons, decisive)
    role, owner, resources_reason = _resources(facts, policy, wanted)
    reasons.append(resources_reason)
    mode = Mode.owned if owner is not None else Mode.unassigned
    summary = {lang: f"{decisive.text[lang]} → {resources_reason.text[lang]}" for lang in LANGUAGES}
    return Decision(
        tier=tier,
        mode=mode,
        owner=owner,
        owner_role=role,
        enterprise=enterprise,
        upsell=upsell,
        create_opportunity=enterprise,
        auto_renew=False,
        reminder_days=(),
        reasons=tuple(reasons),
        summary=summary,
    )


def _automated(
    facts: Facts, policy: Policy, tier: Tier, reasons: list[Reason], decisive: Reason
) -> Decision:
    days = tuple(sorted(set(policy.reminder_days), reverse=True))
    renew_en = "auto-renew" if facts.auto_renew else "no auto-renew (contract does not allow it)"
    renew_id = (
        "diperpanjang otomatis"
        if facts.auto_renew
        else "tanpa perpanjangan otomatis (tidak diizinkan kontrak)"
    )
    summary = _both(
        f"{decisive.text['en']} → automated renewal (reminders to the customer "
        f"{day_list(days)} days before the end; {renew_en})",
        f"{decisive.text['id']} → perpanjangan otomatis (pengingat ke pelanggan "
        f"{day_list(days)} hari sebelum berakhir; {renew_id})",
    )
    return Decision(
        tier=tier,
        mode=Mode.automated,
        owner=None,
        owner_role=None,
        enterprise=False,
        upsell=False,
        create_opportunity=False,
        auto_renew=facts.auto_renew,
        reminder_days=days,
        reasons=tuple(reasons),
        summary=summary,
    )
