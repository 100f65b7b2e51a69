"""Data keys in PostgreSQL: found or made for the events being appended, opened for the events
being read, destroyed by erasure and retention. Keys are wrapped by the process's Vault, which
`install` sets once (the CLI and the app factory do) since every reader of the log needs it."""

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from service.db import Connection, Pool
from service.domain.events import CommentEdited, Event, NewComment
from service.eventstore.codec import SealingKeys
from service.eventstore.vault import Vault

# The process's vault, or how to load it: made only when the log is first read or written.
installed: list[Vault | Callable[[], Vault]] = []


class NoKek(Exception):
    """No KEK was installed in this process."""


def install(vault: Vault | Callable[[], Vault]) -> None:
    installed[:] = [vault]


def current() -> Vault:
    if not installed:
        raise NoKek("no KEK: set THREADLOG_KEK or THREADLOG_KEK_FILE")
    found = installed[0]
    if not isinstance(found, Vault):
        found = installed[0] = found()
    return found


def day_key_id(day: date) -> str:
    return f"day:{day.isoformat()}"


def email_owner(email_hash: str) -> str:
    return f"email:{email_hash}"


# New keys go in unless their owner has a live key already; those are read in the same
# statement. A key another transaction made after this statement's snapshot is in neither
# half: `keys_for` asks again.
FIND_OR_MAKE = """
WITH wanted AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[])
        AS w(key_id, site, owner, kek_id, wrapped)
), made AS (
    INSERT INTO data_keys (key_id, site, owner, kek_id, wrapped)
    SELECT * FROM wanted
    ON CONFLICT DO NOTHING
    RETURNING key_id, site, owner, kek_id, wrapped
)
SELECT *, true AS made FROM made
UNION ALL
SELECT k.key_id, k.site, k.owner, k.kek_id, k.wrapped, false
FROM wanted w
CROSS JOIN LATERAL (
    SELECT * FROM data_keys d
    WHERE d.site = w.site AND d.owner = w.owner AND d.destroyed_at IS NULL LIMIT 1
) AS k
WHERE w.owner IS NOT NULL
"""

KEYS_OF_COMMENTS = """
SELECT w.comment_id, c.data_key
FROM unnest($2::text[]) AS w(comment_id)
CROSS JOIN LATERAL (
    SELECT data_key FROM stream_comments WHERE site = $1 AND comment_id = w.comment_id LIMIT 1
) AS c
"""

OPEN = """
SELECT w.key_id, k.kek_id, k.wrapped
FROM unnest($1::text[]) AS w(key_id)
CROSS JOIN LATERAL (SELECT kek_id, wrapped FROM data_keys d WHERE d.key_id = w.key_id) AS k
WHERE k.wrapped IS NOT NULL
"""

DESTROY = """
UPDATE data_keys SET wrapped = NULL, kek_id = NULL, owner = NULL, destroyed_at = $2
WHERE key_id = ANY($1::text[]) AND destroyed_at IS NULL
RETURNING key_id
"""


def author_owner(event: NewComment) -> str | None:
    """One key per email digest; without an email, one per comment."""
    return email_owner(event.author_email_hash) if event.author_email_hash else None


@dataclass(frozen=True, slots=True)
class Wanted:
    """A key an append needs: an owner's (found, or made with `key_id`), or a comment's own."""

    key_id: str
    site: str
    owner: str | None

    @property
    def slot(self) -> tuple[str, str]:
        return (self.site, self.owner or self.key_id)


