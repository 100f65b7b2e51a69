"""Event <-> stored row. A stored shape that changes gets a new schema_version and an upcaster
that lifts old rows to the current shape when they are read."""

import json
from collections.abc import Callable
from typing import Any

from service.domain.events import EVENT_TYPES, Event

JsonObject = dict[str, Any]
Upcaster = Callable[[JsonObject], JsonObject]

# (type, stored schema_version) -> function returning the data of schema_version + 1.
UPCASTERS: dict[tuple[str, int], Upcaster] = {}


class UnknownEventType(Exception):
    pass


def compact(value: object) -> str:
    """The one JSON form the service writes: no spaces, UTF-8 kept as it is."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def encode(event: Event) -> tuple[str, int, JsonObject]:
    return event.event_type, event.schema_version, event.model_dump(mode="json")


def decode(event_type: str, schema_version: int, data: JsonObject) -> Event:
    cls = EVENT_TYPES.get(event_type)
    if cls is None:
        raise UnknownEventType(event_type)
    while schema_version < cls.schema_version:
        data = UPCASTERS[(event_type, schema_version)](data)
        schema_version += 1
    return cls.model_validate(data)
