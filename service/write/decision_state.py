"""Loading the write side's decision state: one row per post (locked by every append to its
thread) and one row per comment, kept by the `write_model` projection. Loading it costs the
same whatever the thread's size."""

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from service.db import Connection
from service.domain.commands import (
    Command,
    CommentCommand,
    DeleteComment,
    ImportComment,
    NamesComment,
    NamesPost,
    PostComment,
)
from service.domain.events import CommentStatus
from service.domain.thread import CommentState, PostState, ThreadState
from service.eventstore.streams import lock_key, site_stream_id
from service.write.idempotency import Kept
from service.write.site_policy import POLICIES, Policy, policies_of, policy_wanted


@dataclass(frozen=True, slots=True)
class LoadedThread:
    # The stream's version once the batch's decided events are appended.
    version: int
    # The stream's last writer before this batch, (epoch, transaction id): an append must not
    # come before it.
    last_writer: tuple[int, int]
    state: ThreadState


# Each post's appends queue on a transaction-scoped advisory lock. Unlike a row lock it takes
# no transaction id, so the id is taken by the first write, after the lock is won: ids then
# grow in each stream's commit order, which the feed's order relies on. Keys are locked in
# ascending order, so batches that share posts cannot deadlock.
# New comments hold their site's lock shared ($1), before their posts' locks ($2), while they
# read and apply its bans; a ban holds it alone (settings changes too) before looking up the
# author's comments. So a new comment either commits before the ban looks (and is removed with
# the others) or is decided after the ban (and refused). Both take the site's lock first: no
# cycle. One round trip: UNION ALL runs its branches in order (the lock functions are parallel
# restricted, so never in a worker), each in its array's order.
LOCK_STREAMS = "SELECT pg_advisory_xact_lock(key) FROM unnest($1::bigint[]) AS key"
LOCK = """
SELECT pg_advisory_xact_lock_shared(key) FROM unnest($1::bigint[]) AS key
UNION ALL
SELECT pg_advisory_xact_lock(key) FROM unnest($2::bigint[]) AS key
"""

# Each post by its primary key, on its own (see LOAD_COMMENTS).
LOAD_STREAMS = """
SELECT s.stream_id, s.version, s.last_epoch,
       s.last_transaction_id::text::bigint AS last_transaction_id, s.deleted, s.title, s.url,
       s.labels, s.published_at, s.closed
FROM unnest($1::text[]) AS w(stream_id)
CROSS JOIN LATERAL (SELECT * FROM streams WHERE stream_id = w.stream_id LIMIT 1) AS s
"""

# Each wanted comment is looked up on its own, by its primary key: a lateral subquery with a
# LIMIT is never flattened into a join, so no plan (a cached generic one made when the table
# was small included) can turn the lookups into a scan of the whole table.
LOAD_COMMENTS = """
SELECT w.site, w.comment_id, c.post_id, c.depth, c.deleted, c.delete_token_sha256, c.status,
       c.created_at, c.email_hash, c.ip_hash, c.name_ip_hash, c.reporters
FROM unnest($1::text[], $2::text[]) AS w(site, comment_id)
CROSS JOIN LATERAL (
    SELECT * FROM stream_comments WHERE site = w.site AND comment_id = w.comment_id LIMIT 1
) AS c
"""

POSTS_OF_COMMENTS = """
SELECT w.site, w.comment_id, c.post_id
FROM unnest($1::text[], $2::text[]) AS w(site, comment_id)
CROSS JOIN LATERAL (
    SELECT post_id FROM stream_comments WHERE site = w.site AND comment_id = w.comment_id
    LIMIT 1
) AS c
"""


def renumbered(sql: str, by: int) -> str:
    """`sql` with its parameters $n moved to $(n + by), to be a part of a larger statement."""
    return re.sub(r"\$(\d+)", lambda number: f"${int(number[1]) + by}", sql)


