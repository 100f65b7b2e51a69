"""An import: a source read into the staging area, then written through the write side.

Posts are published and comments decided (`ImportComment`) like any other command, in
batches of one transaction each, so the write model and every read model follow from the
events, and `threadlog rebuild` gives the same reads. Ids derive from the source's: a
comment's id and each event's id are UUIDv5 of the format, the site and the source's id, so
an import run again finds what it wrote and appends nothing.
"""

import asyncio
import getpass
import re
import uuid
import zlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from itertools import islice
from typing import Any, TypeVar

from tqdm import tqdm

from service.access.text import CONTROL, NAME_MAX_LENGTH
from service.domain.commands import Command, ImportComment, PublishPost
from service.domain.errors import DomainError
from service.domain.events import Author, NewComment
from service.domain.labels import unique_labels
from service.domain.text import display_name
from service.ops.imports.post_ids import PostIdFrom
from service.ops.imports.records import SourceItem, Summary
from service.ops.imports.staging import StagedComment, StagedPost, Staging, staging
from service.settings import Settings
from service.write.application import Application
from service.write.batches import Outcome, Pending, write_batch

# The namespace of every id an import derives (never change it: reruns rely on it).
IMPORTS = uuid.UUID("6b1f0f52-3c1e-4f55-9a57-0d2c63a1e0a4")
# THREADLOG_IMPORT_BATCH_SIZE and THREADLOG_IMPORT_WRITERS, unless the caller says.
BATCH: int = Settings.model_fields["import_batch_size"].default
WRITERS: int = Settings.model_fields["import_writers"].default
MAX_LABELS, LABEL_LENGTH, TITLE_LENGTH = 20, 50, 300

T = TypeVar("T")


def derived_id(form: str, site: str, kind: str, source_id: str) -> uuid.UUID:
    return uuid.uuid5(IMPORTS, f"{form}\x00{site}\x00{kind}\x00{source_id}")


def one_line(text: str, length: int) -> str:
    return re.sub(r"\s+", " ", CONTROL.sub("", text)).strip()[:length]


def post_command(site: str, post: StagedPost, now: datetime) -> PublishPost:
    labels = unique_labels([one_line(label, LABEL_LENGTH) for label in post.labels])
    return PublishPost(
        site=site,
        post_id=post.post_id,
        title=one_line(post.title, TITLE_LENGTH) or post.post_id,
        url=post.url,
        labels=tuple(label for label in labels if label)[:MAX_LABELS],
        published_at=post.published_at,
        at=now,
    )


def comment_command(form: str, site: str, comment: StagedComment) -> ImportComment:
    parent = comment.parent_source_id
    name = display_name(CONTROL.sub("", comment.author_name))[:NAME_MAX_LENGTH].strip()
    return ImportComment(
        site=site,
        post_id=comment.post_id,
        comment_id=str(derived_id(form, site, "comment", comment.source_id)),
        parent_id=None if parent is None else str(derived_id(form, site, "comment", parent)),
        author=Author(name=name or "Anonymous", website=comment.author_website),
        body=comment.body,
        body_html=comment.body_html,
        written_at=comment.written_at,
        status=comment.status,
        deleted_by=comment.deleted_by,
    )


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


class Importer:
    """Writes staged posts and comments for one format and site."""

    def __init__(self, application: Application, form: str, site: str) -> None:
        self.application = application
        self.form = form
        self.site = site
        self.metadata: dict[str, Any] = {
            "actor": {"kind": "operator", "user": getpass.getuser()},
            "request_id": f"import-{uuid.uuid4()}",
            "source": f"import/{form}",
        }

    async def write(
        self, commands: list[tuple[Command, str, str]], summary: Summary, kind: str
    ) -> None:
        """(command, source id, kind of its derived ids) in one transaction."""
        loop = asyncio.get_running_loop()
        batch = [
            Pending(
                command,
                self.metadata | {"source_id": source_id},
                None,
                loop.create_future(),
                derived_id(self.form, self.site, id_kind, source_id),
            )
            for command, source_id, id_kind in commands
        ]
        results = await self.application.in_transaction(
            lambda connection: write_batch(connection, batch)
        )
        for result in results:
            count(result, summary, kind)


