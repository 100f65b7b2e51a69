"""Who may do what: the permission matrix of the core endpoints, feed isolation between sites,
and secrets that are never stored in the clear."""

import base64
import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pytest
from aiohttp import ClientResponse

from service.db import Pool
from tests.builders import Client, SiteKeys, comment, publish, thread
from tests.waiting import feed

JsonObject = dict[str, Any]
REALM = 'Bearer realm="threadlog"'
UNKNOWN_KEY = "tl_000000000000_" + "A" * 43
MALFORMED_KEY = "tl_not_a_key"
WRONG_TOKEN = "B" * 43  # well-formed, but no comment's token


class Credential(StrEnum):
    NONE = "none"
    PUBLISHER = "publisher"
    MODERATOR = "moderator"
    SUBSCRIBER = "subscriber"
    OTHER_SITE_MODERATOR = "other-site-moderator"
    MALFORMED_KEY = "malformed-key"
    UNKNOWN_KEY = "unknown-key"
    AUTHOR_TOKEN = "author-token"
    WRONG_TOKEN = "wrong-token"


class Action(StrEnum):
    PUT_POST = "put-post"
    DELETE_POST = "delete-post"
    DELETE_COMMENT = "delete-comment"
    GET_EVENTS = "get-events"


C = Credential
# A delete token is no API key: only DELETE comment looks at it. The feed has no site in its
# path, so another site's key is allowed there and reads its own site's events.
EXPECTED: dict[Action, dict[Credential, int]] = {
    Action.PUT_POST: {
        C.NONE: 401, C.PUBLISHER: 200, C.MODERATOR: 200, C.SUBSCRIBER: 403,
        C.OTHER_SITE_MODERATOR: 403, C.MALFORMED_KEY: 401, C.UNKNOWN_KEY: 401,
        C.AUTHOR_TOKEN: 401, C.WRONG_TOKEN: 401,
    },
    Action.DELETE_POST: {
        C.NONE: 401, C.PUBLISHER: 403, C.MODERATOR: 204, C.SUBSCRIBER: 403,
        C.OTHER_SITE_MODERATOR: 403, C.MALFORMED_KEY: 401, C.UNKNOWN_KEY: 401,
        C.AUTHOR_TOKEN: 401, C.WRONG_TOKEN: 401,
    },
    Action.DELETE_COMMENT: {
        C.NONE: 401, C.PUBLISHER: 403, C.MODERATOR: 204, C.SUBSCRIBER: 403,
        C.OTHER_SITE_MODERATOR: 403, C.MALFORMED_KEY: 401, C.UNKNOWN_KEY: 401,
        C.AUTHOR_TOKEN: 204, C.WRONG_TOKEN: 403,
    },
    Action.GET_EVENTS: {
        C.NONE: 401, C.PUBLISHER: 403, C.MODERATOR: 200, C.SUBSCRIBER: 200,
        C.OTHER_SITE_MODERATOR: 200, C.MALFORMED_KEY: 401, C.UNKNOWN_KEY: 401,
        C.AUTHOR_TOKEN: 401, C.WRONG_TOKEN: 401,
    },
}  # fmt: skip


@dataclass(frozen=True)
class Scene:
    site: SiteKeys
    other_site: SiteKeys
    post_id: str
    comment: JsonObject


@pytest.fixture
async def scene(client: Client, site: SiteKeys, other_site: SiteKeys) -> Scene:
    post_id = await publish(client, site, title="Before")
    created = await comment(client, site, post_id, "to be judged")
    # The other site holds a post of the same id: a leak across sites would show.
    await comment(client, other_site, await publish(client, other_site, post_id), "elsewhere")
    for each in (site, other_site):
        # The feed shows an event once every older transaction on the cluster has ended.
        assert len((await feed(client, each, 2))["events"]) == 2
    return Scene(site, other_site, post_id, created)


def headers_for(credential: Credential, scene: Scene) -> dict[str, str]:
    bearer = {
        C.PUBLISHER: scene.site.publisher,
        C.MODERATOR: scene.site.moderator,
        C.SUBSCRIBER: scene.site.subscriber,
        C.OTHER_SITE_MODERATOR: scene.other_site.moderator,
        C.MALFORMED_KEY: MALFORMED_KEY,
        C.UNKNOWN_KEY: UNKNOWN_KEY,
    }
    tokens = {C.AUTHOR_TOKEN: scene.comment["delete_token"], C.WRONG_TOKEN: WRONG_TOKEN}
    if credential in bearer:
        return {"Authorization": f"Bearer {bearer[credential]}"}
    if credential in tokens:
        return {"X-Delete-Token": tokens[credential]}
    return {}