async def find_or_make(
    connection: Connection, wanted: Iterable[Wanted]
) -> dict[tuple[str, str], tuple[str, bytes]]:
    """slot -> (key id, key) of every wanted key."""
    vault = current()
    missing = {want.slot: want for want in wanted}
    found: dict[tuple[str, str], tuple[str, bytes]] = {}
    for _ in range(3):
        if not missing:
            return found
        asked = list(missing.values())
        fresh = {want.key_id: vault.new_data_key(want.key_id) for want in asked}
        rows = await connection.fetch(
            FIND_OR_MAKE,
            [want.key_id for want in asked],
            [want.site for want in asked],
            [want.owner for want in asked],
            [vault.kek_id] * len(asked),
            [fresh[want.key_id][1] for want in asked],
        )
        for row in rows:
            slot = (row["site"], row["owner"] or row["key_id"])
            # A day key's id is its day's: only a row this statement made has the fresh key.
            if row["made"]:
                key = fresh[row["key_id"]][0]
            else:
                key = vault.unwrap(row["key_id"], row["kek_id"], row["wrapped"])
            found[slot] = (row["key_id"], key)
            missing.pop(slot, None)
    raise RuntimeError("data keys kept changing under this append; try again")


async def keys_for(
    connection: Connection, events: Sequence[Event], today: date | None = None
) -> list[SealingKeys | None]:
    """The keys each event is sealed with (None: nothing personal in it), found or made."""
    day = day_key_id(today or datetime.now(UTC).date())
    wanted: dict[int, Wanted] = {}
    comment_slots: dict[tuple[str, str], tuple[str, str]] = {}
    edited: list[CommentEdited] = []
    for index, event in enumerate(events):
        if isinstance(event, NewComment):
            owner = author_owner(event)
            wanted[index] = Wanted(str(uuid.uuid4()), event.site, owner)
            comment_slots[(event.site, event.comment_id)] = wanted[index].slot
        elif isinstance(event, CommentEdited):
            edited.append(event)
    # An edit is sealed under its comment's key: made in this append, or stored with it.
    earlier = [e for e in edited if (e.site, e.comment_id) not in comment_slots]
    stored = await stored_keys(connection, earlier)
    for index, event in enumerate(events):
        place = (event.site, getattr(event, "comment_id", ""))
        if isinstance(event, CommentEdited) and place not in comment_slots | stored:
            # Written before keys were: its edits get a key of their own.
            wanted[index] = Wanted(str(uuid.uuid4()), event.site, None)
            comment_slots[place] = wanted[index].slot
    day_wanted = Wanted(day, "", day)
    needs_day = any(event.ip_fields for event in events)
    found = await find_or_make(connection, [*wanted.values(), *([day_wanted] if needs_day else [])])
    day_pair = found.get(day_wanted.slot)
    result: list[SealingKeys | None] = []
    for index, event in enumerate(events):
        if isinstance(event, CommentEdited):
            place = (event.site, event.comment_id)
            pair = stored[place] if place in stored else found[comment_slots[place]]
            result.append(SealingKeys(pair, None))
        elif index in wanted:
            result.append(SealingKeys(found[wanted[index].slot], day_pair))
        elif event.ip_fields:
            result.append(SealingKeys(None, day_pair))
        else:
            result.append(None)
    return result


async def stored_keys(
    connection: Connection, edited: list[CommentEdited]
) -> dict[tuple[str, str], tuple[str, bytes]]:
    """(site, comment id) -> (key id, key) of comments stored with a live key."""
    key_of: dict[tuple[str, str], str] = {}
    for site in sorted({event.site for event in edited}):
        named = sorted({event.comment_id for event in edited if event.site == site})
        for row in await connection.fetch(KEYS_OF_COMMENTS, site, named):
            if row["data_key"] is not None:
                key_of[(site, row["comment_id"])] = row["data_key"]
    opened = await open_keys(connection, set(key_of.values()))
    return {place: (key_id, opened[key_id]) for place, key_id in key_of.items() if key_id in opened}


async def open_keys(connection: Connection | Pool, key_ids: Iterable[str]) -> dict[str, bytes]:
    """key id -> key, of the keys that still exist."""
    wanted = sorted(set(key_ids))
    if not wanted:
        return {}
    vault = current()
    rows = await connection.fetch(OPEN, wanted)
    return {row["key_id"]: vault.unwrap(*row) for row in rows}


async def destroy(connection: Connection, key_ids: Iterable[str], at: datetime) -> list[str]:
    """Destroy keys (those still alive); returns the ids destroyed now."""
    rows = await connection.fetch(DESTROY, sorted(set(key_ids)), at)
    return [row["key_id"] for row in rows]
