from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import SessionDep

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict:  # async: no thread for a request that does no I/O
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: the database answers and has PostGIS")
def readyz(session: SessionDep):
    try:
        version = session.execute(text("SELECT postgis_lib_version()")).scalar()
    except Exception as exc:  # any database failure means "not ready", reported, not raised
        return JSONResponse(
            {"status": "unavailable", "database": type(exc).__name__}, status_code=503
        )
    return {"status": "ok", "database": "ok", "postgis": version}
