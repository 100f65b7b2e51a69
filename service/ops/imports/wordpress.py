"""WordPress's export (WXR): an RSS feed whose items are posts with their comments.

A post's `category` elements (domain `category` and `post_tag`) are its labels; a comment's
`comment_parent` names its parent (0: none); `comment_approved` is `1` (published), `0`
(held), `spam` (rejected) or `trash` (deleted). Pingbacks and trackbacks are not comments.
Comments are text with line breaks and a little HTML, shown as WordPress shows them.
"""

from collections.abc import Iterator
from pathlib import Path
from xml.etree.ElementTree import Element

from service.domain.events import CommentStatus
from service.ops.imports.records import Skipped, SourceComment, SourceItem, SourcePost
from service.ops.imports.sources import html_body, parse_time, website
from service.ops.imports.xml import entries, local, text

STATUSES = {
    "1": CommentStatus.PUBLISHED,
    "approve": CommentStatus.PUBLISHED,
    "0": CommentStatus.HELD,
    "hold": CommentStatus.HELD,
    "spam": CommentStatus.REJECTED,
    "trash": CommentStatus.DELETED,
}
POST_TYPES = ("post", "page")


def read(path: Path) -> Iterator[SourceItem]:
    for item in entries(path, 2, {"item"}):
        yield from item_items(item)


def wp(element: Element) -> dict[str, Element]:
    """An element's children of the `wp:` namespace (any WXR version), by name."""
    return {
        local(child.tag): child
        for child in element
        if child.tag.startswith("{http://wordpress.org/export/")
    }


def item_items(item: Element) -> Iterator[SourceItem]:
    fields = wp(item)
    source_id = text(fields.get("post_id"))
    post_type, status = text(fields.get("post_type"), "post"), text(fields.get("status"))
    if post_type not in POST_TYPES:
        return  # attachments, menu items, blocks
    if status not in ("publish", "private"):
        yield Skipped(f"post not published ({status or 'no status'})", source_id)
        yield from (
            Skipped("its post was skipped", text(wp(c).get("comment_id")))
            for c in item
            if local(c.tag) == "comment"
        )
        return
    labels = tuple(
        text(category)
        for category in item.findall("category")
        if category.get("domain") in ("category", "post_tag") and text(category)
    )
    published = text(fields.get("post_date_gmt"))
    if published.startswith("0000"):
        published = ""
    yield SourcePost(
        source_id=source_id,
        url=text(item.find("link")),
        title=text(item.find("title")),
        labels=tuple(dict.fromkeys(labels)),
        published_at=parse_time(published, source_id) if published else None,
        slug=text(fields.get("post_name")) or None,
    )
    for child in item:
        if local(child.tag) == "comment" and child.tag.startswith("{http://wordpress.org/"):
            yield comment(child, source_id)


def comment(element: Element, post_id: str) -> SourceItem:
    fields = wp(element)
    source_id = text(fields.get("comment_id"))
    if text(fields.get("comment_type")) in ("pingback", "trackback"):
        return Skipped("pingback or trackback", source_id)
    parent = text(fields.get("comment_parent"), "0")
    written = text(fields.get("comment_date_gmt"))
    if not written or written.startswith("0000"):
        written = text(fields.get("comment_date"))
    body, body_html = html_body(text(fields.get("comment_content")), paragraphs=True)
    return SourceComment(
        source_id=source_id,
        post_ref=post_id,
        parent_ref=None if parent in ("", "0") else parent,
        author_name=text(fields.get("comment_author"), "Anonymous"),
        author_website=website(text(fields.get("comment_author_url"))),
        written_at=parse_time(written, source_id),
        body=body,
        body_html=body_html,
        status=STATUSES.get(text(fields.get("comment_approved"), "1"), CommentStatus.HELD),
    )
