"""Purchase-order intake: upload a PDF or image, watch it being read, correct, confirm."""

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from api.deps import PrincipalDep, SessionDep
from api.schemas.common import Id, PageOut
from api.schemas.purchase_orders import IntakeCorrectionIn, IntakeOut, IntakeSummaryOut
from sfa.config import PO_UPLOAD_CEILING, get_settings
from sfa.errors import InvalidInput, PayloadTooLarge
from sfa.limits import INT64_MAX
from sfa.purchase_orders import service
from sfa.purchase_orders.models import IntakeState

router = APIRouter(prefix="/v1/purchase-orders", tags=["purchase orders"])


def _out(session, intake) -> IntakeOut:
    return IntakeOut.full(intake, service.issues(session, intake))


async def _read_upload(request: Request, max_bytes: int) -> tuple[bytes, str, str]:
    """The multipart field `file`, with the size checked from Content-Length before a
    byte of the body is read (the caller is authenticated by then)."""
    declared = request.headers.get("content-length")
    if declared is None or not declared.isdigit():
        raise InvalidInput(
            "send the upload with a Content-Length", hint="a plain multipart POST does"
        )
    # Multipart framing adds a few hundred bytes around the file.
    if int(declared) > max_bytes + 64 * 1024:
        raise PayloadTooLarge(
            f"the upload is {declared} bytes; a document may have at most {max_bytes}",
            hint="send the purchase order alone, scanned at 200-300 dpi",
        )
    form = await request.form(max_files=1, max_fields=2, max_part_size=max_bytes + 1)
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise InvalidInput("the multipart field 'file' (a PDF or an image) is missing")
    content = await upload.read(max_bytes + 1)
    await form.close()
    return content, upload.filename or "document", upload.content_type or ""


@router.post(
    "/intake",
    response_model=IntakeOut,
    status_code=status.HTTP_202_ACCEPTED,
    # Above the API's default 1 MiB: the body limiter is the backstop for the largest cap a
    # deployment may set; the configured one is checked first from Content-Length.
    max_body_size=PO_UPLOAD_CEILING + 64 * 1024,
    summary="Upload a purchase order (PDF or image) to be read into a draft order",
    description="Multipart field `file`. The document is stored and read by a job "
    "(`GET .../intakes/{id}` shows its state). The same file again answers 200 with the "
    "first intake. Not a PDF or image: 415; over the size cap: 413.",
    responses={200: {"description": "this file was already received", "model": IntakeOut}},
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                }
            },
            "required": True,
        }
    },
)
async def upload(
    request: Request, session: SessionDep, principal: PrincipalDep, response: Response
):
    principal.require("purchase_orders:write")
    max_bytes = get_settings().po_max_upload_bytes
    content, filename, content_type = await _read_upload(request, max_bytes)
    # The database work runs in a worker thread like every threaded endpoint; only the
    # body is read on the loop.
    intake, created = await run_in_threadpool(
        lambda: service.receive(
            session,
            principal=principal,
            content=content,
            filename=filename,
            content_type=content_type,
            max_bytes=max_bytes,
        )
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return await run_in_threadpool(_out, session, intake)


@router.get("/intakes", response_model=PageOut[IntakeSummaryOut], summary="Intakes visible to you")
def list_intakes(
    session: SessionDep,
    principal: PrincipalDep,
    state: IntakeState | None = None,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=INT64_MAX),
):
    page = service.list_intakes(
        session, principal=principal, state=state, limit=limit, offset=offset
    )
    return {
        "items": [IntakeSummaryOut.of(i) for i in page.items],
        "total": page.total,
        "limit": page.limit,
        "offset": page.offset,
        "next_offset": page.next_offset,
    }


@router.get(
    "/intakes/{intake_id}", response_model=IntakeOut, summary="An intake with its draft and issues"
)
def get_intake(session: SessionDep, principal: PrincipalDep, intake_id: Id):
    return _out(session, service.get_intake(session, principal=principal, intake_id=intake_id))


@router.patch(
    "/intakes/{intake_id}",
    response_model=IntakeOut,
    summary="Correct the draft (values, customer, rep, lines); corrections are learned",
)
def correct_intake(
    session: SessionDep, principal: PrincipalDep, intake_id: Id, body: IntakeCorrectionIn
):
    try:
        changes = body.changes()
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    return _out(
        session, service.correct(session, principal=principal, intake_id=intake_id, changes=changes)
    )


@router.post(
    "/intakes/{intake_id}/confirm",
    response_model=IntakeOut,
    summary="Submit the draft as an order (discount approval, ERP); repeatable",
)
def confirm_intake(session: SessionDep, principal: PrincipalDep, intake_id: Id):
    return _out(session, service.confirm(session, principal=principal, intake_id=intake_id))
