"""Response models that are also CSV rows: their columns are known from the model alone.

Nested models become dotted columns (`location.lat`), lists of plain values are joined
with ';', other structures (objects, lists of objects) are compact JSON, null is empty.
A model may leave fields out (`csv_exclude`) and add columns of its own by overriding
`csv_columns` and `csv_row`.
"""

import json
import types
from typing import Any, ClassVar, Union, get_args, get_origin

from pydantic import BaseModel


class CsvRow(BaseModel):
    """A response model that is also a CSV row (see the module docstring)."""

    # Fields left out of the CSV (a subclass adds its own columns for them instead).
    csv_exclude: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def csv_columns(cls) -> list[str]:
        return [
            c
            for name in cls.model_fields
            if name not in cls.csv_exclude
            for c in _columns(cls, name)
        ]

    def csv_row(self) -> dict[str, Any]:
        row: dict[str, Any] = {}
        data = self.model_dump(mode="json")
        for name in type(self).model_fields:
            if name not in self.csv_exclude:
                _flatten(row, name, data[name], _nested_model(type(self), name))
        return row


def _nested_model(model: type[BaseModel], name: str) -> type[BaseModel] | None:
    """The model of a field typed `SomeModel` or `SomeModel | None`, else None."""
    annotation = model.model_fields[name].annotation
    candidates = (
        get_args(annotation)
        if get_origin(annotation) in (Union, types.UnionType)
        else (annotation,)
    )
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _columns(model: type[BaseModel], name: str) -> list[str]:
    nested = _nested_model(model, name)
    if nested is None:
        return [name]
    return [f"{name}.{c}" for sub in nested.model_fields for c in _columns(nested, sub)]


def _flatten(row: dict[str, Any], name: str, value: Any, nested: type[BaseModel] | None) -> None:
    if nested is not None:
        for sub in nested.model_fields:
            inner = value.get(sub) if isinstance(value, dict) else None
            _flatten(row, f"{name}.{sub}", inner, _nested_model(nested, sub))
    else:
        row[name] = csv_cell(value)


def csv_cell(value: Any) -> Any:
    """One value as a CSV cell: empty for null, ';'-joined plain lists, JSON otherwise."""
    if value is None:
        return ""
    if isinstance(value, list) and not any(isinstance(v, dict | list) for v in value):
        return ";".join(map(str, value))
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return value
