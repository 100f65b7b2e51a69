"""The staging area: a source read into a temporary SQLite file, then given back as threads.

Sources list comments in any order (Blogger's newest first, a reply before its parent), and
a 1 GB export does not fit in memory. So the whole source is read first, row by row, into a
file next to nothing else; then each post's comments come out parents first: by depth, and
by time among comments of one depth (a thread shows siblings in the order they come). A bad
file is found before anything is written.

Rules, each counted in the summary:
- A reply whose parent is not in the source (or is on another post) is imported at the top
  level of its thread.
- Replies nest at most MAX_DEPTH levels: a deeper one hangs below its deepest allowed
  ancestor's parent, next to it.
- A comment whose post is not in the source (or was skipped), or whose replies go round in a
  circle, is skipped.
- Two posts that the post-id rule gives one id: the second is skipped, with its comments.
"""

import contextlib
import json
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from service.domain.events import CommentStatus, DeletedBy
from service.domain.state import MAX_DEPTH
from service.ops.imports.post_ids import PostIdFrom, post_id
from service.ops.imports.records import SourceComment, SourceItem, SourcePost, Summary

STAGED_AT_ONCE = 1000

SCHEMA = """
CREATE TABLE posts (seq INTEGER PRIMARY KEY, source_id TEXT UNIQUE, post_id TEXT UNIQUE,
                    url TEXT, title TEXT, labels TEXT, published_at TEXT);
CREATE TABLE dropped_posts (source_id TEXT PRIMARY KEY, reason TEXT);
CREATE TABLE comments (seq INTEGER PRIMARY KEY, source_id TEXT UNIQUE, post_ref TEXT,
                       parent_ref TEXT, author_name TEXT, author_website TEXT,
                       written_at TEXT, body TEXT, body_html TEXT, status TEXT,
                       deleted_by TEXT, parent_seq INTEGER, depth INTEGER,
                       placed_below INTEGER, generation INTEGER);
"""

# A comment named as another's post (Blogger's `thr:in-reply-to` naming a comment) is its
# parent: the reply is on that comment's post. Each round climbs one level.
POST_OF_REPLIES = """
UPDATE comments SET parent_ref = coalesce(parent_ref, post_ref),
    post_ref = (SELECT p.post_ref FROM comments p WHERE p.source_id = comments.post_ref)
WHERE post_ref IN (SELECT source_id FROM comments)
  AND post_ref NOT IN (SELECT source_id FROM posts)
"""

PARENTS = """
UPDATE comments SET parent_seq = (
    SELECT p.seq FROM comments p
    WHERE p.source_id = comments.parent_ref AND p.post_ref = comments.post_ref)
WHERE parent_ref IS NOT NULL
"""

# One generation of replies: the children of the comments placed last round.
NEXT_GENERATION = """
UPDATE comments AS c
SET generation = :next, depth = min(p.depth + 1, :deepest),
    placed_below = CASE WHEN p.depth + 1 > :deepest THEN p.placed_below ELSE p.seq END
FROM comments AS p
WHERE p.generation = :generation AND c.parent_seq = p.seq AND c.generation IS NULL
"""

THREADS = """
SELECT p.post_id, c.seq, c.source_id, c.placed_below, c.author_name, c.author_website,
       c.written_at, c.body, c.body_html, c.status, c.deleted_by, b.source_id AS parent_source
FROM comments c JOIN posts p ON p.source_id = c.post_ref
LEFT JOIN comments b ON b.seq = c.placed_below
WHERE c.generation IS NOT NULL
ORDER BY p.seq, c.depth, c.written_at, c.seq
"""


@dataclass(frozen=True, slots=True)
class StagedPost:
    source_id: str
    post_id: str
    url: str
    title: str
    labels: tuple[str, ...]
    published_at: datetime | None


@dataclass(frozen=True, slots=True)
class StagedComment:
    source_id: str
    post_id: str
    parent_source_id: str | None
    author_name: str
    author_website: str | None
    written_at: datetime
    body: str
    body_html: str
    status: CommentStatus
    deleted_by: DeletedBy


