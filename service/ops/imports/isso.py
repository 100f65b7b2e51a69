"""Isso's SQLite database: `threads` (id, uri, title) and `comments` (tid, id, parent,
created as Unix seconds, mode, text in Markdown, author, website). `mode` 1 is accepted,
2 waits for moderation, 4 was deleted (Isso keeps it while replies hang below it). Read row
by row, read-only."""

import sqlite3
from collections.abc import Iterator
from pathlib import Path

from service.domain.events import CommentStatus
from service.ops.imports.records import BadSource, SourceComment, SourceItem, SourcePost
from service.ops.imports.sources import from_timestamp, markdown_body, website

MODES = {1: CommentStatus.PUBLISHED, 2: CommentStatus.HELD, 4: CommentStatus.DELETED}


def read(path: Path) -> Iterator[SourceItem]:
    if not path.is_file():
        raise BadSource(f"no file {path}")
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        yield from rows(connection)
    except sqlite3.DatabaseError as error:
        raise BadSource(f"not an Isso database: {error}") from None
    finally:
        connection.close()


def rows(connection: sqlite3.Connection) -> Iterator[SourceItem]:
    for thread_id, uri, title in connection.execute(
        "SELECT id, uri, title FROM threads ORDER BY id"
    ):
        yield SourcePost(source_id=str(thread_id), url=uri or "", title=title or uri or "")
    query = """SELECT id, tid, parent, created, mode, text, author, website
               FROM comments ORDER BY id"""
    for comment_id, thread_id, parent, created, mode, body, author, link in connection.execute(
        query
    ):
        status = MODES.get(mode, CommentStatus.HELD)
        text, body_html = ("", "") if status is CommentStatus.DELETED else markdown_body(body or "")
        yield SourceComment(
            source_id=str(comment_id),
            post_ref=str(thread_id),
            parent_ref=None if parent is None else str(parent),
            author_name=author or "Anonymous",
            author_website=website(link),
            written_at=from_timestamp(float(created)),
            body=text,
            body_html=body_html,
            status=status,
        )
