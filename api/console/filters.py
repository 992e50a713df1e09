"""Filters of the console's report pages, read from the query string of a plain GET form
(an empty field means "no filter"), with the choices the form offers."""

from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import TypeVar
from urllib.parse import urlencode

from fastapi import Request

from analytics import reports
from api.console.web import Console
from sfa.errors import InvalidInput
from sfa.users import service as user_service
from sfa.users.models import Role

MAX_OPTIONS = 1000
E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True)
class ReportFilters:
    team_id: int | None
    rep_id: int | None
    date_from: date | None
    date_to: date | None
    extra: dict[str, str] = field(default_factory=dict)  # the page's own fields
    offset: int = 0

    def filters(self) -> reports.Filters:
        return reports.make_filters(
            team_id=self.team_id,
            rep_id=self.rep_id,
            date_from=self.date_from,
            date_to=self.date_to,
        )

    def query(self, **override) -> str:
        """The query string of these filters (without the offset), for links."""
        values = {
            "team_id": self.team_id,
            "rep_id": self.rep_id,
            "date_from": self.date_from and self.date_from.isoformat(),
            "date_to": self.date_to and self.date_to.isoformat(),
            **self.extra,
            **override,
        }
        return urlencode({k: v for k, v in values.items() if v not in (None, "")})


def int_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise InvalidInput(f"{name}={raw!r} is not a number")
    return int(raw)


def enum_param(request: Request, name: str, enum: type[E]) -> E | None:
    """A choice of a select (empty: no filter); anything else is refused, naming the
    choices."""
    raw = request.query_params.get(name, "").strip()
    if not raw:
        return None
    try:
        return enum(raw)
    except ValueError as exc:
        raise InvalidInput(
            f"{name}={raw[:40]!r} is not one of the choices",
            hint=f"choose one of: {', '.join(enum)}",
        ) from exc


def _date(request: Request, name: str, default: date | None) -> date | None:
    if name not in request.query_params:
        return default
    raw = request.query_params[name].strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise InvalidInput(f"{name}={raw!r} is not a date", hint="write it as 2026-11-30") from exc


def read_filters(
    console: Console, *, default_days: int, extra: tuple[str, ...] = ()
) -> ReportFilters:
    """The filters in the query; without dates, the last `default_days` days to today."""
    request = console.request
    today = console.now().date()
    return ReportFilters(
        team_id=int_param(request, "team_id"),
        rep_id=int_param(request, "rep_id"),
        date_from=_date(request, "date_from", today - timedelta(days=default_days - 1)),
        date_to=_date(request, "date_to", today),
        extra={k: request.query_params.get(k, "")[:100] for k in extra},
        offset=int_param(request, "offset") or 0,
    )


def choices(console: Console) -> dict:
    """Teams and reps the caller can see, for the filter form."""
    teams = user_service.list_teams(
        console.db, principal=console.principal, limit=MAX_OPTIONS, offset=0
    )
    reps = user_service.list_users(
        console.db, principal=console.principal, role=Role.rep, limit=MAX_OPTIONS, offset=0
    )
    return {
        "team_options": [(t.id, t.name) for t in teams.items],
        "rep_options": [(r.id, f"{r.full_name} ({r.username})") for r in reps.items],
    }
