"""Event <-> stored row. A stored shape that changes gets a new schema_version and an upcaster
that lifts old rows to the current shape when they are read.

An event's public fields are its `data`, which subscribers receive; its private fields (see
`Event.private_fields`) go into its `metadata` under `private`, which nobody outside receives.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from service.domain.events import EVENT_TYPES, CommentReported, Event, NewComment

JsonObject = dict[str, Any]
Upcaster = Callable[[JsonObject], JsonObject]

# (type, stored schema_version) -> function returning the data of schema_version + 1.
UPCASTERS: dict[tuple[str, int], Upcaster] = {}

PRIVATE = "private"


class UnknownEventType(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Encoded:
    type: str
    schema_version: int
    data: JsonObject
    private: JsonObject


def compact(value: object) -> str:
    """The one JSON form the service writes: no spaces, UTF-8 kept as it is."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def encode(event: Event) -> Encoded:
    private = event.model_dump(mode="json", include=set(event.private_fields), exclude_none=True)
    data = event.model_dump(mode="json", exclude=set(event.private_fields))
    return Encoded(event.event_type, event.schema_version, data, private)


def with_private(metadata: JsonObject, encoded: Encoded) -> JsonObject:
    """The metadata to store with an encoded event."""
    return metadata | {PRIVATE: encoded.private} if encoded.private else metadata


def decode(event_type: str, schema_version: int, data: JsonObject, metadata: JsonObject) -> Event:
    cls = EVENT_TYPES.get(event_type)
    if cls is None:
        raise UnknownEventType(event_type)
    while schema_version < cls.schema_version:
        data = UPCASTERS[(event_type, schema_version)](data)
        schema_version += 1
    if not cls.private_fields:
        return cls.model_validate(data)
    private = metadata[PRIVATE] if PRIVATE in metadata else legacy_private(cls, metadata)
    return cls.model_validate(data | private)


def legacy_private(cls: type[Event], metadata: JsonObject) -> JsonObject:
    """The private fields of an event stored before they had a place of their own, from the
    metadata keys that held them then (the client's IP hash is the reporter's and the author's;
    the name-and-IP hash was kept only when no email was given)."""
    found: JsonObject = {}
    if issubclass(cls, NewComment):
        found = {
            "delete_token_sha256": metadata.get("delete_token_sha256"),
            "author_email_hash": metadata.get("author_email_hash"),
            "author_ip_hash": metadata.get("ip_hash"),
        }
        if "author_email_hash" not in metadata:
            found["author_name_ip_hash"] = metadata.get("author_key")
    elif issubclass(cls, CommentReported):
        found = {"reporter_hash": metadata.get("ip_hash")}
    return {name: value for name, value in found.items() if value is not None}
