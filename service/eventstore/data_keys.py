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
    missing = {want.slot: want for want in wanted}
    found: dict[tuple[str, str], tuple[str, bytes]] = {}
    if not missing:
        return found
    vault = current()
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


@dataclass(frozen=True, slots=True)
class KeyPlan:
    """The keys each event is sealed with (None: nothing personal in it), and the keys of one
    comment each that were made for them and are still to be stored (`FRESH_COLUMNS`): with
    the events themselves (appends.APPEND) or by `store_fresh`, in the same transaction."""

    sealing: list[SealingKeys | None]
    fresh: list[tuple[str, str, str, bytes]]


# (key id, site, KEK id, wrapped) of keys that have no owner: nobody else can make them.
STORE_FRESH = """
INSERT INTO data_keys (key_id, site, kek_id, wrapped)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[])
"""


async def keys_for(
    connection: Connection, events: Sequence[Event], today: date | None = None
) -> list[SealingKeys | None]:
    """The keys each event is sealed with (None: nothing personal in it), found or made."""
    plan = await plan_keys(connection, events, today)
    await store_fresh(connection, plan.fresh)
    return plan.sealing


async def store_fresh(connection: Connection, fresh: list[tuple[str, str, str, bytes]]) -> None:
    if fresh:
        await connection.execute(
            STORE_FRESH, *(list(column) for column in zip(*fresh, strict=True))
        )


async def plan_keys(
    connection: Connection,
    events: Sequence[Event],
    today: date | None = None,
    day_key: tuple[str, str, bytes] | None = None,
) -> KeyPlan:
    """The keys for `events`: a comment's own key is made here, without asking the database
    (its id is new); an author's and the day's are found, or made if missing, in one statement,
    unless `day_key` (as stored: key id, KEK id, wrapped) is today's and no author has one."""
    vault = current()
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
    found: dict[tuple[str, str], tuple[str, bytes]] = {}
    fresh: list[tuple[str, str, str, bytes]] = []
    for want in wanted.values():
        if want.owner is None:
            key, wrapped = vault.new_data_key(want.key_id)
            found[want.slot] = (want.key_id, key)
            fresh.append((want.key_id, want.site, vault.kek_id, wrapped))
    day_wanted = Wanted(day, "", day)
    asked = [want for want in wanted.values() if want.owner is not None]
    if any(event.ip_fields for event in events):
        if day_key is not None and day_key[0] == day:
            found[day_wanted.slot] = (day, unwrapped(vault, *day_key))
        else:
            asked.append(day_wanted)
    found |= await find_or_make(connection, asked)
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
    return KeyPlan(result, fresh)


# (vault, key id, KEK id, wrapped) -> key, of the few shared keys (the day's) every batch reads.
UNWRAPPED: dict[tuple[Vault, str, str, bytes], bytes] = {}


def unwrapped(vault: Vault, key_id: str, wrapped_by: str, wrapped: bytes) -> bytes:
    """A stored key, unwrapped once per process: its wrapped bytes name it (a random nonce
    each), so a key destroyed and made again, or another database's, is another entry."""
    place = (vault, key_id, wrapped_by, wrapped)
    key = UNWRAPPED.get(place)
    if key is None:
        if len(UNWRAPPED) >= 64:
            UNWRAPPED.clear()
        key = UNWRAPPED[place] = vault.unwrap(key_id, wrapped_by, wrapped)
    return key


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
