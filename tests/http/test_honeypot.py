"""A filled honeypot answers exactly what the same comment without it would (status code,
headers, body shape, a working id and delete token), so a bot cannot tell; the comment is
stored, held as spam for moderators, and never published."""

from typing import Any

import pytest
from aiohttp import ClientResponse

from tests.builders import Client, SiteKeys, json_body, publish, set_settings, thread

COMMENT = {"author": {"name": "Bob", "website": "https://bob.example"}, "body": "Nice post"}


async def send(client: Client, site: SiteKeys, post_id: str, **extra: Any) -> ClientResponse:
    return await client.post(
        f"/v1/sites/{site.site}/posts/{post_id}/comments", json=COMMENT | extra
    )


def shape(value: Any) -> Any:
    """The JSON's structure and types, without the values that differ per comment."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return type(value).__name__


async def answer(response: ClientResponse) -> tuple[int, set[str], Any, str]:
    body = await response.json()
    dynamic = {"X-Request-Id", "Date", "Content-Length", "Location"}
    names = {name for name in response.headers if name not in dynamic}
    return response.status, names, shape(body), body["status"]


@pytest.mark.parametrize(("premoderation", "status"), [("off", "published"), ("all", "held")])
async def test_a_filled_honeypot_answers_like_the_comment_without_it(
    client: Client, site: SiteKeys, premoderation: str, status: str
) -> None:
    post_id = await publish(client, site)
    await set_settings(client, site, premoderation=premoderation)
    honest = await send(client, site, post_id)
    bot = await send(client, site, post_id, honeypot="http://spam.example")
    assert await answer(bot) == await answer(honest)
    assert (await answer(bot))[3] == status
    created = await json_body(bot, 201)
    assert bot.headers["Location"] == f"/v1/sites/{site.site}/comments/{created['id']}"
    assert len(created["delete_token"]) == 43

    # Stored and held as spam, seen by moderators; never in the thread.
    ids = {c["id"] for c in (await thread(client, site, post_id))["comments"]}
    assert created["id"] not in ids
    detail = await client.get(
        f"/v1/sites/{site.site}/comments/{created['id']}", headers=site.auth("moderator")
    )
    seen = await json_body(detail, 200)
    assert seen["status"] == "held" and seen["reason"] == "spam"
    # Its delete token works, as a published comment's would.
    deleted = await client.delete(
        f"/v1/sites/{site.site}/comments/{created['id']}",
        headers={"X-Delete-Token": created["delete_token"]},
    )
    assert deleted.status == 204


async def test_a_replayed_honeypot_comment_answers_the_same_again(
    client: Client, site: SiteKeys
) -> None:
    post_id = await publish(client, site)
    path = f"/v1/sites/{site.site}/posts/{post_id}/comments"
    headers = {"Idempotency-Key": f"bot-{post_id}"}
    body = COMMENT | {"honeypot": "x"}
    first = await json_body(await client.post(path, json=body, headers=headers), 201)
    again = await client.post(path, json=body, headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await json_body(again, 201) == first
    assert first["status"] == "published"


async def test_a_filled_honeypot_with_a_banned_word_is_refused_like_any_other(
    client: Client, site: SiteKeys
) -> None:
    post_id = await publish(client, site)
    await set_settings(client, site, banned_words=["nice"])
    honest, bot = await send(client, site, post_id), await send(client, site, post_id, honeypot="x")
    assert honest.status == bot.status == 422
    assert (await honest.json())["detail"] == (await bot.json())["detail"]
