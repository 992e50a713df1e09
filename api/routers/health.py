import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import SessionDep
from integrations.erp import health as erp_health
from sfa import replica
from sfa.company import service as company_service
from sfa.erp import sync as erp_sync

router = APIRouter(tags=["health"])
log = logging.getLogger("sfa.api.health")


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict:  # async: no thread for a request that does no I/O
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: the database answers and has PostGIS; the ERP connection's state",
    description="503 when the database does not answer. The `erp` part says whether the "
    "sync is `disabled`, `ok`, `unavailable` or `misconfigured`, with each problem and how "
    "to fix it (`problems`); the overall status is then `degraded` (the API still serves). "
    "The `replica` part (SFA_DATABASE_REPLICA_URL) is `disabled`, `ok`, or `lagging`, "
    "`not_streaming`, `unavailable` with its `problem`: then reports read from the primary "
    "(`reads`) and the status is `degraded` too.",
)
def readyz(session: SessionDep):
    try:
        version = session.execute(text("SELECT postgis_lib_version()")).scalar()
    except Exception as exc:  # any database failure means "not ready", reported, not raised
        return JSONResponse(
            {"status": "unavailable", "database": type(exc).__name__}, status_code=503
        )
    erp = _erp(session)
    status = "ok" if erp["status"] in ("ok", "disabled") and not erp.get("problems") else "degraded"
    monitor = replica.current_monitor()
    replica_state = monitor.state().as_dict() if monitor else {"status": "disabled"}
    if replica_state["status"] not in ("ok", "disabled"):
        status = "degraded"  # reads go to the primary meanwhile: the API still serves
    return {
        "status": status,
        "database": "ok",
        "postgis": version,
        "replica": replica_state,
        "erp": erp,
    }


def _erp(session) -> dict:
    try:
        health = erp_health.check()
    except Exception as exc:  # a bug of ours must not turn readiness into a 500
        log.exception("ERP health check failed")
        return {"status": "unavailable", "problems": [f"the check itself failed: {exc!r}"]}
    out: dict = {"status": health.status, "problems": list(health.problems)}
    if health.facts is not None:
        settings = company_service.get_company_settings(session)
        out["server_version"] = health.facts.server_version
        out["warnings"] = list(health.facts.warnings)
        out["problems"] += erp_sync.settings_mismatches(settings, health.facts)
    return out
