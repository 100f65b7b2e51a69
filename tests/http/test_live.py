"""Readers' live stream of one post's comments, read by a real HTTP client."""

import asyncio
import json

import pytest

from tests.builders import Client, SiteKeys, comment, publish, set_settings
from tests.http.test_stream import take


def stream_path(site: SiteKeys, post_id: str) -> str:
    return f"/v1/sites/{site.site}/posts/{post_id}/comments/stream"


async def test_new_comments_replies_and_deletions_arrive_without_private_fields(
    client: Client, site: SiteKeys
) -> None:
    post_id = await publish(client, site)
    other_post = await publish(client, site)
    before = await comment(client, site, post_id, "before the stream")
    async with client.get(stream_path(site, post_id)) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/event-stream"
        [ready] = await take(response, 1)
        assert ready["event"] == "ready"
        await comment(client, site, other_post, "elsewhere")
        first = await comment(client, site, post_id, "first <b>bold</b>")
        reply = await comment(client, site, post_id, "reply", parent_id=first["id"])
        # Each message shows the comment as it is when sent: the reply is read before its
        # delete, or it would (rightly) arrive as a tombstone.
        received = await take(response, 2)
        deleted = await client.delete(
            f"/v1/sites/{site.site}/comments/{reply['id']}",
            headers={"X-Delete-Token": reply["delete_token"]},
            json={"reason": "private words"},
        )
        assert deleted.status == 204
        received += await take(response, 1)
    assert [m["event"] for m in received] == [
        "comment.posted",
        "comment.replied",
        "comment.deleted",
    ]
    ids = [int(m["id"]) for m in [ready, *received]]
    assert ids == sorted(ids) and len(set(ids)) == 4
    posted, replied, removed = (json.loads(m["data"]) for m in received)
    authors_only = ("delete_token", "status", "editable_until")
    expected = {key: value for key, value in first.items() if key not in authors_only}
    assert posted == expected
    assert replied["parent_id"] == first["id"] and replied["body_html"] == "<p>reply</p>"
    assert removed["id"] == reply["id"] and removed["deleted"] == {"by": "author"}
    assert removed["author"] is None and removed["body_html"] is None
    text = json.dumps([posted, replied, removed])
    assert before["id"] not in text
    for private in ("delete_token", "private words", "ip_hash", "email", '"body"'):
        assert private not in text


async def test_an_erasure_arrives_as_a_tombstone_without_the_person(
    client: Client, site: SiteKeys
) -> None:
    post_id = await publish(client, site)
    parent = await comment(client, site, post_id, "words to forget", name="Forgotten")
    await comment(client, site, post_id, "a reply", parent_id=parent["id"], name="Bob")
    async with client.get(stream_path(site, post_id)) as response:
        await take(response, 1)
        held = [{"comment_id": parent["id"], "delete_token": parent["delete_token"]}]
        erased = await client.post(f"/v1/sites/{site.site}/erasures", json={"comments": held})
        assert erased.status == 202, await erased.text()
        [message] = await take(response, 1)
    assert message["event"] == "comment.erased"
    shown = json.loads(message["data"])
    assert shown["id"] == parent["id"]
    assert shown["deleted"] == {"by": "author", "erased": True}
    assert shown["author"] is None and shown["body_html"] is None
    assert "Forgotten" not in message["data"] and "forget" not in message["data"]


async def test_a_reconnect_resumes_after_the_last_message(client: Client, site: SiteKeys) -> None:
    post_id = await publish(client, site)
    async with client.get(stream_path(site, post_id)) as response:
        await take(response, 1)
        first = await comment(client, site, post_id, "one")
        [seen] = await take(response, 1)
    missed = [await comment(client, site, post_id, f"missed {n}") for n in range(3)]
    async with client.get(
        stream_path(site, post_id), headers={"Last-Event-ID": seen["id"]}
    ) as again:
        [ready, *rest] = await take(again, 4)
    assert ready["event"] == "ready" and ready["id"] == seen["id"]
    assert [json.loads(m["data"])["id"] for m in rest] == [c["id"] for c in missed]
    assert json.loads(seen["data"])["id"] == first["id"]
    async with client.get(stream_path(site, post_id) + f"?after={ready['id']}") as by_query:
        [_, replayed] = await take(by_query, 2)
    assert json.loads(replayed["data"])["id"] == missed[0]["id"]