def count(result: Outcome | BaseException, summary: Summary, kind: str) -> None:
    if isinstance(result, DomainError):
        summary.skip(f"{kind} refused: {result.title.lower()} ({result})")
    elif isinstance(result, BaseException):
        raise result
    elif not result.events:
        summary.unchanged += 1
    elif kind == "post" or any(isinstance(e.event, NewComment) for e in result.events):
        if kind == "post":
            summary.posts += 1
        else:
            summary.comments += 1


async def import_items(
    application: Application | None,
    items: Iterable[SourceItem],
    *,
    form: str,
    site: str,
    post_id_from: PostIdFrom = PostIdFrom.URL,
    progress: bool = False,
    batch_size: int = BATCH,
    writers: int = WRITERS,
) -> Summary:
    """Read `items` (a format's reader) and write them to `site`; with no application (a dry
    run), only read and count."""
    summary = Summary()
    with staging() as staged:
        reading = tqdm(items, desc="reading", unit=" items", disable=not progress)
        staged.add(reading, post_id_from, summary)
        staged.thread(summary)
        if application is None:
            summary.posts, summary.comments = staged.count("posts"), staged.count("comments")
            return summary
        importer = Importer(application, form, site)
        await write_staged(importer, staged, summary, progress, batch_size, writers)
    return summary


async def write_staged(
    importer: Importer,
    staged: Staging,
    summary: Summary,
    progress: bool,
    batch_size: int,
    writers: int,
) -> None:
    now = datetime.now(UTC)
    site = importer.site
    total = staged.count("posts") + staged.count("comments")
    with tqdm(total=total, desc="writing", unit=" items", disable=not progress) as bar:
        for staged_posts in chunks(staged.posts(), batch_size):
            posts: list[tuple[Command, str, str]] = [
                (post_command(site, p, now), p.source_id, "post") for p in staged_posts
            ]
            await importer.write(posts, summary, "post")
            bar.update(len(posts))

        await write_comments(importer, staged.comments(), summary, bar, batch_size, writers)


async def write_comments(
    importer: Importer,
    comments: Iterable[StagedComment],
    summary: Summary,
    bar: "tqdm[Any]",
    batch_size: int,
    writers: int,
) -> None:
    """`writers` writers, each the posts of its share, so that the database works on one batch
    while Python decides the next. A post's comments stay in order, in one writer: parents
    first."""
    try:
        await feed_writers(importer, comments, summary, bar, batch_size, writers)
    except ExceptionGroup as failed:
        # What went wrong first, as the operator's one line says it (see cli/__init__.py).
        raise failed.exceptions[0] from None


async def feed_writers(
    importer: Importer,
    comments: Iterable[StagedComment],
    summary: Summary,
    bar: "tqdm[Any]",
    batch_size: int,
    writers: int,
) -> None:
    queues: list[asyncio.Queue[list[tuple[Command, str, str]] | None]] = [
        asyncio.Queue(maxsize=2) for _ in range(writers)
    ]

    async def writer(queue: asyncio.Queue[list[tuple[Command, str, str]] | None]) -> None:
        while (chunk := await queue.get()) is not None:
            await importer.write(chunk, summary, "comment")
            bar.update(len(chunk))

    waiting: list[list[tuple[Command, str, str]]] = [[] for _ in queues]
    # A writer that fails cancels the others and this loop with it.
    async with asyncio.TaskGroup() as tasks:
        for queue in queues:
            tasks.create_task(writer(queue))
        for comment in comments:
            shard = zlib.crc32(comment.post_id.encode()) % writers
            command = comment_command(importer.form, importer.site, comment)
            waiting[shard].append((command, comment.source_id, "comment"))
            if len(waiting[shard]) == batch_size:
                await queues[shard].put(waiting[shard])
                waiting[shard] = []
        for shard, queue in enumerate(queues):
            if waiting[shard]:
                await queue.put(waiting[shard])
            await queue.put(None)
