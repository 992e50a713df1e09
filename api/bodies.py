"""Request bodies read only after the caller is authenticated.

FastAPI reads and parses a declared body (`body: Model`) before it solves any dependency,
so an anonymous client could make the process parse megabytes before it is told 401. The
mobile app's and tracker apps' endpoints, which run on the event loop, take their body
as `Annotated[Model, json_body(Model, principal)]` instead: a dependency that depends on
the principal, so it runs after authentication (and a type checker reads the parameter
as the model), and validates the raw bytes in one pass with pydantic's
JSON parser (nesting deeper than 200 levels is refused by that parser, never recursed
into). Every other endpoint still has FastAPI read its body, but only once `api.gate` has
seen credentials that can be valid and within the route's size limit (api/gate.py).
"""

import email.message
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError


def is_json(content_type: str | None) -> bool:
    """FastAPI's rule for JSON bodies (strict content type): application/json or +json."""
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def invalid(
    errors: Sequence[Mapping[str, Any]], prefix: tuple = ("body",)
) -> RequestValidationError:
    """A RequestValidationError (422 in the error envelope) from pydantic's errors."""
    return RequestValidationError(
        [{"type": e["type"], "loc": (*prefix, *e.get("loc", ())), "msg": e["msg"]} for e in errors]
    )


async def raw_json(request: Request) -> bytes:
    """The body's bytes; refused when missing or not declared as JSON."""
    body = await request.body()
    if not body:
        raise invalid([{"type": "missing", "loc": (), "msg": "Field required"}])
    if not is_json(request.headers.get("content-type")):
        raise invalid(
            [
                {
                    "type": "content_type",
                    "loc": (),
                    "msg": "the body must be JSON, sent with Content-Type: application/json",
                }
            ]
        )
    return body


def request_body_doc(model: Any) -> dict:
    """The OpenAPI requestBody of an endpoint that reads its body itself."""
    schema = _inline(TypeAdapter(model).json_schema())
    return {"requestBody": {"content": {"application/json": {"schema": schema}}, "required": True}}


def _inline(schema: dict) -> dict:
    """The schema with its $defs written in place (they are not in the document's
    components); the models read this way are not recursive."""
    defs = schema.pop("$defs", {})

    def resolve(node):
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return resolve(schema)


def json_body(model: Any, principal: Any) -> Any:
    """The `Depends` of a body parameter `Annotated[model, json_body(model, principal)]`:
    the body validated as `model` after `principal` (the PrincipalDep or LoopPrincipalDep
    the endpoint uses, solved once per request)."""
    adapter = TypeAdapter(model)

    async def read(request: Request, _caller: principal) -> Any:
        body = await raw_json(request)
        try:
            return adapter.validate_json(body)
        except ValidationError as exc:
            raise invalid(exc.errors(include_url=False, include_input=False)) from None

    read.body_model = model  # type: ignore[attr-defined]  # seen by tests/unit/test_schema_bounds.py
    return Depends(read)
