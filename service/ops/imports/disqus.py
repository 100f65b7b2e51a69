"""Disqus's export: `thread` elements (a page each: its link, title and identifier), then
`post` elements (the comments), each naming its thread and its parent by `dsq:id`, with
`isDeleted` and `isSpam` flags. Messages are HTML."""

from collections.abc import Iterator
from pathlib import Path
from xml.etree.ElementTree import Element

from service.domain.events import CommentStatus
from service.ops.imports.records import Skipped, SourceComment, SourceItem, SourcePost
from service.ops.imports.sources import html_body, parse_time
from service.ops.imports.xml import entries, text

DISQUS = "{http://disqus.com}"
INTERNALS = "{http://disqus.com/disqus-internals}"


def read(path: Path) -> Iterator[SourceItem]:
    for element in entries(path, 1, {f"{DISQUS}thread", f"{DISQUS}post"}):
        if element.tag == f"{DISQUS}thread":
            yield thread(element)
        else:
            yield post(element)


def dsq_id(element: Element | None) -> str:
    return "" if element is None else element.get(f"{INTERNALS}id", "").strip()


def flag(element: Element, name: str) -> bool:
    return text(element.find(f"{DISQUS}{name}")).lower() == "true"


def thread(element: Element) -> SourceItem:
    source_id = dsq_id(element)
    if flag(element, "isDeleted"):
        return Skipped("thread deleted in the source", source_id)
    created = text(element.find(f"{DISQUS}createdAt"))
    return SourcePost(
        source_id=source_id,
        url=text(element.find(f"{DISQUS}link")),
        title=text(element.find(f"{DISQUS}title")),
        published_at=parse_time(created, source_id) if created else None,
        # The page's own identifier, when the blog gave Disqus one.
        slug=text(element.find(f"{DISQUS}id")) or None,
    )


def post(element: Element) -> SourceComment:
    source_id = dsq_id(element)
    author = element.find(f"{DISQUS}author")
    name = text(author.find(f"{DISQUS}name") if author is not None else None, "Anonymous")
    status = CommentStatus.PUBLISHED
    if flag(element, "isSpam"):
        status = CommentStatus.REJECTED
    elif flag(element, "isDeleted"):
        status = CommentStatus.DELETED
    body, body_html = html_body(text(element.find(f"{DISQUS}message")))
    parent = dsq_id(element.find(f"{DISQUS}parent"))
    return SourceComment(
        source_id=source_id,
        post_ref=dsq_id(element.find(f"{DISQUS}thread")),
        parent_ref=parent or None,
        author_name=name,
        author_website=None,
        written_at=parse_time(text(element.find(f"{DISQUS}createdAt")), source_id),
        body=body,
        body_html=body_html,
        status=status,
    )
