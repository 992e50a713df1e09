"""Reports of contracts, the pipeline and pulse surveys, as JSON or CSV (`format=csv`).

The SQL and the visibility rules live in `analytics/renewals.py`, `analytics/pipeline.py`
and `sfa/surveys/results.py`; this module reads the query and shapes the answer.
"""

from fastapi import APIRouter, Query

from analytics import pipeline as pipeline_metrics
from analytics import renewals
from api.csv_export import csv_export
from api.deps import PrincipalDep, SessionDep, reads_from_replica
from api.formats import CSV_RESPONSES, ReportFormat
from api.schemas.common import Day, Id, Text
from api.schemas.crm_reports import (
    EnpsReportOut,
    PipelineCsvRow,
    PipelineGroupOut,
    PipelineReportOut,
    RenewalAuditOut,
    RenewalCsvRow,
)
from api.schemas.reports import Lang
from api.schemas.surveys import EnpsRowOut
from sfa.contracts.models import ContractStatus
from sfa.surveys import results

router = APIRouter(prefix="/v1/reports", tags=["reports"])


@router.get(
    "/renewals",
    response_model=RenewalAuditOut,
    responses=CSV_RESPONSES,
    summary="Renewal audit: the N largest and N smallest contracts, who owns them and why",
    description="Among the contracts you can see with these statuses (default active and "
    "renewal_due): each with its renewal owner, the routing reason, days to the end, the "
    "step the renewal is in and the days spent in each step so far. In CSV one row per "
    "contract, `group` saying which list.",
)
@reads_from_replica
def renewal_audit(
    session: SessionDep,
    principal: PrincipalDep,
    largest: int = Query(10, ge=0, le=100),
    smallest: int = Query(10, ge=0, le=100),
    team_id: Id | None = Query(None, description="the customers' team"),
    status: list[ContractStatus] | None = Query(None, description="repeat for several"),
    lang: Lang = Query(Lang.en, description="language of the routing reasons"),
    format: ReportFormat = ReportFormat.json,
):
    audit = RenewalAuditOut.model_validate(
        renewals.renewal_audit(
            session,
            principal=principal,
            largest=largest,
            smallest=smallest,
            team_id=team_id,
            statuses=status,
            lang=lang.value,
        )
    )
    if format is ReportFormat.csv:
        rows = [r.flat("largest") for r in audit.largest]
        rows += [r.flat("smallest") for r in audit.smallest]
        return csv_export(RenewalCsvRow, [rows], "renewals.csv")
    return audit


@router.get(
    "/pipeline",
    response_model=PipelineReportOut,
    responses=CSV_RESPONSES,
    summary="Pipeline metrics per pipeline (and per team or rep) over a period",
    description="Conversion and drop-off between stages (deals opened in the period), "
    "median and p90 days in each stage (stays that ended in the period), win rate, "
    "average deal size and cycle length (deals closed in the period), open deals, "
    "weighted pipeline, forecast by expected close month and velocity (deals open now), "
    "lost reasons. Money in `currency` (default the company's). Periods are company-local "
    "days. CSV: one row per metric (section, key, metric, value). docs/pipeline.md.",
)
@reads_from_replica
def pipeline_report(
    session: SessionDep,
    principal: PrincipalDep,
    pipeline_id: Id | None = Query(None, description="default: every pipeline"),
    team_id: Id | None = None,
    rep_id: Id | None = Query(None, description="the deals' owner"),
    date_from: Day | None = Query(None, description="first company-local day"),
    date_to: Day | None = Query(None, description="last company-local day (inclusive)"),
    currency: str | None = Query(None, pattern=r"^[A-Z]{3}$"),
    by: str = Query("all", pattern="^(all|team|rep)$", description="one group, or per team/rep"),
    format: ReportFormat = ReportFormat.json,
):
    groups = pipeline_metrics.pipeline_report(
        session,
        principal=principal,
        query=pipeline_metrics.PipelineQuery(
            pipeline_id=pipeline_id,
            team_id=team_id,
            rep_id=rep_id,
            date_from=date_from,
            date_to=date_to,
            currency=currency,
            by=by,
        ),
    )
    items = [PipelineGroupOut.model_validate(g) for g in groups]
    if format is ReportFormat.csv:
        return csv_export(PipelineCsvRow, (g.csv_rows() for g in items), "pipeline.csv")
    return PipelineReportOut(items=items)


@router.get(
    "/enps",
    response_model=EnpsReportOut,
    responses=CSV_RESPONSES,
    summary="eNPS per team per period (hidden below the minimum group size)",
    description="From the surveys' eNPS question (0-10): % answering 9-10 minus % "
    "answering 0-6. A team and period with fewer answers than `survey_min_group_size` "
    "shows only the count. Periods are labels (2026-W47, 2026-11, 2026-Q4).",
)
@reads_from_replica
def enps_report(
    session: SessionDep,
    principal: PrincipalDep,
    team_id: Id | None = None,
    survey_id: Id | None = None,
    period_from: Text | None = Query(None, max_length=10),
    period_to: Text | None = Query(None, max_length=10),
    format: ReportFormat = ReportFormat.json,
):
    rows = [
        EnpsRowOut.model_validate(r)
        for r in results.enps_report(
            session,
            principal=principal,
            team_id=team_id,
            survey_id=survey_id,
            period_from=period_from,
            period_to=period_to,
        )
    ]
    if format is ReportFormat.csv:
        return csv_export(EnpsRowOut, [rows], "enps.csv")
    return EnpsReportOut(items=rows)
