"""Event <-> stored row. A stored shape that changes gets a new schema_version and an upcaster
that lifts old rows to the current shape when they are read.

An event's public fields are its `data`, which subscribers receive; its private fields (see
`Event.private_fields`) go into its `metadata` under `private`, which nobody outside receives.
Its personal fields (`Event.personal_fields`, `Event.ip_fields`) are stored sealed, in the
metadata under `sealed` and `ip` (see vault.py): the stored `data` lacks them, and they come
back (public ones into `data`) only while their keys exist. An event whose author was erased
decodes with them empty and `erased` set; its `data` says `"erased": true`.
"""

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag

from service.domain.events import EVENT_TYPES, CommentReported, Event, NewComment
from service.eventstore import vault

JsonObject = dict[str, Any]
Upcaster = Callable[[JsonObject], JsonObject]

# (type, stored schema_version) -> function returning the data of schema_version + 1.
UPCASTERS: dict[tuple[str, int], Upcaster] = {}

PRIVATE = "private"
SEALED = "sealed"
IP = "ip"


class UnknownEventType(Exception):
    pass


@dataclass(frozen=True, slots=True)
class SealingKeys:
    """The keys one event is sealed with: its author's (key id, key), and the day's."""

    author: tuple[str, bytes] | None
    day: tuple[str, bytes] | None


@dataclass(frozen=True, slots=True)
class Encoded:
    type: str
    schema_version: int
    # What subscribers receive, and what the log stores.
    data: JsonObject
    stored_data: JsonObject
    private: JsonObject


def compact(value: object) -> str:
    """The one JSON form the service writes: no spaces, UTF-8 kept as it is. orjson writes it
    for what it can (it refuses a lone surrogate, an integer past 64 bits, a key that is not a
    string); the standard library the rest, in the same form."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError among them
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def box_context(event_type: str, data: JsonObject, part: str) -> bytes:
    """What a sealed box belongs to: moved to another event, it does not open."""
    return f"{event_type}\x00{data.get('site')}\x00{data.get('comment_id')}\x00{part}".encode()


def sealed_box(key_id: str | None, key: bytes, values: JsonObject, context: bytes) -> JsonObject:
    box = vault.seal(key, compact(values).encode(), context)
    return {"key": key_id, "box": base64.b64encode(box).decode()}


def encode(event: Event, keys: SealingKeys | None = None) -> Encoded:
    """Without keys nothing is sealed (only for events with no personal fields)."""
    dumped = event.model_dump(mode="json")
    hidden, personal = event.private_fields, event.personal_fields | event.ip_fields
    data = {name: value for name, value in dumped.items() if name not in hidden}
    private = {
        name: value
        for name, value in dumped.items()
        if name in hidden and name not in personal and value is not None
    }
    if not personal:
        return Encoded(event.event_type, event.schema_version, data, data, private)
    if keys is None:
        raise ValueError(f"{event.event_type} has personal fields: it needs keys to be stored")
    stored = {name: value for name, value in data.items() if name not in personal}
    if event.personal_fields:
        assert keys.author is not None, "personal fields need the author's key"
        key_id, key = keys.author
        mine = {name: dumped.get(name) for name in event.personal_fields}
        context = box_context(event.event_type, stored, SEALED)
        private[SEALED] = sealed_box(key_id, key, mine, context)
    ips = {name: dumped[name] for name in event.ip_fields if dumped.get(name) is not None}
    if ips:
        assert keys.day is not None, "IP digests need the day's key"
        day_id, day_key = keys.day
        author_id, key = (None, day_key)
        if keys.author is not None:
            author_id, key = keys.author[0], vault.combined_key(keys.author[1], day_key)
        box = sealed_box(author_id, key, ips, box_context(event.event_type, stored, IP))
        private[IP] = box | {"day": day_id}
    return Encoded(event.event_type, event.schema_version, data, stored, private)


def with_private(metadata: JsonObject, encoded: Encoded) -> JsonObject:
    """The metadata to store with an encoded event."""
    return metadata | {PRIVATE: encoded.private} if encoded.private else metadata


def key_ids(metadata: JsonObject) -> set[str]:
    """The keys a stored event's sealed fields need."""
    private = metadata.get(PRIVATE) or {}
    wanted = {box["key"] for box in (private.get(SEALED), private.get(IP)) if box and box["key"]}
    if private.get(IP):
        wanted.add(private[IP]["day"])
    return wanted


def open_box(box: JsonObject, key: bytes, context: bytes) -> JsonObject | None:
    try:
        opened: JsonObject = orjson.loads(vault.unseal(key, base64.b64decode(box["box"]), context))
    except InvalidTag:
        return None
    return opened


def unsealed(
    event_type: str, data: JsonObject, private: JsonObject, keys: Mapping[str, bytes]
) -> tuple[JsonObject, JsonObject, bool]:
    """(personal fields that opened, private fields, erased)."""
    found: JsonObject = {}
    erased = False
    sealed, ip = private.get(SEALED), private.get(IP)
    rest = {name: value for name, value in private.items() if name not in (SEALED, IP)}
    if sealed is not None:
        key = keys.get(sealed["key"])
        context = box_context(event_type, data, SEALED)
        opened = None if key is None else open_box(sealed, key, context)
        erased = opened is None
        found |= opened or {}
    if ip is not None and not erased:
        day_key, author_key = keys.get(ip["day"]), keys.get(ip["key"]) if ip["key"] else None
        if day_key is not None and (author_key is not None or not ip["key"]):
            key = day_key if author_key is None else vault.combined_key(author_key, day_key)
            found |= open_box(ip, key, box_context(event_type, data, IP)) or {}
    return found, rest, erased


def decode(
    event_type: str,
    schema_version: int,
    data: JsonObject,
    metadata: JsonObject,
    keys: Mapping[str, bytes] | None = None,
) -> tuple[Event, JsonObject]:
    """The event and its public data, its sealed fields opened with `keys` (key id -> key)."""
    cls = EVENT_TYPES.get(event_type)
    if cls is None:
        raise UnknownEventType(event_type)
    while schema_version < cls.schema_version:
        data = UPCASTERS[(event_type, schema_version)](data)
        schema_version += 1
    if not cls.private_fields and not cls.personal_fields:
        return validated(cls, data), data
    private = metadata[PRIVATE] if PRIVATE in metadata else legacy_private(cls, metadata)
    if SEALED not in private and IP not in private:
        return validated(cls, data | private), data  # written before sealing
    found, rest, erased = unsealed(event_type, data, private, keys or {})
    if erased:
        public = data | {"erased": True}
        return validated(cls, data | rest | cls.erased_values() | {"erased": True}), public
    public = data | {name: value for name, value in found.items() if name not in cls.private_fields}
    return validated(cls, data | rest | found), public


def validated(cls: type[Event], fields: JsonObject) -> Event:
    """`cls.model_validate(fields)`, without its wrapper's cost (a replay validates every
    event of the log)."""
    event: Event = cls.__pydantic_validator__.validate_python(fields)
    return event


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
