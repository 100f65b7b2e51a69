"""Seeds a site's log with millions of comments inside PostgreSQL (generate_series, committed
chunks), for the latency runs of bench/log_size.py at 10 M events, where bench/seed_log.py
(every event sealed by the real codec in Python) would take hours.

.venv/bin/python -P bench/seed_sql.py DATABASE_URL SITE POSTS COMMENTS REPLY_SHARE OUT.json

The events are in the log's pre-sealing shape (personal fields in `data`, private ones in
`metadata.private`), which the codec still reads: the read models that `threadlog rebuild` makes
from them are real, only their sealing is missing. Comment n goes to post n % POSTS; about
REPLY_SHARE of those after a post's first answer that first one (a popular comment). Writes,
per post, its last 20 comment ids to OUT.json (what the bench's replies answer).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
import time
import uuid
from pathlib import Path

import asyncpg

CHUNK = 250_000
KEPT = 20
META = '\'{"actor": {"kind": "author"}, "request_id": "seed"}\'::jsonb'

POSTS = f"""
INSERT INTO events (epoch, stream_id, version, event_id, site, type, schema_version, data,
                    metadata)
SELECT cluster_epoch(), 'post:' || $1 || ':' || post_id, 1, gen_random_uuid(), $1,
       'post.published', 1,
       jsonb_build_object('site', $1, 'post_id', post_id, 'title', 'Post ' || post_id,
                          'url', 'http://127.0.0.1/' || post_id, 'labels', '["bench"]'::jsonb,
                          'published_at', '2026-01-01T00:00:00Z'),
       {META}
FROM (SELECT 'big' || lpad(k::text, 5, '0') AS post_id
      FROM generate_series(0, $2 - 1) AS k) AS p
"""

# Comment n: post n % $2, the post's (n / $2)-th; version 1 is the post's publication.
COMMENTS = f"""
INSERT INTO events (epoch, stream_id, version, event_id, site, type, schema_version, data,
                    metadata)
SELECT cluster_epoch(), 'post:' || $1 || ':' || c.post_id, c.n / $2 + 2, gen_random_uuid(), $1,
       CASE WHEN c.reply THEN 'comment.replied' ELSE 'comment.posted' END, 1,
       jsonb_build_object(
           'site', $1, 'post_id', c.post_id, 'comment_id', md5('c' || c.n)::uuid::text,
           'author', jsonb_build_object('name', 'author ' || c.n % 997, 'website', NULL),
           'body', 'Comment *' || c.n || '*', 'body_html', '<p>Comment <em>' || c.n || '</em></p>',
           'created_at', to_char(timestamp '2026-01-01 00:00:00' + c.n * interval '1 second',
                                 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
       || CASE WHEN c.reply THEN jsonb_build_object('parent_id', md5('c' || c.n % $2)::uuid::text)
               ELSE '{{}}'::jsonb END,
       {META} || jsonb_build_object('private', jsonb_build_object(
           'delete_token_sha256', md5('t' || c.n) || md5('u' || c.n),
           'author_name_ip_hash', 'name-ip-' || c.n % 997))
FROM (SELECT n, 'big' || lpad((n % $2)::text, 5, '0') AS post_id,
             n >= $2 AND (n * 7919) % 1000 < $5::float8 * 1000 AS reply
      FROM generate_series($3::bigint, $4::bigint - 1) AS n) AS c
"""


async def seed(url: str, site: str, posts: int, comments: int, reply_share: float) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(POSTS, site, posts)
        started = time.monotonic()
        for low in range(0, comments, CHUNK):
            high = min(low + CHUNK, comments)
            # One transaction per chunk: each commits at once.
            await connection.execute(COMMENTS, site, posts, low, high, reply_share)
            rate = high / (time.monotonic() - started)
            print(f"  {high:,} of {comments:,} comments ({rate:,.0f}/s)", flush=True)
        await connection.execute("ANALYZE events")
    finally:
        await connection.close()


def last_comments(posts: int, comments: int) -> dict[str, list[str]]:
    """Each post's last KEPT comment ids, as COMMENTS names them (md5 of 'c' || n as a uuid)."""
    thread: dict[str, list[str]] = {}
    for k in range(posts):
        mine = range(k, comments, posts)[-KEPT:]
        ids = [str(uuid.UUID(hashlib.md5(f"c{n}".encode()).hexdigest())) for n in mine]
        thread[f"big{k:05d}"] = ids
    return thread


def main() -> None:
    url, site, posts, comments, reply_share, out = sys.argv[1:]
    asyncio.run(seed(url, site, int(posts), int(comments), float(reply_share)))
    Path(out).write_text(json.dumps(last_comments(int(posts), int(comments))))


if __name__ == "__main__":
    main()
