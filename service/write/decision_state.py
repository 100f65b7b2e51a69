"""The write side's decision state: one row per post (locked by every append to its thread)
and one row per comment. Loading it costs the same whatever the thread's size."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from service.db import Connection
from service.domain.commands import (
    Command,
    CommentCommand,
    DeleteComment,
    DeletePost,
    PostComment,
    PublishPost,
    ReportComment,
    ThreadCommand,
)
from service.domain.events import (
    CommentApproved,
    CommentDeleted,
    CommentEvent,
    CommentStatus,
    Event,
    NewComment,
)
from service.domain.thread import CommentState, PostState, ThreadState, evolve
from service.eventstore.streams import lock_key, site_stream_id
from service.write.site_policy import Policy, load_policies


@dataclass(frozen=True, slots=True)
class LoadedThread:
    stream_id: str
    site: str
    post_id: str
    version: int
    last_transaction_id: int
    state: ThreadState


# Each post's appends queue on a transaction-scoped advisory lock. Unlike a row lock it takes
# no transaction id, so the id is taken by the first write, after the lock is won: ids then
# grow in each stream's commit order, which the feed's order relies on. Keys are locked in
# ascending order, so batches that share posts cannot deadlock.
LOCK_STREAMS = "SELECT pg_advisory_xact_lock(key) FROM unnest($1::bigint[]) AS key"
# New comments hold their site's lock shared, before their posts' locks, while they read and
# apply its bans; a ban holds it alone (settings changes too) before looking up the author's
# comments. So a new comment either commits before the ban looks (and is removed with the
# others) or is decided after the ban (and refused). Both take the site's lock first: no cycle.
SHARE_SITES = "SELECT pg_advisory_xact_lock_shared(key) FROM unnest($1::bigint[]) AS key"

LOAD_STREAMS = """
SELECT stream_id, version, last_transaction_id::text::bigint AS last_transaction_id, deleted,
       title, url, labels, published_at, closed
FROM streams WHERE stream_id = ANY($1::text[])
"""

LOAD_COMMENTS = """
SELECT site, comment_id, post_id, depth, deleted, delete_token_sha256, status, created_at,
       email_hash, ip_hash, name_ip_hash, reporters
FROM stream_comments JOIN unnest($1::text[], $2::text[]) AS wanted(site, comment_id)
     USING (site, comment_id)
"""

POSTS_OF_COMMENTS = """
SELECT site, comment_id, post_id
FROM stream_comments JOIN unnest($1::text[], $2::text[]) AS wanted(site, comment_id)
     USING (site, comment_id)
"""


async def posts_of_comments(
    connection: Connection, comments: list[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """(site, comment id) -> post id. A comment never moves, so this needs no lock."""
    if not comments:
        return {}
    sites, comment_ids = zip(*comments, strict=True)
    rows = await connection.fetch(POSTS_OF_COMMENTS, list(sites), list(comment_ids))
    return {(row["site"], row["comment_id"]): row["post_id"] for row in rows}


async def load_for_update(
    connection: Connection, requests: list[tuple[str, str, str, Command]]
) -> dict[str, LoadedThread]:
    """Lock the posts' rows, then read the comments the commands touch.

    `requests` are (stream id, site, post id, command). The locks come before the
    transaction's first write (see store.StaleTransactionOrder), and the state is read by later
    statements so that it includes what the locks' previous holders committed.
    """
    stream_ids = sorted({request[0] for request in requests})
    commenting = {command.site for *_, command in requests if isinstance(command, PostComment)}
    if commenting:
        keys = sorted({lock_key(site_stream_id(site)) for site in commenting})
        await connection.execute(SHARE_SITES, keys)
    await connection.execute(
        LOCK_STREAMS, sorted({lock_key(stream_id) for stream_id in stream_ids})
    )
    rows = await connection.fetch(LOAD_STREAMS, stream_ids)
    found: dict[str, Any] = {row["stream_id"]: row for row in rows}
    touched = {
        (command.site, comment_id) for *_, command in requests for comment_id in touches(command)
    }
    comments: dict[tuple[str, str], CommentState] = {}
    if touched:
        sites, comment_ids = zip(*touched, strict=True)
        for found_comment in await connection.fetch(LOAD_COMMENTS, list(sites), list(comment_ids)):
            key = (found_comment["site"], found_comment["comment_id"])
            comments[key] = comment_state(found_comment)
    policies = await load_policies(connection, [command for *_, command in requests])
    loaded: dict[str, LoadedThread] = {}
    for stream_id, site, post_id, command in requests:
        previous = loaded.get(stream_id)
        row = found.get(stream_id)
        policy = policies.get(site, Policy())
        state = (
            previous.state
            if previous
            else ThreadState(
                post=post_state(row),
                settings=policy.settings,
                bans=policy.bans,
                known_authors=policy.known_authors,
            )
        )
        mine = {c: comments[(site, c)] for c in touches(command) if (site, c) in comments}
        state = state.model_copy(update={"comments": state.comments | mine})
        version, last = (row["version"], row["last_transaction_id"]) if row else (0, 0)
        loaded[stream_id] = LoadedThread(stream_id, site, post_id, version, last, state)
    return loaded


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
        case DeleteComment() | CommentCommand():
            yield command.comment_id


def post_id_of(command: Command, posts_of: dict[tuple[str, str], str]) -> str | None:
    match command:
        case DeleteComment() | CommentCommand():
            return posts_of.get((command.site, command.comment_id))
        case PublishPost() | PostComment() | DeletePost() | ThreadCommand():
            return command.post_id
    raise TypeError(f"unknown command {type(command).__name__}")


def evolve_with(state: ThreadState, command: Command, events: list[Event]) -> ThreadState:
    """`evolve`, plus what only the command knows: a new comment's delete token digest and its
    author's hashes, a reporter's hash."""
    for event in events:
        if isinstance(event, NewComment) and isinstance(command, PostComment):
            state = evolve(state, event)
            known = {
                "delete_token_sha256": command.delete_token_sha256,
                "email_hash": command.author_email_hash,
                "ip_hash": command.author_ip_hash,
                "name_ip_hash": command.author_name_ip_hash,
            }
            state = with_comment_fields(state, event.comment_id, known)
        elif isinstance(command, ReportComment) and event.event_type == "comment.reported":
            state = evolve(state, event)
            reporters = (*state.comments[command.comment_id].reporters, command.reporter_hash)
            state = with_comment_fields(state, command.comment_id, {"reporters": reporters})
        else:
            state = evolve(state, event)
    return state


def with_comment_fields(state: ThreadState, comment_id: str, fields: dict[str, Any]) -> ThreadState:
    comment = state.comments[comment_id].model_copy(update=fields)
    return state.model_copy(update={"comments": state.comments | {comment_id: comment}})


SAVE_STREAM = """
INSERT INTO streams (stream_id, site, post_id, version, last_transaction_id, deleted,
                     title, url, labels, published_at, closed)
