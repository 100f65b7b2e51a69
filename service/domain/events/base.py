"""What every event is made of: the frozen base, the fields that say where it belongs and which
of its facts are private or personal, and the field types events share."""

from typing import Annotated, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def bytes_from_hex(value: object) -> object:
    return bytes.fromhex(value) if isinstance(value, str) else value


# A digest: bytes in Python, hex in JSON.
HexBytes = Annotated[
    bytes, BeforeValidator(bytes_from_hex), PlainSerializer(bytes.hex, when_used="json")
]


class Event(Frozen):
    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1
    # Facts only the write side needs (digests of a secret or of who acted): stored with the
    # event, in its metadata, and never published, so the decision state can be rebuilt from
    # the log without subscribers learning them.
    private_fields: ClassVar[frozenset[str]] = frozenset()
    # Facts about a person, stored sealed under their key (see eventstore/vault.py), and the
    # digests of IP addresses, sealed under their key and the day's (kept for a while only).
    personal_fields: ClassVar[frozenset[str]] = frozenset()
    ip_fields: ClassVar[frozenset[str]] = frozenset()
    site: str

    @classmethod
    def erased_values(cls) -> dict[str, object]:
        """What the personal fields read as once their key is destroyed."""
        return {}


class PostEvent(Event):
    """An event of one post's stream (its thread)."""

    post_id: str
