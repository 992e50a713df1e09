"""Survey results and eNPS, hidden below the minimum group size.

eNPS on a 0-10 scale: the percentage of promoters (9-10) minus the percentage of
detractors (0-6); passives (7-8) count in the total only. With fewer answers than
`survey_min_group_size` (setting, default 5) nothing but the count is shown: a manager
of a team of three could otherwise read each rep's answer off the distribution.
"""

from collections import Counter
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import text
from sqlalchemy.orm import Session

from sfa.auth.principal import Principal
from sfa.company import service as company_service
from sfa.surveys import service


@dataclass(frozen=True)
class Enps:
    answers: int
    promoters: int
    passives: int
    detractors: int

    @property
    def score(self) -> Decimal | None:
        """% promoters - % detractors, one decimal (None without answers)."""
        if not self.answers:
            return None
        value = Decimal(100 * (self.promoters - self.detractors)) / self.answers
        return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def enps_of(values: list[int]) -> Enps:
    return Enps(
        answers=len(values),
        promoters=sum(1 for v in values if v >= 9),
        passives=sum(1 for v in values if 7 <= v <= 8),
        detractors=sum(1 for v in values if v <= 6),
    )


def _question_result(question: dict, answers: list[dict]) -> dict:
    given = [a[question["key"]] for a in answers if question["key"] in a]
    result = {"key": question["key"], "kind": question["kind"], "text": question["text"]}
    result["answers"] = len(given)
    if question["kind"] == "scale":
        result["mean"] = round(sum(given) / len(given), 2) if given else None
        result["distribution"] = {str(v): n for v, n in sorted(Counter(given).items())}
    elif question["kind"] == "choice":
        chosen = [c for g in given for c in (g if isinstance(g, list) else [g])]
        result["counts"] = {o: chosen.count(o) for o in question["options"]}
    else:
        # Sorted, not in the order given: the order would tell who wrote what.
        result["texts"] = sorted(g for g in given if g)
    return result


def survey_results(
    session: Session, *, principal: Principal, survey_id: int, period: str | None
) -> dict:
    survey = service.get_survey(session, principal=principal, survey_id=survey_id)
    period = service.check_period(survey, period, service.company_today(session))
    answers = service.responses(session, survey, period)
    minimum = company_service.get_company_settings(session).survey_min_group_size
    hidden = len(answers) < minimum
    result: dict = {
        "survey_id": survey.id,
        "team_id": survey.team_id,
        "period": period,
        "responses": len(answers),
        "min_group_size": minimum,
        "hidden": hidden,
        "questions": None,
        "enps": None,
    }
    if hidden:
        return result
    result["questions"] = [_question_result(q, answers) for q in survey.questions]
    if survey.enps_key:
        result["enps"] = _enps_out(
            enps_of([a[survey.enps_key] for a in answers if survey.enps_key in a]), minimum
        )
    return result


def _enps_out(enps: Enps, minimum: int) -> dict:
    hidden = enps.answers < minimum
    return {
        "answers": enps.answers,
        "hidden": hidden,
        "promoters": None if hidden else enps.promoters,
        "passives": None if hidden else enps.passives,
        "detractors": None if hidden else enps.detractors,
        "enps": None if hidden else enps.score,
    }


# Per survey with an eNPS question, team and period: the answers to that question.
_ENPS_SQL = """
SELECT r.survey_id, s.title AS survey_title, r.team_id, t.name AS team_name, r.period,
       count(*) AS answers,
       count(*) FILTER (WHERE a.v >= 9) AS promoters,
       count(*) FILTER (WHERE a.v BETWEEN 7 AND 8) AS passives,
       count(*) FILTER (WHERE a.v <= 6) AS detractors
FROM survey_responses r
JOIN surveys s ON s.id = r.survey_id
JOIN teams t ON t.id = r.team_id
CROSS JOIN LATERAL (SELECT (r.answers ->> s.enps_key)::int AS v) a
WHERE s.enps_key IS NOT NULL AND a.v IS NOT NULL AND {where}
GROUP BY r.survey_id, s.title, r.team_id, t.name, r.period
ORDER BY r.team_id, r.period, r.survey_id
"""


def enps_report(
    session: Session,
    *,
    principal: Principal,
    team_id: int | None = None,
    survey_id: int | None = None,
    period_from: str | None = None,
    period_to: str | None = None,
) -> list[dict]:
    """eNPS per team per period (per survey), oldest period first."""
    principal.require("surveys:read")
    clauses: list[str] = ["TRUE"]
    params: dict[str, object] = {}
    if principal.team_ids is not None:
        clauses.append("r.team_id = ANY(:scope)")
        params["scope"] = sorted(principal.team_ids)
    for column, name, value in (
        ("r.team_id =", "team_id", team_id),
        ("r.survey_id =", "survey_id", survey_id),
        ("r.period >=", "period_from", period_from),
        ("r.period <=", "period_to", period_to),
    ):
        if value is not None:
            clauses.append(f"{column} :{name}")
            params[name] = value
    minimum = company_service.get_company_settings(session).survey_min_group_size
    rows = session.execute(text(_ENPS_SQL.format(where=" AND ".join(clauses))), params).mappings()
    result = []
    for row in rows:
        enps = Enps(row["answers"], row["promoters"], row["passives"], row["detractors"])
        keep = {k: row[k] for k in ("survey_id", "survey_title", "team_id", "team_name", "period")}
        result.append(keep | {"min_group_size": minimum} | _enps_out(enps, minimum))
    return result