# What a batch reads under its locks, in one statement: its posts' rows, the comments its
# commands touch, its sites' policies (site_policy.POLICIES), what was kept for its
# Idempotency-Keys and the day's data key, each an array of rows in the columns below. (Rows
# of anonymous records: asyncpg decodes their fields by type, and has no decoder there for a
# uuid[], which goes as text[].)
STREAM_COLUMNS = (
    "stream_id", "version", "last_epoch", "last_transaction_id", "deleted", "title", "url",
    "labels", "published_at", "closed",
)  # fmt: skip
COMMENT_COLUMNS = (
    "site", "comment_id", "post_id", "depth", "deleted", "delete_token_sha256", "status",
    "created_at", "email_hash", "ip_hash", "name_ip_hash", "reporters",
)  # fmt: skip
LOAD_ALL = f"""
SELECT
    ARRAY(SELECT ROW({", ".join(STREAM_COLUMNS)}) FROM ({LOAD_STREAMS}) AS s) AS streams,
    ARRAY(SELECT ROW({", ".join(COMMENT_COLUMNS)})
          FROM ({renumbered(LOAD_COMMENTS, 1)}) AS c) AS comments,
    ARRAY(SELECT ROW(site, settings, bans, known) FROM ({renumbered(POLICIES, 3)}) AS p)
        AS policies,
    ARRAY(SELECT ROW(key_sha256, request_sha256, event_ids::text[]) FROM idempotency_keys
          WHERE key_sha256 = ANY($7::bytea[])) AS kept,
    ARRAY(SELECT ROW(key_id, kek_id, wrapped) FROM data_keys
          WHERE key_id = $8 AND destroyed_at IS NULL) AS day_key
"""


@dataclass(frozen=True, slots=True)
class Loaded:
    """What a batch read before deciding."""

    threads: dict[str, LoadedThread]
    # Idempotency-Key digest -> what its first request kept.
    kept: dict[bytes, Kept] = field(default_factory=dict)
    # The day's data key as stored, (key id, KEK id, wrapped), when it exists.
    day_key: tuple[str, str, bytes] | None = None


