"""Erasure over HTTP: by a moderator (an email, a comment) or by the author (their delete
tokens). The data keys go, the log stays, and nothing of the person is left anywhere."""

import secrets
from typing import Any

import asyncpg

from service.ops.rebuild import rebuild
from tests.builders import Client, SiteKeys, json_body, new_id, publish, thread
from tests.privacy.scan import tables_holding


def planted() -> dict[str, str]:
    tag = secrets.token_hex(6)
    return {
        "name": f"Planted Person {tag}",
        "website": f"https://planted-{tag}.example/me",
        "body": f"my planted words {tag}",
        "email": f"planted-{tag}@mail.example",
    }


async def write(
    client: Client, site: SiteKeys, post_id: str, person: dict[str, str], **fields: Any
) -> dict[str, Any]:
    author = {"name": person["name"], "website": person["website"], "email": person["email"]}
    payload = {"author": author, "body": person["body"]} | fields
    response = await client.post(f"/v1/sites/{site.site}/posts/{post_id}/comments", json=payload)
    return await json_body(response, 201)


async def erase(client: Client, site: SiteKeys, body: dict[str, Any], **headers: str) -> Any:
    return await client.post(f"/v1/sites/{site.site}/erasures", json=body, headers=headers)


def flat(comments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for comment in comments for c in [comment, *flat(comment["replies"])]]


async def test_a_moderator_erases_everything_of_one_email(
    client: Client, site: SiteKeys, pool: asyncpg.Pool
) -> None:
    person = planted()
    first_post, second_post = await publish(client, site), await publish(client, site)
    first = await write(client, site, first_post, person)
    await write(client, site, second_post, person)
    reply = await client.post(
        f"/v1/sites/{site.site}/posts/{first_post}/comments",
        json={"author": {"name": "Bob"}, "body": "a reply", "parent_id": first["id"]},
    )
    await json_body(reply, 201)
    # The log holds it sealed; only the read model shows it.
    assert set(await tables_holding(pool, *person.values())) == {"public.thread_comments"}

    response = await erase(client, site, {"email": person["email"]}, **site.auth("moderator"))
    answer = await json_body(response, 202)
    assert answer["erased"] == 2 and answer["requested_by"] == "moderator"
    assert first["id"] in answer["comment_ids"]

    shown = flat((await thread(client, site, first_post))["comments"])
    tombstone = next(c for c in shown if c["id"] == first["id"])
    assert tombstone["author"] is None and tombstone["body_html"] is None
    assert tombstone["deleted"] == {"by": "author", "erased": True}
    assert [c["body_html"] for c in shown if c["id"] != first["id"]] == ["<p>a reply</p>"]
    assert (await thread(client, site, second_post))["comments"] == []
    counts = await client.get(
        f"/v1/sites/{site.site}/counts", params={"post": [first_post, second_post]}
    )
    assert (await json_body(counts, 200))["counts"] == {first_post: 1, second_post: 0}
    assert await tables_holding(pool, *person.values()) == {}


async def test_the_log_stays_and_subscribers_learn_of_the_erasure(
    client: Client, site: SiteKeys, pool: asyncpg.Pool
) -> None:
    person = planted()
    post_id = await publish(client, site)
    created = await write(client, site, post_id, person)
    events_before = await pool.fetchval("SELECT count(*) FROM events WHERE site = $1", site.site)
    feed = await client.get("/v1/events", headers=site.auth("subscriber"))
    live = [e for e in (await json_body(feed, 200))["events"] if e["type"] == "comment.posted"]
    assert live[0]["data"]["author"]["name"] == person["name"]  # plaintext while alive

    await json_body(
        await erase(client, site, {"comment_id": created["id"]}, **site.auth("moderator")), 202
    )
    # Nothing was rewritten: the erasure only appended.
    after = await pool.fetchval("SELECT count(*) FROM events WHERE site = $1", site.site)
    assert after == events_before + 2
    feed = await client.get("/v1/events", headers=site.auth("subscriber"))
    events = (await json_body(feed, 200))["events"]
    posted = next(e for e in events if e["type"] == "comment.posted")
    assert posted["data"]["erased"] is True
    assert not {"author", "body", "body_html"} & set(posted["data"])
    erased = next(e for e in events if e["type"] == "author.erased")
    assert erased["data"]["comment_ids"] == [created["id"]]
    assert erased["subject"] == f"erasures/{erased['data']['erasure_id']}"
    assert any(e["type"] == "comment.erased" for e in events)
    assert person["name"] not in str(events)


