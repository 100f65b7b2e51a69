"""Blogger's export: an Atom feed of the blog's posts and comments.

Two shapes exist. The classic one tells a post from a comment by its `kind` category, puts
labels in categories of the `http://www.blogger.com/atom/ns#` scheme, names a comment's post
in `thr:in-reply-to` and a reply's parent comment in a `related` link; a removed comment has
the `blogger.contentRemoved` property. The newer one (namespace
`http://schemas.google.com/blogger/2018`) says `blogger:type`, `blogger:parent`,
`blogger:inReplyTo`, `blogger:status` and `blogger:filename`. Ids `tag:blogger.com,1999:
blog-1.post-2` are read as their number, `2`, the last part of every link that names one.
"""

from collections.abc import Iterator
from pathlib import Path
from xml.etree.ElementTree import Element

from service.domain.events import CommentStatus, DeletedBy
from service.ops.imports.records import SourceComment, SourceItem, SourcePost
from service.ops.imports.sources import html_body, parse_time, website
from service.ops.imports.xml import entries, text

ATOM = "{http://www.w3.org/2005/Atom}"
THREAD = "{http://purl.org/syndication/thread/1.0}"
GDATA = "{http://schemas.google.com/g/2005}"
BLOGGER = "{http://schemas.google.com/blogger/2018}"
APP = "{http://purl.org/atom/app#}"
KIND = "http://schemas.google.com/g/2005#kind"
LABEL = "http://www.blogger.com/atom/ns#"
# The newer export's comment statuses.
STATUSES = {
    "LIVE": CommentStatus.PUBLISHED,
    "PENDING": CommentStatus.HELD,
    "SPAM": CommentStatus.REJECTED,
    "DELETED": CommentStatus.DELETED,
    "SOFT_TRASHED": CommentStatus.DELETED,
}


def read(path: Path) -> Iterator[SourceItem]:
    for entry in entries(path, 1, {f"{ATOM}entry"}):
        found = entry_item(entry)
        if found is not None:
            yield found


def short_id(value: str) -> str:
    """`tag:blogger.com,1999:blog-1.post-2` and `.../comments/default/2` are both `2`."""
    value = value.strip()
    if ".post-" in value:
        return value.rpartition(".post-")[2]
    return value.rstrip("/").rpartition("/")[2] if "/" in value else value


def kind(entry: Element) -> str:
    typed = text(entry.find(f"{BLOGGER}type")).lower()
    if typed:
        return typed
    for category in entry.findall(f"{ATOM}category"):
        if category.get("scheme") == KIND:
            return category.get("term", "").rpartition("#")[2]
    return ""


def entry_item(entry: Element) -> SourceItem | None:
    found = kind(entry)
    source_id = short_id(text(entry.find(f"{ATOM}id")))
    if found == "post":
        return post(entry, source_id)
    if found == "comment":
        return comment(entry, source_id)
    return None  # settings, the template, pages: not what comments hang on


def alternate(entry: Element) -> str:
    for link in entry.findall(f"{ATOM}link"):
        if link.get("rel") == "alternate":
            return link.get("href", "")
    return text(entry.find(f"{BLOGGER}filename"))


def post(entry: Element, source_id: str) -> SourcePost | None:
    draft = text(entry.find(f"{APP}control/{APP}draft")) == "yes"
    if draft or text(entry.find(f"{BLOGGER}status")).upper() in ("DRAFT", "DELETED"):
        return None
    labels = tuple(
        category.get("term", "").strip()
        for category in entry.findall(f"{ATOM}category")
        if category.get("scheme") in (LABEL, None) and category.get("term", "").strip()
    )
    published = text(entry.find(f"{ATOM}published"))
    return SourcePost(
        source_id=source_id,
        url=alternate(entry),
        title=text(entry.find(f"{ATOM}title")),
        labels=tuple(dict.fromkeys(labels)),
        published_at=parse_time(published, source_id) if published else None,
    )


def comment(entry: Element, source_id: str) -> SourceComment:
    reply_to = entry.find(f"{THREAD}in-reply-to")
    post_ref = text(entry.find(f"{BLOGGER}parent")) or (
        reply_to.get("ref", "") if reply_to is not None else ""
    )
    parent_ref = text(entry.find(f"{BLOGGER}inReplyTo")) or None
    for link in entry.findall(f"{ATOM}link"):
        if link.get("rel") == "related" and "/comments/" in link.get("href", ""):
            parent_ref = link.get("href", "")
    author = entry.find(f"{ATOM}author")
    written = text(entry.find(f"{ATOM}published")) or text(entry.find(f"{BLOGGER}created"))
    content = text(entry.find(f"{ATOM}content"))
    status, deleted_by = removal(entry, content)
    body, body_html = html_body(content) if status is not CommentStatus.DELETED else ("", "")
    return SourceComment(
        source_id=source_id,
        post_ref=short_id(post_ref),
        parent_ref=short_id(parent_ref) if parent_ref else None,
        author_name=text(author.find(f"{ATOM}name") if author is not None else None, "Anonymous"),
        author_website=website(text(author.find(f"{ATOM}uri") if author is not None else None)),
        written_at=parse_time(written, source_id),
        body=body,
        body_html=body_html,
        status=status,
        deleted_by=deleted_by,
    )


def removal(entry: Element, content: str) -> tuple[CommentStatus, DeletedBy]:
    """What Blogger shows of a comment: a removed one (by its author or an administrator) is
    a tombstone here too."""
    by = DeletedBy.AUTHOR if "removed by the author" in content else DeletedBy.MODERATOR
    for item in entry.findall(f"{GDATA}extendedProperty"):
        if item.get("name") == "blogger.contentRemoved" and item.get("value") == "true":
            return CommentStatus.DELETED, by
    status = STATUSES.get(text(entry.find(f"{BLOGGER}status")).upper(), CommentStatus.PUBLISHED)
    return status, by