async def posts_of_comments(
    connection: Connection, comments: list[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """(site, comment id) -> post id. A comment never moves, so this needs no lock."""
    if not comments:
        return {}
    sites, comment_ids = zip(*comments, strict=True)
    rows = await connection.fetch(POSTS_OF_COMMENTS, list(sites), list(comment_ids))
    return {(row["site"], row["comment_id"]): row["post_id"] for row in rows}


def lock_statement(requests: list[tuple[str, Command]], begin: bool = False) -> str:
    """LOCK for the commands' sites and posts, as SQL text (the keys are integers), opened by
    BEGIN when `begin`: sent in one simple query, the transaction's start costs no round trip
    of its own."""
    stream_ids = {stream_id for stream_id, _ in requests}
    commenting = {command.site for _, command in requests if isinstance(command, PostComment)}
    shared = sorted({lock_key(site_stream_id(site)) for site in commenting})
    alone = sorted({lock_key(stream_id) for stream_id in stream_ids})
    locks = LOCK.replace("$1", f"'{{{','.join(map(str, shared))}}}'").replace(
        "$2", f"'{{{','.join(map(str, alone))}}}'"
    )
    return f"BEGIN; {locks}" if begin else locks


async def load_for_update(
    connection: Connection,
    requests: list[tuple[str, Command]],
    begin: bool = False,
    idempotency_keys: Sequence[bytes] = (),
    day_key_id: str | None = None,
) -> Loaded:
    """Lock the posts' streams (after BEGIN when `begin`), then read what deciding needs.

    `requests` are (stream id, command). The locks come before the transaction's first write
    (see appends.StaleTransactionOrder), and the state is read by a later statement so that it
    includes what the locks' previous holders committed. Also read under the locks: what
    earlier requests kept for `idempotency_keys`, and the data key `day_key_id` if it exists.
    """
    await connection.execute(lock_statement(requests, begin))
    return await load_all(connection, requests, idempotency_keys, day_key_id)


async def load(
    connection: Connection, requests: list[tuple[str, Command]]
) -> dict[str, LoadedThread]:
    """The decision state of the commands' posts as last committed, without locks: right for
    deciding, under the locks of load_for_update; a look ahead otherwise (see prechecks.py)."""
    return (await load_all(connection, requests)).threads


async def load_all(
    connection: Connection,
    requests: list[tuple[str, Command]],
    idempotency_keys: Sequence[bytes] = (),
    day_key_id: str | None = None,
) -> Loaded:
    """Everything a batch reads before deciding, in one statement (each round trip costs more
    than the reads themselves)."""
    stream_ids = sorted({stream_id for stream_id, _ in requests})
    touched = sorted(
        {(command.site, comment_id) for _, command in requests for comment_id in touches(command)}
    )
    policy_sites, hashes = policy_wanted([command for _, command in requests])
    row = await connection.fetchrow(
        LOAD_ALL,
        stream_ids,
        [site for site, _ in touched],
        [comment_id for _, comment_id in touched],
        policy_sites,
        [site for site, _ in hashes],
        [value for _, value in hashes],
        list(idempotency_keys),
        day_key_id,
    )
    assert row is not None
    found = {stream[0]: dict(zip(STREAM_COLUMNS, stream, strict=True)) for stream in row["streams"]}
    comments = {
        (c[0], c[1]): comment_state(dict(zip(COMMENT_COLUMNS, c, strict=True)))
        for c in row["comments"]
    }
    policies = policies_of(row["policies"])
    loaded: dict[str, LoadedThread] = {}
    for stream_id, command in requests:
        previous = loaded.get(stream_id)
        stream = found.get(stream_id)
        state = previous.state if previous else initial_state(stream, command, policies)
        mine = {
            c: comments[(command.site, c)]
            for c in touches(command)
            if (command.site, c) in comments
        }
        if mine:
            state = state.model_copy(update={"comments": state.comments | mine})
        version, last = (0, (0, 0))
        if stream:
            version, last = stream["version"], (stream["last_epoch"], stream["last_transaction_id"])
        loaded[stream_id] = LoadedThread(version, last, state)
    kept = {
        key: Kept(request, [uuid.UUID(event_id) for event_id in event_ids])
        for key, request, event_ids in row["kept"]
    }
    day_key = row["day_key"][0] if row["day_key"] else None
    return Loaded(loaded, kept, day_key)


def initial_state(stream: Any, command: Command, policies: dict[str, Policy]) -> ThreadState:
    policy = policies.get(command.site, Policy())
    return ThreadState(
        post=post_state(stream),
        settings=policy.settings,
        bans=policy.bans,
        known_authors=policy.known_authors,
    )


def post_state(row: Any) -> PostState | None:
    if row is None:
        return None
    return PostState(
        title=row["title"],
        url=row["url"],
        labels=tuple(row["labels"]),
        published_at=row["published_at"],
        deleted=row["deleted"],
        closed=row["closed"],
    )


def comment_state(row: Any) -> CommentState:
    # Rows older than moderation know only `deleted`.
    status = CommentStatus.DELETED if row["deleted"] else CommentStatus(row["status"])
    return CommentState(
        post_id=row["post_id"],
        depth=row["depth"],
        status=status,
        delete_token_sha256=row["delete_token_sha256"],
        created_at=row["created_at"],
        email_hash=row["email_hash"],
        ip_hash=row["ip_hash"],
        name_ip_hash=row["name_ip_hash"],
        reporters=tuple(row["reporters"]),
    )


def touches(command: Command) -> Iterable[str]:
    match command:
        case PostComment(parent_id=str(parent_id)):
            yield parent_id
        case ImportComment():
            # Its own id too: an import run again finds the comment and causes nothing.
            yield command.comment_id
            if command.parent_id is not None:
                yield command.parent_id
        case DeleteComment() | CommentCommand():
            yield command.comment_id


def post_id_of(command: Command, posts_of: dict[tuple[str, str], str]) -> str | None:
    if isinstance(command, NamesComment):
        return posts_of.get((command.site, command.comment_id))
    if isinstance(command, NamesPost):
        return command.post_id
    raise TypeError(f"unknown command {type(command).__name__}")