async def test_an_author_erases_with_the_tokens_they_hold(
    client: Client, site: SiteKeys, pool: asyncpg.Pool
) -> None:
    post_id = await publish(client, site)
    name = f"Tokened {secrets.token_hex(4)}"
    mine = [
        await json_body(
            await client.post(
                f"/v1/sites/{site.site}/posts/{post_id}/comments",
                json={"author": {"name": name}, "body": f"text {n} of {name}"},
            ),
            201,
        )
        for n in range(2)
    ]
    held = [{"comment_id": c["id"], "delete_token": c["delete_token"]} for c in mine]
    wrong = [held[0] | {"delete_token": held[1]["delete_token"]}, held[1]]
    refused = await erase(client, site, {"comments": wrong})
    assert refused.status == 403
    answer = await json_body(await erase(client, site, {"comments": held}), 202)
    assert sorted(answer["comment_ids"]) == sorted(c["id"] for c in mine)
    assert answer["requested_by"] == "author"
    assert await tables_holding(pool, name) == {}
    again = await erase(client, site, {"comments": held})
    assert again.status == 403  # erased comments are gone, their tokens prove nothing


async def test_one_token_cannot_erase_what_an_email_shares(client: Client, site: SiteKeys) -> None:
    person = planted()
    post_id = await publish(client, site)
    one = await write(client, site, post_id, person)
    other = await write(client, site, post_id, person)
    response = await erase(
        client, site, {"comments": [{"comment_id": one["id"], "delete_token": one["delete_token"]}]}
    )
    assert response.status == 409
    problem = await response.json()
    assert problem["type"].endswith("/problems/erasure-needs-moderator")
    both = [{"comment_id": c["id"], "delete_token": c["delete_token"]} for c in (one, other)]
    assert (await json_body(await erase(client, site, {"comments": both}), 202))["erased"] == 2


async def test_who_may_erase_and_bad_requests(client: Client, site: SiteKeys) -> None:
    email = {"email": "someone@mail.example"}
    assert (await erase(client, site, email)).status == 401
    assert (await erase(client, site, email, **site.auth("subscriber"))).status == 403
    short_token = {"comments": [{"comment_id": "c", "delete_token": "short"}]}
    both = {"email": "x@y.example", "comment_id": "c"}
    for bad in ({}, both, {"email": "not an email"}, {"comments": []}, short_token):
        response = await erase(client, site, bad, **site.auth("moderator"))
        assert response.status == 422, bad
        assert response.content_type == "application/problem+json"
    unknown = await erase(client, site, {"comment_id": new_id("c")}, **site.auth("moderator"))
    assert unknown.status == 404
    nobody = await erase(client, site, email, **site.auth("moderator"))
    assert (await json_body(nobody, 202))["erased"] == 0


async def test_a_rebuild_brings_nothing_back(
    client: Client, site: SiteKeys, pool: asyncpg.Pool
) -> None:
    person = planted()
    post_id = await publish(client, site)
    parent = await write(client, site, post_id, person)
    await client.post(
        f"/v1/sites/{site.site}/posts/{post_id}/comments",
        json={"author": {"name": "Bob"}, "body": "stays", "parent_id": parent["id"]},
    )
    await json_body(
        await erase(client, site, {"email": person["email"]}, **site.auth("moderator")), 202
    )
    before = await thread(client, site, post_id)
    async with pool.acquire() as connection:
        await rebuild(connection)
    assert await thread(client, site, post_id) == before
    assert await tables_holding(pool, *person.values()) == {}


async def test_exports_by_email_and_by_tokens(client: Client, site: SiteKeys) -> None:
    person = planted()
    post_id = await publish(client, site)
    created = [await write(client, site, post_id, person) for _ in range(2)]
    response = await client.get(
        f"/v1/sites/{site.site}/authors/export",
        params={"email": person["email"]},
        headers=site.auth("moderator"),
    )
    document = await json_body(response, 200)
    assert document["format"] == "threadlog-author-export/1"
    assert [c["id"] for c in document["comments"]] == [c["id"] for c in created]
    assert document["comments"][0]["author"] == {
        "name": person["name"],
        "website": person["website"],
    }
    assert document["comments"][0]["post"]["id"] == post_id
    held = [{"comment_id": created[0]["id"], "delete_token": created[0]["delete_token"]}]
    mine = await client.post(f"/v1/sites/{site.site}/authors/export", json={"comments": held})
    assert [c["id"] for c in (await json_body(mine, 200))["comments"]] == [created[0]["id"]]
    anonymous = await client.get(
        f"/v1/sites/{site.site}/authors/export", params={"email": person["email"]}
    )
    assert anonymous.status == 401