async def perform(
    client: Client, scene: Scene, action: Action, headers: dict[str, str]
) -> ClientResponse:
    post_path = f"/v1/sites/{scene.site.site}/posts/{scene.post_id}"
    match action:
        case Action.PUT_POST:
            body = {"title": "After", "url": "https://blog.example/after"}
            return await client.put(post_path, json=body, headers=headers)
        case Action.DELETE_POST:
            return await client.delete(post_path, headers=headers)
        case Action.DELETE_COMMENT:
            path = f"/v1/sites/{scene.site.site}/comments/{scene.comment['id']}"
            return await client.delete(path, headers=headers)
        case Action.GET_EVENTS:
            return await client.get("/v1/events", params={"limit": "1000"}, headers=headers)


async def state(client: Client, scene: Scene) -> JsonObject:
    """What the actions could change: the post and its thread."""
    response = await client.get(f"/v1/sites/{scene.site.site}/posts/{scene.post_id}")
    if response.status != 200:
        return {"post": response.status}
    return {
        "post": await response.json(),
        "thread": await thread(client, scene.site, scene.post_id),
    }


async def assert_refused(response: ClientResponse, status: int) -> None:
    text = await response.text()
    assert response.status == status, text
    assert response.content_type == "application/problem+json", text
    problem = json.loads(text)
    assert problem["status"] == status and problem["instance"] == response.url.path
    assert problem["type"].endswith(
        {401: "/problems/unauthorized", 403: "/problems/forbidden"}[status]
    )
    assert problem["detail"]
    if status == 401:
        assert response.headers.get("WWW-Authenticate") == REALM
    else:
        assert "WWW-Authenticate" not in response.headers


async def assert_done(
    client: Client, scene: Scene, action: Action, credential: Credential, response: ClientResponse
) -> None:
    match action:
        case Action.PUT_POST:
            assert (await response.json())["title"] == "After"
            assert (await state(client, scene))["post"]["title"] == "After"
        case Action.DELETE_POST:
            assert (await state(client, scene))["post"] == 410
        case Action.DELETE_COMMENT:
            assert (await state(client, scene))["thread"]["total"] == 0
        case Action.GET_EVENTS:
            page = await response.json()
            own = scene.other_site if credential is C.OTHER_SITE_MODERATOR else scene.site
            assert [event["type"] for event in page["events"]] == [
                "post.published",
                "comment.posted",
            ]
            assert {event["source"] for event in page["events"]} == {f"/v1/sites/{own.site}"}


MATRIX = [
    pytest.param(action, credential, id=f"{action}-{credential}-{EXPECTED[action][credential]}")
    for action in Action
    for credential in Credential
]


@pytest.mark.parametrize(("action", "credential"), MATRIX)
async def test_permission_matrix(
    client: Client, scene: Scene, action: Action, credential: Credential
) -> None:
    expected = EXPECTED[action][credential]
    before = await state(client, scene)
    response = await perform(client, scene, action, headers_for(credential, scene))
    if expected >= 400:
        await assert_refused(response, expected)
        assert await state(client, scene) == before
    else:
        assert response.status == expected, await response.text()
        await assert_done(client, scene, action, credential, response)


async def test_a_moderator_key_beats_a_wrong_delete_token(client: Client, scene: Scene) -> None:
    headers = headers_for(C.MODERATOR, scene) | headers_for(C.WRONG_TOKEN, scene)
    response = await perform(client, scene, Action.DELETE_COMMENT, headers)
    assert response.status == 204, await response.text()


async def test_a_publisher_key_with_the_author_token_is_still_refused(
    client: Client, scene: Scene
) -> None:
    # The key says who is asking; a key that may not delete is not rescued by a token.
    headers = headers_for(C.PUBLISHER, scene) | headers_for(C.AUTHOR_TOKEN, scene)
    before = await state(client, scene)
    await assert_refused(await perform(client, scene, Action.DELETE_COMMENT, headers), 403)
    assert await state(client, scene) == before


async def test_a_token_of_another_comment_is_refused(client: Client, scene: Scene) -> None:
    sibling = await comment(client, scene.site, scene.post_id, "sibling")
    headers = {"X-Delete-Token": sibling["delete_token"]}
    before = await state(client, scene)
    await assert_refused(await perform(client, scene, Action.DELETE_COMMENT, headers), 403)
    assert await state(client, scene) == before


# --- the feed ----------------------------------------------------------------------------------


async def read_feed(client: Client, key: str, after: str | None = None) -> list[JsonObject]:
    """Every event the key may read after `after`, page by page."""
    events: list[JsonObject] = []
    query = {"limit": "2"} | ({"after": after} if after else {})
    while True:
        headers = {"Authorization": f"Bearer {key}"}
        response = await client.get("/v1/events", params=query, headers=headers)
        assert response.status == 200, await response.text()
        page = await response.json()
        if not page["events"]:
            return events
        events += page["events"]
        query["after"] = page["next"]


