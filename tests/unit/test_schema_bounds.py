"""Every value a route takes from outside is bounded by the shared schema types.

Walks every route's path, query, header and body fields (models recursively, bodies read
by `api.bodies.json_body` included) and fails on an integer without 64-bit bounds, a
string that may hold NUL, or a date or time without bounds: the classes of input the
fuzzer turned into 500s (issue 12). A new route passes once it uses the types of
api/schemas/common.py (Id, Offset, Int64, Text, Day, Instant, EventTime) or constraints
as tight.
"""

import datetime as dt
import enum
import re
import types
import typing
import uuid
from decimal import Decimal

import annotated_types
import fastapi.routing
import pydantic
import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from api.main import create_app
from sfa.limits import INT64_MAX, INT64_MIN

_SAFE = (bool, float, Decimal, uuid.UUID, bytes, typing.Any)
# pydantic's own date and time types are classes of their own, not subclasses of date.
_PYDANTIC_TIMES = (
    pydantic.AwareDatetime,
    pydantic.NaiveDatetime,
    pydantic.PastDate,
    pydantic.FutureDate,
    pydantic.PastDatetime,
    pydantic.FutureDatetime,
)


def _metadata(annotation) -> tuple[object, list]:
    """(bare type, constraint metadata) of an annotation, Annotated layers unwrapped."""
    found: list = []
    while typing.get_origin(annotation) is typing.Annotated:
        annotation, *extra = typing.get_args(annotation)
        for item in extra:
            found.append(item)
            if isinstance(item, FieldInfo):
                found.extend(item.metadata)
    return annotation, found


def _bound(metadata, kinds) -> float | None:
    for item in metadata:
        for kind, attr in kinds:
            if isinstance(item, kind):
                return getattr(item, attr)
    return None


def _problems(annotation, metadata: list, where: str, seen: set) -> list[str]:
    annotation, more = _metadata(annotation)
    metadata = metadata + more
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return [
            p
            for arm in typing.get_args(annotation)
            if arm is not type(None)
            for p in _problems(arm, metadata, where, seen)
        ]
    if origin in (list, tuple, set, frozenset, dict):
        args = typing.get_args(annotation)
        return [p for arg in args if arg is not Ellipsis for p in _problems(arg, [], where, seen)]
    if origin is typing.Literal or annotation in _SAFE:
        return []
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return []
    checked = any(getattr(m, "bounds_check", False) for m in metadata) or any(
        getattr(getattr(m, "func", None), "bounds_check", False) for m in metadata
    )
    if annotation is int:
        low = _bound(metadata, [(annotated_types.Ge, "ge"), (annotated_types.Gt, "gt")])
        high = _bound(metadata, [(annotated_types.Le, "le"), (annotated_types.Lt, "lt")])
        if low is None or high is None or low < INT64_MIN or high > INT64_MAX:
            return [f"{where}: int without 64-bit bounds (use Id, Offset or Int64)"]
        return []
    if annotation is str:
        pattern = next((m.pattern for m in metadata if hasattr(m, "pattern") and m.pattern), None)
        if checked or (pattern and re.search(pattern, "a\x00b") is None):
            return []
        return [f"{where}: str that may hold NUL (use Text)"]
    if annotation in (dt.date, dt.datetime, *_PYDANTIC_TIMES) or (
        isinstance(annotation, type) and issubclass(annotation, dt.date)
    ):
        low = _bound(metadata, [(annotated_types.Ge, "ge"), (annotated_types.Gt, "gt")])
        if checked or low is not None:
            return []
        return [f"{where}: {annotation.__name__} without bounds (use Day, Instant or EventTime)"]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation in seen:
            return []
        seen.add(annotation)
        return [
            p
            for name, field in annotation.model_fields.items()
            for p in _problems(
                field.rebuild_annotation(), list(field.metadata), f"{where}.{name}", seen
            )
        ]
    if typing.is_typeddict(annotation):
        hints = typing.get_type_hints(annotation, include_extras=True)
        return [
            p for name, hint in hints.items() for p in _problems(hint, [], f"{where}.{name}", seen)
        ]
    if typing.get_origin(annotation) in (typing.Required, typing.NotRequired):
        return _problems(typing.get_args(annotation)[0], metadata, where, seen)
    return []  # Request, UploadFile, Response, …: not values from the client


def _fields(dependant):
    for field in (
        *dependant.path_params,
        *dependant.query_params,
        *dependant.header_params,
        *dependant.body_params,
    ):
        yield field.name, field.field_info.annotation, field.field_info
    model = getattr(dependant.call, "body_model", None)
    if model is not None:
        yield "body", model, None
    for sub in dependant.dependencies:
        yield from _fields(sub)


def _route_problems(route: APIRoute) -> list[str]:
    problems = []
    for name, annotation, info in _fields(route.dependant):
        metadata = list(info.metadata) if info is not None else []
        if info is not None and info.annotation is not None:
            annotation = info.rebuild_annotation()
        problems += _problems(annotation, metadata, name, set())
    return problems


def _api_routes(app) -> list[APIRoute]:
    # FastAPI includes routers lazily: app.routes holds the included routers themselves.
    contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    routes = [c.original_route for c in contexts(app.routes)] if contexts else app.routes
    return [r for r in routes if isinstance(r, APIRoute)]


ROUTES = _api_routes(create_app())


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{sorted(r.methods)[0]} {r.path}")
def test_every_input_is_bounded(route):
    assert _route_problems(route) == []


def test_the_walker_sees_unbounded_fields():
    class Loose(BaseModel):
        n: int
        s: str | None
        when: dt.date
        at: pydantic.AwareDatetime
        items: list[int]

    found = _problems(Loose, [], "body", set())
    assert len(found) == 5, found
