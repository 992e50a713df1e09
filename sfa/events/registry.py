"""The registry of event types: each has a subject kind, a description and a pydantic
payload model, whose JSON schema is published at `GET /v1/event-types`. The catalogue
(sfa/events/types.py) registers them; `service` and `consumers` import it, so every type
is known wherever events are emitted or consumed. An event of a
type not registered here, or with a payload its model refuses, is never written."""

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, ValidationError


class InvalidEvent(ValueError):
    """An emitter's bug: an unknown type, a wrong subject kind or a payload its model
    refuses. Never the caller's input: the change it came with is rolled back."""


class Payload(BaseModel):
    """Base of every payload: unknown fields are refused, so a payload is its schema."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class EventType:
    name: str
    subject_kind: str
    description: str
    payload: type[Payload]

    def schema(self) -> dict:
        return self.payload.model_json_schema()

    def validate(self, payload: Payload | dict) -> dict:
        """The payload as JSON-ready data, after its model has checked it."""
        if isinstance(payload, Payload) and not isinstance(payload, self.payload):
            raise InvalidEvent(f"{self.name} takes a {self.payload.__name__} payload")
        try:
            model = (
                payload if isinstance(payload, Payload) else self.payload.model_validate(payload)
            )
        except ValidationError as exc:
            raise InvalidEvent(f"payload of event {self.name} is not valid: {exc}") from exc
        return model.model_dump(mode="json")


_TYPES: dict[str, EventType] = {}


def define(name: str, *, subject_kind: str, payload: type[Payload], description: str) -> str:
    """Register an event type; returns its name (the constant emitters use)."""
    if name in _TYPES and _TYPES[name].payload is not payload:
        raise ValueError(f"event type {name} is defined twice")
    _TYPES[name] = EventType(name, subject_kind, description, payload)
    return name


def find(name: str) -> EventType | None:
    return _TYPES.get(name)


def get(name: str) -> EventType:
    found = find(name)
    if found is None:
        raise InvalidEvent(f"unknown event type {name!r} (sfa/events/types.py lists them)")
    return found


def all_types() -> list[EventType]:
    return sorted(_TYPES.values(), key=lambda t: t.name)
