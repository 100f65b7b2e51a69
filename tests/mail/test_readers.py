"""Readers: the opt-in, its confirmation, reply mail with working unsubscribe links, and no
mail for held replies or replies to oneself."""

import asyncpg

from service.settings import Settings
from tests.builders import Client, SiteKeys, json_body, publish, set_settings, thread
from tests.mail.inbox import (
    Inbox,
    address,
    confirmed,
    follow,
    force_due,
    html_of,
    links,
    mail_app,
    path_of,
    text_of,
    write,
)
from tests.waiting import wait_until


async def test_the_widget_is_told_whether_mail_is_on(
    client: Client, mail_client: Client, site: SiteKeys
) -> None:
    post_id = await publish(client, site)
    assert (await thread(client, site, post_id))["mail"] is False
    assert (await thread(mail_client, site, post_id))["mail"] is True


async def test_nothing_but_the_confirmation_before_the_address_is_confirmed(
    mail_client: Client, inbox: Inbox, site: SiteKeys, pool: asyncpg.Pool
) -> None:
    reader, other = address(), address("other")
    post_id = await publish(mail_client, site)
    first = await write(mail_client, site, post_id, reader, notify=True, language="nl")
    second = await write(mail_client, site, post_id, reader, notify=True, language="nl")
    await write(mail_client, site, post_id, name="Bob", parent_id=first["id"], body="too early")

    (confirmation,) = await inbox.wait(reader, 1)
    assert "Bevestig" in str(confirmation["Subject"])
    assert len(links(confirmation)) == 1
    # A sentinel: once the other reader's confirmation arrived, the early reply was handled.
    await write(mail_client, site, post_id, other, notify=True)
    await inbox.wait(other, 1)
    assert len(inbox.to(reader)) == 1

    await confirmed(mail_client, inbox, reader)
    await write(mail_client, site, post_id, name="Bob", parent_id=second["id"], body="in time")
    _, replies = await inbox.wait(reader, 2)
    assert "in time" in text_of(replies) and "too early" not in text_of(replies)
    recipient = await pool.fetchrow(
        "SELECT confirmed_at, language FROM mail_recipients WHERE address = $1", reader
    )
    assert recipient["confirmed_at"] is not None and recipient["language"] == "nl"


async def test_a_reply_mails_who_replied_what_and_where_with_one_click_unsubscribe(
    mail_client: Client, inbox: Inbox, site: SiteKeys, pool: asyncpg.Pool
) -> None:
    reader = address()
    post_id = await publish(mail_client, site)
    parent = await write(mail_client, site, post_id, reader, notify=True)
    await confirmed(mail_client, inbox, reader)

    text = "Good point, **but** <script>alert(1)</script> see [this](https://example.org/x)"
    reply = await write(mail_client, site, post_id, name="Bob", parent_id=parent["id"], body=text)
    _, mail = await inbox.wait(reader, 2)
    plain, html = text_of(mail), html_of(mail)
    assert "Bob" in plain and "Good point, but" in plain
    assert f"https://blog.example/{post_id}#comment-{reply['id']}" in plain
    assert "<strong>but</strong>" in html and "<script>" not in html
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    thread_link, site_link = links(mail)[-2:]
    assert path_of(mail["List-Unsubscribe"]) == thread_link

    # RFC 8058: the mail client POSTs the form itself, with no page in between.
    one_click = await mail_client.post(thread_link, data={"List-Unsubscribe": "One-Click"})
    assert one_click.status == 200
    following = await pool.fetchval(
        "SELECT count(*) FROM mail_subscriptions s JOIN mail_recipients r USING (site, email_hash) "
        "WHERE r.address = $1",
        reader,
    )
    assert following == 0

    # Subscribed again on another post, then unsubscribed from the whole site.
    other_post = await publish(mail_client, site)
    again = await write(mail_client, site, other_post, reader, notify=True)
    await follow(mail_client, site_link)
    await write(mail_client, site, other_post, name="Bob", parent_id=again["id"])
    sentinel = address("sentinel")
    await write(mail_client, site, other_post, sentinel, notify=True)
    await inbox.wait(sentinel, 1)
    assert len(inbox.to(reader)) == 2


async def test_no_mail_for_held_replies_or_replies_to_oneself(
    mail_client: Client, inbox: Inbox, site: SiteKeys
) -> None:
    reader = address()
    post_id = await publish(mail_client, site)
    parent = await write(mail_client, site, post_id, reader, notify=True)
    await confirmed(mail_client, inbox, reader)

    await write(mail_client, site, post_id, reader, parent_id=parent["id"], body="me again")
    await set_settings(mail_client, site, premoderation="all")
    held = await write(mail_client, site, post_id, name="Bob", parent_id=parent["id"], body="held")
    assert held["status"] == "held"
    await set_settings(mail_client, site, premoderation="off")
    await write(mail_client, site, post_id, name="Cy", parent_id=parent["id"], body="published")

    _, mail = await inbox.wait(reader, 2)
    assert "published" in text_of(mail)
    assert "me again" not in text_of(mail) and "held" not in text_of(mail)

    # Approved, the held reply is told of, once.
    approve = await mail_client.post(
        f"/v1/sites/{site.site}/comments/{held['id']}/approve", headers=site.auth("moderator")
    )
    await json_body(approve, 200)
    *_, late = await inbox.wait(reader, 3)
    assert "held" in text_of(late)


async def test_replies_within_the_window_are_gathered_into_one_mail(
    settings: Settings, inbox: Inbox, site: SiteKeys, pool: asyncpg.Pool
) -> None:
    reader = address()
    port = inbox.port  # type: ignore[attr-defined]
    async with mail_app(settings, port, mail_gather_seconds=3600) as client:
        post_id = await publish(client, site)
        parent = await write(client, site, post_id, reader, notify=True)
        await confirmed(client, inbox, reader)
        await write(client, site, post_id, name="Bob", parent_id=parent["id"], body="one")
        await write(client, site, post_id, name="Cy", parent_id=parent["id"], body="two")

        async def gathered() -> bool:
            items = await pool.fetchval(
                "SELECT items FROM mail_outbox WHERE address = $1 AND state = 'pending'", reader
            )
            return items is not None and len(items) == 2

        await wait_until(gathered, "both replies in one mail")
        assert len(inbox.to(reader)) == 1  # the confirmation only
        await force_due(pool, site)
        _, mail = await inbox.wait(reader, 2)
    text = text_of(mail)
    assert "Bob" in text and "one" in text and "Cy" in text and "two" in text