VALUES ($1, $2, $3, $4, pg_current_xact_id(), $5, $6, $7, $8, $9, $10)
ON CONFLICT (stream_id) DO UPDATE SET
    version = excluded.version, last_transaction_id = excluded.last_transaction_id,
    deleted = excluded.deleted, title = excluded.title, url = excluded.url,
    labels = excluded.labels, published_at = excluded.published_at, closed = excluded.closed
"""

SAVE_COMMENT = """
INSERT INTO stream_comments (site, comment_id, post_id, depth, delete_token_sha256, status,
                             deleted, created_at, email_hash, ip_hash, name_ip_hash)
VALUES ($1, $2, $3, $4, $5, $6, $6 = 'deleted', $7, $8, $9, $10)
"""

SAVE_STATUS = """
UPDATE stream_comments SET status = $3, deleted = $3 = 'deleted', reporters = $4
WHERE site = $1 AND comment_id = $2
"""

SAVE_KNOWN_AUTHOR = """
INSERT INTO site_known_authors (site, author_key) VALUES ($1, $2) ON CONFLICT DO NOTHING
"""


async def save(
    connection: Connection,
    threads: dict[str, LoadedThread],
    versions: dict[str, int],
    events: list[tuple[str, Event]],
) -> None:
    """Store the new decision state of the streams `events` (stream id, event) were appended to;
    `threads` hold each stream's state after them."""
    changed = sorted({stream_id for stream_id, _ in events})
    streams = []
    for stream_id in changed:
        thread = threads[stream_id]
        post = thread.state.post
        assert post is not None, "every stream starts with post.published"
        streams.append(
            (stream_id, thread.site, thread.post_id, versions[stream_id], post.deleted,
             post.title, post.url, list(post.labels), post.published_at, post.closed)
        )  # fmt: skip
    await connection.executemany(SAVE_STREAM, streams)
    created: dict[tuple[str, str], tuple[object, ...]] = {}
    changed_comments: dict[tuple[str, str], tuple[object, ...]] = {}
    known: set[tuple[str, str]] = set()
    for stream_id, event in events:
        state = threads[stream_id].state
        if not isinstance(event, NewComment | CommentEvent | CommentDeleted):
            continue
        key = (event.site, event.comment_id)
        comment = state.comments[event.comment_id]
        if isinstance(event, NewComment):
            created[key] = (
                event.site, event.comment_id, event.post_id, comment.depth,
                comment.delete_token_sha256, comment.status.value, comment.created_at,
                comment.email_hash, comment.ip_hash, comment.name_ip_hash,
            )  # fmt: skip
        else:
            changed_comments[key] = (*key, comment.status.value, list(comment.reporters))
        # An approval makes its author known; so does a published comment of an author not
        # known yet (most are: they cost no write then).
        author = comment.author_key
        published = comment.status is CommentStatus.PUBLISHED and author not in state.known_authors
        if author and (isinstance(event, CommentApproved) or published):
            known.add((event.site, author))
    if created:
        await connection.executemany(SAVE_COMMENT, list(created.values()))
    if changed_comments:
        await connection.executemany(SAVE_STATUS, list(changed_comments.values()))
    if known:
        await connection.executemany(SAVE_KNOWN_AUTHOR, sorted(known))