async def test_allowed_origins_may_listen(client: Client, site: SiteKeys) -> None:
    post_id = await publish(client, site)
    headers = {"Origin": "https://blog.example"}
    async with client.get(stream_path(site, post_id), headers=headers) as response:
        assert response.headers["Access-Control-Allow-Origin"] == "https://blog.example"
    async with client.get(stream_path(site, post_id), headers={"Origin": "https://x.example"}) as r:
        assert "Access-Control-Allow-Origin" not in r.headers


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/v1/sites/{site}/posts/nope/comments/stream", {}, 404),
        ("/v1/sites/no-such-site/posts/nope/comments/stream", {}, 404),
        ("/v1/sites/{site}/posts/{post}/comments/stream?after=x", {}, 400),
        ("/v1/sites/{site}/posts/{post}/comments/stream", {"Last-Event-ID": "1-2"}, 400),
        ("/v1/sites/{site}/posts/{post}/comments/stream", {"Last-Event-ID": "9" * 4500}, 400),
    ],
    ids=["unknown-post", "unknown-site", "bad-after", "feed-cursor", "huge"],
)
async def test_refusals(
    client: Client, site: SiteKeys, path: str, headers: dict[str, str], status: int
) -> None:
    post_id = await publish(client, site)
    response = await client.get(path.format(site=site.site, post=post_id), headers=headers)
    assert response.status == status
    assert response.headers["Content-Type"] == "application/problem+json"


async def test_a_deleted_post_is_gone(client: Client, site: SiteKeys) -> None:
    post_id = await publish(client, site)
    path = f"/v1/sites/{site.site}/posts/{post_id}"
    assert (await client.delete(path, headers=site.auth("moderator"))).status == 204
    response = await client.get(stream_path(site, post_id))
    assert response.status == 410


async def test_the_stream_ends_when_its_post_is_deleted(client: Client, site: SiteKeys) -> None:
    post_id = await publish(client, site)
    async with client.get(stream_path(site, post_id)) as response:
        await take(response, 1)
        path = f"/v1/sites/{site.site}/posts/{post_id}"
        assert (await client.delete(path, headers=site.auth("moderator"))).status == 204
        async with asyncio.timeout(30):
            rest = await response.content.read()
    assert b"event: comment" not in rest


async def test_a_held_comment_shows_only_once_approved(client: Client, site: SiteKeys) -> None:
    moderator = site.auth("moderator")
    await set_settings(client, site, premoderation="all")
    post_id = await publish(client, site)
    async with client.get(stream_path(site, post_id)) as response:
        await take(response, 1)
        held = await comment(client, site, post_id, "secret until approved")
        assert held["status"] == "held"
        approve = f"/v1/sites/{site.site}/comments/{held['id']}/approve"
        assert (await client.post(approve, headers=moderator)).ok
        received = await take(response, 3)
    assert [m["event"] for m in received] == ["comment.posted", "comment.held", "comment.approved"]
    views = [json.loads(m["data"]) for m in received]
    # Sent once the comment was approved, each message shows it as it is when sent; a reader
    # who got the first two before the approval saw a tombstone (see the next test).
    assert views[-1]["body_html"] == "<p>secret until approved</p>"
    assert views[-1]["deleted"] is None


async def test_a_held_comment_is_never_shown_while_held(client: Client, site: SiteKeys) -> None:
    await set_settings(client, site, premoderation="all")
    post_id = await publish(client, site)
    async with client.get(stream_path(site, post_id)) as response:
        await take(response, 1)
        await comment(client, site, post_id, "secret words")
        received = await take(response, 2)
    assert [m["event"] for m in received] == ["comment.posted", "comment.held"]
    for message in received:
        view = json.loads(message["data"])
        assert view["deleted"] == {"by": "moderator"} and view["author"] is None
    assert "secret" not in json.dumps(received)
