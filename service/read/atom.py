"""Atom feeds (RFC 4287) of recent comments and of a label's posts, from the same rows as the
JSON reads. Written with the standard library's ElementTree, which escapes every text and
attribute; what XML cannot hold at all (most control characters) is dropped first. The same
rows always give the same bytes (ETags rely on it)."""

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree

from service.eventstore.cloudevents import format_time
from service.read.recent import comment_link

ATOM = "http://www.w3.org/2005/Atom"
CONTENT_TYPE = "application/atom+xml"
# Ids derive from these names, so an entry keeps its id across rebuilds and deployments.
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://threadlog.invalid/atom")
# Characters XML 1.0 does not allow, even escaped.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# A feed with nothing in it yet is as old as can be: its `updated` must still be a time.
NEVER = datetime(1970, 1, 1, tzinfo=UTC)

ElementTree.register_namespace("", ATOM)


def urn(*names: str) -> str:
    """A stable id: the same names always give the same URN, different ones never do."""
    return uuid.uuid5(NAMESPACE, "\x1f".join(names)).urn


@dataclass(frozen=True, slots=True)
class Feed:
    id: str
    title: str
    # The feed's own URL, and the page it follows (a post's), if any.
    self_url: str
    author: str
    alternate: str | None = None


def xml_text(value: str) -> str:
    """`value` as XML can hold it; line breaks as a parser reads them back (ElementTree
    writes a bare carriage return as it is, which parsers turn into a line feed)."""
    return NOT_XML.sub("", value).replace("\r\n", "\n").replace("\r", "\n")


def child(
    parent: ElementTree.Element, tag: str, text: str | None = None, **attributes: str
) -> ElementTree.Element:
    element = ElementTree.SubElement(
        parent, f"{{{ATOM}}}{tag}", {name: xml_text(value) for name, value in attributes.items()}
    )
    if text is not None:
        element.text = xml_text(text)
    return element


def comment_entry(feed: ElementTree.Element, row: Any) -> datetime:
    """One comment; returns when it last changed."""
    updated: datetime = row["edited_at"] or row["created_at"]
    entry = child(feed, "entry")
    child(entry, "id", urn("comment", row["site"], row["comment_id"]))
    child(entry, "title", f"{row['author_name']} on {row['title']}")
    child(entry, "published", format_time(row["created_at"]))
    child(entry, "updated", format_time(updated))
    author = child(entry, "author")
    child(author, "name", row["author_name"] or "?")
    if row["author_website"]:
        child(author, "uri", row["author_website"])
    child(
        entry,
        "link",
        rel="alternate",
        type="text/html",
        href=comment_link(row["url"], row["comment_id"]),
    )
    child(entry, "content", row["body_html"] or "", type="html")
    return updated


def post_entry(feed: ElementTree.Element, row: Any) -> datetime:
    """One post: its title, link and labels (the service keeps no post bodies)."""
    entry = child(feed, "entry")
    child(entry, "id", urn("post", row["site"], row["post_id"]))
    child(entry, "title", row["title"])
    child(entry, "published", format_time(row["published_at"]))
    child(entry, "updated", format_time(row["published_at"]))
    child(entry, "link", rel="alternate", type="text/html", href=row["url"])
    for label in row["labels"]:
        child(entry, "category", term=label)
    published: datetime = row["published_at"]
    return published


def document(
    feed: Feed, rows: Iterable[Any], *, posts: bool = False, since: datetime = NEVER
) -> bytes:
    """The feed of `rows` (comments, or posts when `posts`), newest first; `updated` is the
    latest change among them, and never before `since`."""
    root = ElementTree.Element(f"{{{ATOM}}}feed")
    child(root, "id", feed.id)
    child(root, "title", feed.title)
    updated = child(root, "updated")
    # Entries whose author is a post (a label's feed) fall back to the feed's author.
    author = child(root, "author")
    child(author, "name", feed.author)
    child(root, "link", rel="self", type=CONTENT_TYPE, href=feed.self_url)
    if feed.alternate is not None:
        child(root, "link", rel="alternate", type="text/html", href=feed.alternate)
    child(root, "generator", "threadlog")
    latest = since
    for row in rows:
        latest = max(latest, post_entry(root, row) if posts else comment_entry(root, row))
    updated.text = format_time(latest)
    written: bytes = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    return written
