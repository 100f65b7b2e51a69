"""The write side's decision state: one row per post (locked by every append to its thread)
and one row per comment. Loading it costs the same whatever the thread's size."""

from collections.abc import Iterable
from dataclasses import dataclass

from service.db import Connection
from service.domain.commands import Command, DeleteComment, PostComment
from service.domain.events import CommentDeleted, Event, NewComment
from service.domain.thread import CommentState, PostState, ThreadState, evolve


@dataclass(frozen=True, slots=True)
class LoadedThread:
    stream_id: str
    version: int
    last_transaction_id: int
    state: ThreadState


LOCK_STREAM = """
SELECT version, last_transaction_id::text::bigint AS last_transaction_id, deleted,
       title, url, labels, published_at
FROM streams WHERE stream_id = $1
FOR UPDATE
"""

LOAD_COMMENTS = """
SELECT comment_id, post_id, depth, deleted, delete_token_sha256
FROM stream_comments WHERE site = $1 AND comment_id = ANY($2::text[])
"""


async def post_of_comment(connection: Connection, site: str, comment_id: str) -> str | None:
    # A comment never moves to another post, so this needs no lock.
    post_id: str | None = await connection.fetchval(
        "SELECT post_id FROM stream_comments WHERE site = $1 AND comment_id = $2", site, comment_id
    )
    return post_id


async def load_for_update(connection: Connection, stream_id: str, command: Command) -> LoadedThread:
    """Lock the post's row, then read the comments the command touches.

    The lock must be the transaction's first write (see store.StaleTransactionOrder), and the
    comments are read by a later statement so that they include what the lock's previous
    holder committed.
    """
    row = await connection.fetchrow(LOCK_STREAM, stream_id)
    if row is None:
        return LoadedThread(stream_id, 0, 0, ThreadState())
    post = PostState(
        title=row["title"],
        url=row["url"],
        labels=tuple(row["labels"]),
        published_at=row["published_at"],
        deleted=row["deleted"],
    )
    wanted = list(comments_touched(command))
    comments = {}
    if wanted:
        for comment in await connection.fetch(LOAD_COMMENTS, command.site, wanted):
            comments[comment["comment_id"]] = CommentState(
                post_id=comment["post_id"],
                depth=comment["depth"],
                deleted=comment["deleted"],
                delete_token_sha256=comment["delete_token_sha256"],
            )
    state = ThreadState(post=post, comments=comments)
    return LoadedThread(stream_id, row["version"], row["last_transaction_id"], state)


def comments_touched(command: Command) -> Iterable[str]:
    match command:
        case PostComment(parent_id=str(parent_id)):
            yield parent_id
        case DeleteComment():
            yield command.comment_id


SAVE_STREAM = """
INSERT INTO streams (stream_id, site, post_id, version, last_transaction_id, deleted,
                     title, url, labels, published_at)
VALUES ($1, $2, $3, $4, pg_current_xact_id(), $5, $6, $7, $8, $9)
ON CONFLICT (stream_id) DO UPDATE SET
    version = excluded.version, last_transaction_id = excluded.last_transaction_id,
    deleted = excluded.deleted, title = excluded.title, url = excluded.url,
    labels = excluded.labels, published_at = excluded.published_at
"""


async def save(
    connection: Connection,
    loaded: LoadedThread,
    command: Command,
    events: list[Event],
) -> None:
    state = loaded.state
    for event in events:
        state = evolve(state, event)
    post = state.post
    assert post is not None, "every stream starts with post.published"
    await connection.execute(
        SAVE_STREAM,
        loaded.stream_id,
        command.site,
        events[0].post_id,
        loaded.version + len(events),
        post.deleted,
        post.title,
        post.url,
        list(post.labels),
        post.published_at,
    )
    for event in events:
        await save_comment(connection, command, event, state)


async def save_comment(
    connection: Connection, command: Command, event: Event, state: ThreadState
) -> None:
    match event, command:
        case NewComment(), PostComment():
            await connection.execute(
                """INSERT INTO stream_comments (site, comment_id, post_id, depth,
                                                delete_token_sha256)
                   VALUES ($1, $2, $3, $4, $5)""",
                event.site,
                event.comment_id,
                event.post_id,
                state.comments[event.comment_id].depth,
                command.delete_token_sha256,
            )
        case CommentDeleted(), _:
            await connection.execute(
                "UPDATE stream_comments SET deleted = true WHERE site = $1 AND comment_id = $2",
                event.site,
                event.comment_id,
            )
