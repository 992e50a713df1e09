from pydantic import BaseModel, Field

from sfa.events.registry import EventType


class EventTypeOut(BaseModel):
    name: str
    subject_kind: str
    description: str
    payload_schema: dict = Field(description="the JSON schema of the event's payload")

    @classmethod
    def of(cls, event_type: EventType) -> "EventTypeOut":
        return cls(
            name=event_type.name,
            subject_kind=event_type.subject_kind,
            description=event_type.description,
            payload_schema=event_type.schema(),
        )