class Staging:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def add(self, items: Iterable[SourceItem], rule: PostIdFrom, summary: Summary) -> None:
        waiting: list[SourceComment] = []
        with self.connection:
            for item in items:
                match item:
                    case SourcePost():
                        self.add_post(item, rule, summary)
                    case SourceComment():
                        waiting.append(item)
                        if len(waiting) == STAGED_AT_ONCE:
                            self.add_comments(waiting, summary)
                            waiting.clear()
                    case _:
                        summary.skip(item.reason)
                        if item.source_id:
                            self.drop_post(item.source_id, item.reason)
            self.add_comments(waiting, summary)

    def drop_post(self, source_id: str, reason: str) -> None:
        self.connection.execute(
            "INSERT OR IGNORE INTO dropped_posts VALUES (?, ?)", (source_id, reason)
        )

    def add_post(self, post: SourcePost, rule: PostIdFrom, summary: Summary) -> None:
        found = post_id(rule, post)
        if found is None:
            reason = f"no usable post id from its {rule.value}"
            summary.skip(reason)
            self.drop_post(post.source_id, reason)
            return
        published = None if post.published_at is None else post.published_at.isoformat()
        row = (post.source_id, found, post.url, post.title, json.dumps(post.labels), published)
        cursor = self.connection.execute(
            "INSERT OR IGNORE INTO posts (source_id, post_id, url, title, labels, published_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            row,
        )
        if cursor.rowcount == 0:
            reason = f"another post has its id or post id ({found})"
            summary.skip(reason)
            self.drop_post(post.source_id, reason)

    def add_comments(self, comments: list[SourceComment], summary: Summary) -> None:
        rows = [
            (
                comment.source_id,
                comment.post_ref,
                comment.parent_ref,
                comment.author_name,
                comment.author_website,
                comment.written_at.astimezone(UTC).isoformat(),
                comment.body,
                comment.body_html,
                comment.status.value,
                comment.deleted_by.value,
            )
            for comment in comments
        ]
        cursor = self.connection.executemany(
            """INSERT OR IGNORE INTO comments (source_id, post_ref, parent_ref, author_name,
                   author_website, written_at, body, body_html, status, deleted_by)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            rows,
        )
        if cursor.rowcount < len(rows):
            summary.skip("a comment with the same id came before", len(rows) - cursor.rowcount)

    def thread(self, summary: Summary) -> None:
        """Find each comment's post, parent and depth (see the rules above)."""
        execute = self.connection.execute
        with self.connection:
            for _ in range(MAX_DEPTH * 4):
                if execute(POST_OF_REPLIES).rowcount == 0:
                    break
            count = "SELECT count(*) FROM comments WHERE "
            without_post = "post_ref NOT IN (SELECT source_id FROM posts)"
            dropped = execute(
                count + without_post + " AND post_ref IN (SELECT source_id FROM dropped_posts)"
            ).fetchone()[0]
            if dropped:
                summary.skip("their post was skipped", dropped)
            missing = execute(count + without_post).fetchone()[0] - dropped
            if missing:
                summary.skip("their post is not in the source", missing)
            execute("DELETE FROM comments WHERE " + without_post)
            execute("CREATE INDEX comments_parents ON comments (parent_seq)")
            execute("CREATE INDEX comments_generations ON comments (generation)")
            execute(PARENTS)
            orphans = execute(count + "parent_ref IS NOT NULL AND parent_seq IS NULL").fetchone()[0]
            if orphans:
                summary.note("replies whose parent is not in the source: at the top level", orphans)
            execute("UPDATE comments SET generation = 0, depth = 0 WHERE parent_seq IS NULL")
            generation = 0
            while True:
                arguments = {"generation": generation, "next": generation + 1}
                found = execute(NEXT_GENERATION, arguments | {"deepest": MAX_DEPTH - 1})
                if found.rowcount == 0:
                    break
                generation += 1
            flattened = execute(
                count + "depth = ? AND placed_below <> parent_seq", (MAX_DEPTH - 1,)
            )
            if (deeper := flattened.fetchone()[0]) > 0:
                summary.note(
                    f"replies deeper than {MAX_DEPTH} levels: next to their parent", deeper
                )
            circular = execute(count + "generation IS NULL").fetchone()[0]
            if circular:
                summary.skip("replies that go round in a circle", circular)

    def posts(self) -> Iterator[StagedPost]:
        query = (
            "SELECT source_id, post_id, url, title, labels, published_at FROM posts ORDER BY seq"
        )
        for source_id, found, url, title, labels, published in self.connection.execute(query):
            when = None if published is None else datetime.fromisoformat(published)
            yield StagedPost(source_id, found, url, title, tuple(json.loads(labels)), when)

    def comments(self) -> Iterator[StagedComment]:
        for row in self.connection.execute(THREADS):
            found, _, source_id, _, name, link, written, body, body_html, status, by, parent = row
            yield StagedComment(
                source_id=source_id,
                post_id=found,
                parent_source_id=parent,
                author_name=name,
                author_website=link,
                written_at=datetime.fromisoformat(written),
                body=body,
                body_html=body_html,
                status=CommentStatus(status),
                deleted_by=DeletedBy(by),
            )

    def count(self, table: str) -> int:
        if table == "posts":
            return int(self.connection.execute("SELECT count(*) FROM posts").fetchone()[0])
        query = "SELECT count(*) FROM comments WHERE generation IS NOT NULL"
        return int(self.connection.execute(query).fetchone()[0])


@contextlib.contextmanager
def staging() -> Iterator[Staging]:
    """An empty staging area in a temporary file, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="threadlog-import-") as folder:
        connection = sqlite3.connect(Path(folder) / "staging.sqlite3")
        try:
            connection.executescript(SCHEMA)
            # A scratch file: a crash loses nothing the source does not still hold.
            connection.execute("PRAGMA journal_mode = OFF")
            connection.execute("PRAGMA synchronous = OFF")
            yield Staging(connection)
        finally:
            connection.close()