async def test_the_feed_of_a_key_holds_only_its_own_sites_events(
    client: Client, site: SiteKeys, other_site: SiteKeys
) -> None:
    # Interleaved writes of two sites, on posts of the same id.
    post_id = await publish(client, site)
    await publish(client, other_site, post_id)
    mine = await comment(client, site, post_id)
    theirs = await comment(client, other_site, post_id)
    for each in (site, other_site):
        assert len((await feed(client, each, 2))["events"]) == 2

    their_feed = await read_feed(client, other_site.subscriber)
    assert [event["type"] for event in their_feed] == ["post.published", "comment.posted"]
    assert their_feed[1]["data"]["comment_id"] == theirs["id"]
    their_ids = {event["id"] for event in their_feed}

    for key in (site.subscriber, site.moderator):
        my_feed = await read_feed(client, key)
        assert [event["type"] for event in my_feed] == ["post.published", "comment.posted"]
        assert my_feed[1]["data"]["comment_id"] == mine["id"]
        for event in my_feed:
            assert event["source"] == f"/v1/sites/{site.site}"
            assert event["data"]["site"] == site.site
            assert event["id"] not in their_ids

    # Resuming from a cursor of the other site's feed still shows only this site's events.
    after_theirs = await read_feed(client, site.subscriber, after=their_feed[0]["cursor"])
    assert [event["data"].get("comment_id") for event in after_theirs] == [mine["id"]]


# --- secrets at rest ---------------------------------------------------------------------------


def stored_forms(value: object) -> list[str]:
    """The ways a stored value could reveal a secret when read as text."""
    if isinstance(value, bytes):
        return [value.hex(), value.decode("latin-1"), base64.urlsafe_b64encode(value).decode()]
    return [str(value)]


def assert_absent(secret: str, rows: list[Any]) -> None:
    assert rows, "nothing to search: the test would pass vacuously"
    raw = base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))
    for row in rows:
        for column, value in row.items():
            for form in stored_forms(value):
                assert secret not in form, f"{column} holds the secret"
                assert raw.hex() not in form, f"{column} holds the secret's bytes"
                assert raw.decode("latin-1") not in form, f"{column} holds the secret's bytes"


async def test_api_keys_are_stored_only_as_digests(
    client: Client, pool: Pool, site: SiteKeys
) -> None:
    await publish(client, site)  # a key in use leaves its id in event metadata, not its secret
    for key in (site.publisher, site.moderator, site.subscriber):
        _, key_id, secret = key.split("_", 2)
        rows = await pool.fetch("SELECT * FROM api_keys WHERE site = $1", site.site)
        assert len(rows) == 3
        assert_absent(secret, rows)
        [stored] = [row for row in rows if row["key_id"] == key_id]
        assert stored["secret_sha256"] == hashlib.sha256(secret.encode()).digest()
        events = await pool.fetch(
            "SELECT data::text, metadata::text FROM events WHERE site = $1", site.site
        )
        assert_absent(secret, events)


async def test_the_delete_token_is_never_stored(client: Client, pool: Pool, site: SiteKeys) -> None:
    post_id = await publish(client, site)
    path = f"/v1/sites/{site.site}/posts/{post_id}/comments"
    body = {"author": {"name": "Ann", "email": "ann@example.com"}, "body": "mine"}
    headers = {"Idempotency-Key": f"token-test-{post_id}"}
    first = await client.post(path, json=body, headers=headers)
    assert first.status == 201, await first.text()
    token: str = (await first.json())["delete_token"]
    retry = await client.post(path, json=body, headers=headers)
    assert (await retry.json())["delete_token"] == token
    comment_id = (await first.json())["id"]
    deleted = await client.delete(
        f"/v1/sites/{site.site}/comments/{comment_id}",
        headers={"X-Delete-Token": token},
        json={"reason": "changed my mind"},
    )
    assert deleted.status == 204, await deleted.text()

    searches = {
        "events": "SELECT *, data::text AS data_text, metadata::text AS metadata_text "
        "FROM events WHERE site = $1",
        "stream_comments": "SELECT * FROM stream_comments WHERE site = $1",
        "thread_comments": "SELECT * FROM thread_comments WHERE site = $1",
        "idempotency_keys": "SELECT * FROM idempotency_keys",
    }
    for table, query in searches.items():
        arguments = () if table == "idempotency_keys" else (site.site,)
        assert_absent(token, await pool.fetch(query, *arguments))
    stored = await pool.fetchval(
        "SELECT delete_token_sha256 FROM stream_comments WHERE site = $1 AND comment_id = $2",
        site.site,
        comment_id,
    )
    assert stored == hashlib.sha256(token.encode()).digest()
