"""Seeds a site's log with many comments, fast: the events go through the real codec (so the
projections read real input) and into `events` by COPY, in committed chunks (a long
transaction on a shared server would hold back every other reader's feed). The read models
are then made by `threadlog rebuild`, which bench/scale.py times.

.venv/bin/python -P bench/seed_log.py DATABASE_URL SITE POSTS COMMENTS REPLY_SHARE OUT.json

Writes {post id: [comment ids]} to OUT.json, for the bench's replies.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from service.domain.events import (
    Author,
    CommentPosted,
    CommentReplied,
    Event,
    NewComment,
    PostPublished,
)
from service.eventstore import data_keys
from service.eventstore.codec import compact, encode, with_private
from service.eventstore.streams import post_stream_id
from service.eventstore.vault import Vault, parse_kek

CHUNK = 10_000
COLUMNS = ["epoch", "stream_id", "version", "event_id", "site", "type", "schema_version", "data",
           "metadata"]  # fmt: skip
META = {"actor": {"kind": "author"}, "request_id": "seed"}


def events(site: str, posts: int, comments: int, reply_share: float) -> list[tuple[str, Event]]:
    """The posts, then comments on random posts; a reply answers a random earlier comment of
    its post. Deterministic (seeded), so before/after runs replay the same log."""
    rng = random.Random(15)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    post_ids = [f"big{i:03d}" for i in range(posts)]
    out: list[tuple[str, Event]] = []
    for post_id in post_ids:
        title, url = f"Post {post_id}", f"http://127.0.0.1/{post_id}"
        published = PostPublished(
            site=site, post_id=post_id, title=title, url=url, labels=("bench",), published_at=at
        )
        out.append((post_stream_id(site, post_id), published))
    thread: dict[str, list[str]] = {post_id: [] for post_id in post_ids}
    for n in range(comments):
        post_id = rng.choice(post_ids)
        comment_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        fields = {
            "site": site,
            "post_id": post_id,
            "comment_id": comment_id,
            "author": Author(name=f"author {n % 997}"),
            "body": f"Comment *{n}*",
            "body_html": f"<p>Comment <em>{n}</em></p>",
            "created_at": at + timedelta(seconds=n),
            "delete_token_sha256": rng.randbytes(32),
            "author_name_ip_hash": f"name-ip-{n % 997}",
        }
        earlier = thread[post_id]
        comment: NewComment
        if earlier and rng.random() < reply_share:
            comment = CommentReplied(parent_id=rng.choice(earlier), **fields)
        else:
            comment = CommentPosted(**fields)
        earlier.append(comment_id)
        out.append((post_stream_id(site, post_id), comment))
    return out


async def rows(
    connection: asyncpg.Connection, epoch: int, site: str, seeded: list[tuple[str, Event]]
) -> list[tuple[object, ...]]:
    """Stored rows, sealed as an append seals them (each comment's key made, a chunk at once)."""
    versions: dict[str, int] = {}
    found = []
    for start in range(0, len(seeded), CHUNK):
        chunk = seeded[start : start + CHUNK]
        sealing = await data_keys.keys_for(connection, [event for _, event in chunk])
        for (stream_id, event), keys in zip(chunk, sealing, strict=True):
            versions[stream_id] = versions.get(stream_id, 0) + 1
            coded = encode(event, keys)
            metadata = with_private(META, coded)
            place = (epoch, stream_id, versions[stream_id], uuid.uuid4(), site)
            stored = (compact(coded.stored_data), compact(metadata))
            found.append((*place, coded.type, coded.schema_version, *stored))
    return found


async def seed(
    url: str, site: str, posts: int, comments: int, reply_share: float
) -> dict[str, list[str]]:
    seeded = events(site, posts, comments, reply_share)
    connection = await asyncpg.connect(url)
    try:
        epoch = await connection.fetchval("SELECT cluster_epoch()")
        records = await rows(connection, epoch, site, seeded)
        for start in range(0, len(records), CHUNK):
            # One transaction per chunk: each commits at once.
            await connection.copy_records_to_table(
                "events", records=records[start : start + CHUNK], columns=COLUMNS
            )
        await connection.execute("ANALYZE events")
    finally:
        await connection.close()
    thread: dict[str, list[str]] = {}
    for _, event in seeded:
        if isinstance(event, NewComment):
            thread.setdefault(event.post_id, []).append(event.comment_id)
        elif isinstance(event, PostPublished):
            thread.setdefault(event.post_id, [])
    return thread


def main() -> None:
    url, site, posts, comments, reply_share, out = sys.argv[1:]
    data_keys.install(Vault(parse_kek(os.environ["THREADLOG_KEK"])))
    thread = asyncio.run(seed(url, site, int(posts), int(comments), float(reply_share)))
    Path(out).write_text(json.dumps(thread))


if __name__ == "__main__":
    main()
