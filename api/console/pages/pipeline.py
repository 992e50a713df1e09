"""Pipeline board: a kanban of the visible deals of a pipeline by stage (a manager: their
teams'; an admin: everyone's). Moving a card is an htmx POST through the API's own move
service (`sfa.pipeline.moves`), so the stage history, the checks and the visibility are
the API's; the answer is the board again, with both columns' counts updated."""

import uuid
from dataclasses import dataclass

from fastapi import APIRouter

from api.console.filters import choices, int_param
from api.console.nav import NavEntry
from api.console.web import Console, ConsoleDep, ConsoleRoute, CsrfDep, render
from api.schemas.common import Id
from sfa.errors import InvalidInput
from sfa.pipeline import board as board_service
from sfa.pipeline import moves

router = APIRouter(prefix="/console/pipeline", route_class=ConsoleRoute, include_in_schema=False)
NAV = NavEntry(path="/console/pipeline", label="nav.pipeline", order=80)

PER_STAGE = 50
MAX_REASON = 200


@dataclass(frozen=True)
class BoardFilters:
    pipeline_id: int | None
    team_id: int | None
    rep_id: int | None


def _query_filters(console: Console) -> BoardFilters:
    request = console.request
    return BoardFilters(
        int_param(request, "pipeline_id"),
        int_param(request, "team_id"),
        int_param(request, "rep_id"),
    )


def _form_int(console: Console, name: str) -> int | None:
    raw = console.field(name, max_length=20).strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise InvalidInput(f"{name}={raw!r} is not a number")
    return int(raw)


def _form_filters(console: Console) -> BoardFilters:
    """The board the move was made on: its filters come back with the form."""
    return BoardFilters(
        _form_int(console, "pipeline_id"),
        _form_int(console, "team_id"),
        _form_int(console, "rep_id"),
    )


def _board(console: Console, f: BoardFilters):
    return board_service.board(
        console.db,
        principal=console.principal,
        pipeline_id=f.pipeline_id,
        team_id=f.team_id,
        owner_id=f.rep_id,
        per_stage=PER_STAGE,
    )


def _render_board(console: Console, template: str, f: BoardFilters, **values):
    board = _board(console, f)
    return render(
        console,
        template,
        board=board,
        f=f,
        now=console.now(),
        pipeline_options=[(p.id, p.name) for p in board.pipelines],
        new_id=lambda: str(uuid.uuid4()),
        **values,
    )


@router.get("")
def pipeline_page(console: ConsoleDep):
    f = _query_filters(console)
    return _render_board(console, "pipeline.html", f, **choices(console))


def _client_id(console: Console) -> uuid.UUID | None:
    raw = console.field("client_id", max_length=40).strip()
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError as exc:
        raise InvalidInput(f"client_id={raw!r} is not a UUID") from exc


@router.post("/opportunities/{opportunity_id}/move")
def move(console: CsrfDep, opportunity_id: Id):
    stage_id = _form_int(console, "stage_id")
    if stage_id is None:
        raise InvalidInput("choose the stage to move the deal to")
    move = moves.move_opportunity(
        console.db,
        principal=console.principal,
        opportunity_id=opportunity_id,
        stage_id=stage_id,
        client_id=_client_id(console),
        lost_reason=console.field("lost_reason", max_length=MAX_REASON).strip() or None,
    )
    return _render_board(
        console,
        "pipeline_board.html",
        _form_filters(console),
        moved=move.opportunity,
        recorded=move.recorded,
    )
