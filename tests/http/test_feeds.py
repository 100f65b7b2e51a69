"""Atom feeds, read back with feedparser: a post's comments, a site's recent comments and a
label's posts. Published comments only, sanitised HTML escaped, ETags and 304s."""

from datetime import UTC, datetime
from xml.etree import ElementTree

import feedparser
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st
from multidict import CIMultiDictProxy

from service.read import atom
from service.read.atom import ATOM, Feed
from service.settings import Settings
from tests.builders import Client, SiteKeys, comment, publish, serving, thread

HOSTILE = '<script>alert(1)</script> & <img src=x onerror=alert(2)> ]]> **bold** "q"'


async def feed_of(client: Client, path: str) -> tuple[bytes, CIMultiDictProxy[str]]:
    response = await client.get(path)
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"] == "application/atom+xml"
    return await response.read(), response.headers


def parsed(body: bytes) -> feedparser.FeedParserDict:
    found = feedparser.parse(body)
    assert not found.bozo, found.get("bozo_exception")
    return found


def contents(body: bytes) -> list[str]:
    """Each entry's `content` as the XML says it, unescaped once (as a reader gets it)."""
    root = ElementTree.fromstring(body)
    return [element.text or "" for element in root.iter(f"{{{ATOM}}}content")]


async def test_a_posts_feed_has_its_published_comments_escaped(
    client: Client, site: SiteKeys
) -> None:
    post_id = await publish(client, site, title="A <post> & more")
    first = await comment(client, site, post_id, HOSTILE, name="Ann <b>")
    reply = await comment(client, site, post_id, "a reply", first["id"], name="Bob")
    hidden = await comment(client, site, post_id, "rejected later", name="Eve")
    rejected = await client.post(
        f"/v1/sites/{site.site}/comments/{hidden['id']}/reject",
        json={"reason": "spam"},
        headers=site.auth("moderator"),
    )
    assert rejected.status == 200
    path = f"/v1/sites/{site.site}/posts/{post_id}/comments.atom"
    body, headers = await feed_of(client, path)
    feed = parsed(body)
    assert feed.version == "atom10"
    assert feed.feed.title == "Comments on A <post> & more"
    links = {link.rel: link.href for link in feed.feed.links}
    assert links["self"].endswith(path) and links["alternate"] == f"https://blog.example/{post_id}"
    assert [entry.author for entry in feed.entries] == ["Bob", "Ann <b>"]  # newest first
    assert [entry.link for entry in feed.entries] == [
        f"https://blog.example/{post_id}#comment-{reply['id']}",
        f"https://blog.example/{post_id}#comment-{first['id']}",
    ]
    assert all(entry.id.startswith("urn:uuid:") for entry in feed.entries)
    assert feed.entries[0].published_parsed and feed.entries[0].updated_parsed
    assert b"<script" not in body and b"rejected later" not in body
    # The content is the server's sanitised HTML, escaped once in the XML.
    (root,) = (await thread(client, site, post_id))["comments"]
    assert contents(body) == [root["replies"][0]["body_html"], root["body_html"]]
    assert "&lt;script&gt;" in root["body_html"]  # the widget shows the same text
    # The same feed again: same ETag, and a 304 for a reader that has it.
    again, headers_again = await feed_of(client, path)
    assert (again, headers_again["ETag"]) == (body, headers["ETag"])
    unchanged = await client.get(path, headers={"If-None-Match": headers["ETag"]})
    assert unchanged.status == 304 and unchanged.headers["ETag"] == headers["ETag"]
    await comment(client, site, post_id, "one more")
    changed = await client.get(path, headers={"If-None-Match": headers["ETag"]})
    assert changed.status == 200 and changed.headers["ETag"] != headers["ETag"]
    assert len(parsed(await changed.read()).entries) == 3


async def test_a_sites_feed_and_a_labels_feed(client: Client, site: SiteKeys) -> None:
    older = await publish(
        client, site, labels=["LinkedIn", "Other"], published_at="2026-01-01T00:00:00Z"
    )
    newer = await publish(client, site, labels=["linkedin"], published_at="2026-02-01T00:00:00Z")
    await publish(client, site, labels=["Unrelated"])
    for post_id in (older, newer, older):
        await comment(client, site, post_id, f"on {post_id}")
    body, headers = await feed_of(client, f"/v1/sites/{site.site}/comments.atom")
    feed = parsed(body)
    assert [entry.summary for entry in feed.entries] == [
        f"<p>on {older}</p>", f"<p>on {newer}</p>", f"<p>on {older}</p>"
    ]  # fmt: skip
    assert feed.feed.updated_parsed is not None
    unchanged = await client.get(
        f"/v1/sites/{site.site}/comments.atom", headers={"If-None-Match": headers["ETag"]}
    )
    assert unchanged.status == 304

    body, _ = await feed_of(client, f"/v1/sites/{site.site}/labels/LinkedIn/posts.atom")
    posts = parsed(body)
    assert [entry.link for entry in posts.entries] == [
        f"https://blog.example/{newer}", f"https://blog.example/{older}"
    ]  # fmt: skip
    assert posts.entries[1].published == "2026-01-01T00:00:00Z"
    assert {tag.term for tag in posts.entries[1].tags} == {"LinkedIn", "Other"}
    assert posts.feed.author == f"Site {site.site}"


async def test_a_feed_is_bounded_by_its_setting(
    client: Client, site: SiteKeys, settings: Settings
) -> None:
    post_id = await publish(client, site)
    for number in range(4):
        await comment(client, site, post_id, f"c{number}")
    async with serving(settings, feed_entries=3) as small:
        body, _ = await feed_of(small, f"/v1/sites/{site.site}/posts/{post_id}/comments.atom")
    assert [entry.summary for entry in parsed(body).entries] == [
        "<p>c3</p>", "<p>c2</p>", "<p>c1</p>"
    ]  # fmt: skip


async def test_missing_things_are_problems(client: Client, site: SiteKeys) -> None:
    post_id = await publish(client, site)
    for path, status in (
        ("/v1/sites/nope-nope/comments.atom", 404),
        (f"/v1/sites/{site.site}/posts/never/comments.atom", 404),
        ("/v1/sites/nope-nope/labels/x/posts.atom", 404),
    ):
        response = await client.get(path)
        assert response.status == status
        assert (await response.json())["type"].endswith("/problems/not-found")
    await client.delete(f"/v1/sites/{site.site}/posts/{post_id}", headers=site.auth("moderator"))
    gone = await client.get(f"/v1/sites/{site.site}/posts/{post_id}/comments.atom")
    assert gone.status == 410


text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)


@examples(max_examples=100, deadline=None)
@given(name=text, title=text, body=text)
def test_any_text_makes_a_well_formed_feed(name: str, title: str, body: str) -> None:
    row = {
        "site": "s", "comment_id": "c", "post_id": "p", "title": title,
        "url": "https://blog.example/p", "author_name": name, "author_website": None,
        "body_html": body, "created_at": datetime(2026, 1, 1, tzinfo=UTC), "edited_at": None,
    }  # fmt: skip
    written = atom.document(Feed("urn:x", title, "https://x/f.atom", name), [row])
    found = parsed(written)
    assert len(found.entries) == 1
    assert contents(written) == [atom.xml_text(body)]
