"""Delivery: retried while the SMTP server is down, nothing sent twice across a restart, a 5xx
stops mail to an address until it confirms again, hourly limits, metrics; mail off offers
nothing and keeps nothing; erasure takes the addresses and their pending mail."""

from pathlib import Path

import asyncpg

from service.settings import Settings
from tests.builders import Client, SiteKeys, json_body, publish, thread
from tests.clusters import free_port
from tests.mail.inbox import (
    Inbox,
    address,
    confirmed,
    follow,
    links,
    mail_app,
    smtp_server,
    text_of,
    write,
)
from tests.privacy.scan import tables_holding
from tests.waiting import wait_until


async def attempts(pool: asyncpg.Pool, mail: str) -> int:
    found = await pool.fetchval("SELECT max(attempts) FROM mail_outbox WHERE address = $1", mail)
    return int(found or 0)


async def test_mail_is_retried_while_the_server_is_down(
    settings: Settings, site: SiteKeys, pool: asyncpg.Pool
) -> None:
    inbox, port, reader = Inbox(), free_port(), address()
    async with mail_app(settings, port) as client:
        post_id = await publish(client, site)
        await write(client, site, post_id, reader, notify=True)

        async def failed_twice() -> bool:
            return await attempts(pool, reader) >= 2

        await wait_until(failed_twice, "two failed attempts")
        metrics = await (await client.get("/metrics")).text()
        assert 'threadlog_mail_failed_total{kind="confirm"}' in metrics
        with smtp_server(inbox, port):
            (confirmation,) = await inbox.wait(reader, 1)
            assert "Confirm" in str(confirmation["Subject"])

            async def counted() -> bool:
                metrics = await (await client.get("/metrics")).text()
                return 'threadlog_mail_sent_total{kind="confirm"} 1.0' in metrics

            # The server has the mail a moment before the worker records it as sent.
            await wait_until(counted, "the sent mail counted")


async def test_nothing_is_sent_twice_across_a_restart(
    settings: Settings, inbox: Inbox, site: SiteKeys
) -> None:
    reader = address()
    port = inbox.port  # type: ignore[attr-defined]
    async with mail_app(settings, port) as client:
        post_id = await publish(client, site)
        parent = await write(client, site, post_id, reader, notify=True)
        await confirmed(client, inbox, reader)
        await write(client, site, post_id, name="Bob", parent_id=parent["id"], body="before")
        await inbox.wait(reader, 2)
    async with mail_app(settings, port) as client:
        await write(client, site, post_id, name="Bob", parent_id=parent["id"], body="after")
        mails = await inbox.wait(reader, 3)
    assert ["before" in text_of(m) for m in mails[1:]] == [True, False]
    assert "after" in text_of(mails[2])
    assert len(inbox.to(reader)) == 3


async def test_a_refused_address_gets_nothing_until_it_confirms_again(
    mail_client: Client, inbox: Inbox, site: SiteKeys, pool: asyncpg.Pool
) -> None:
    reader = address()
    post_id = await publish(mail_client, site)
    parent = await write(mail_client, site, post_id, reader, notify=True)
    await confirmed(mail_client, inbox, reader)
    inbox.refused.add(reader)
    await write(mail_client, site, post_id, name="Bob", parent_id=parent["id"], body="bounced")

    async def bounced() -> bool:
        return bool(
            await pool.fetchval(
                "SELECT bounced_at IS NOT NULL AND confirmed_at IS NULL FROM mail_recipients "
                "WHERE address = $1",
                reader,
            )
        )

    await wait_until(bounced, "the address marked bounced")
    inbox.refused.clear()
    await write(mail_client, site, post_id, name="Bob", parent_id=parent["id"], body="ignored")
    # Asking again sends a new confirmation; once confirmed, replies are mailed again.
    again = await write(mail_client, site, post_id, reader, notify=True)
    mails = await inbox.wait(reader, 2)
    assert "Confirm" in str(mails[1]["Subject"])
    await follow(mail_client, links(mails[1])[0])
    await write(mail_client, site, post_id, name="Cy", parent_id=again["id"], body="welcome back")
    mails = await inbox.wait(reader, 3)
    assert "welcome back" in text_of(mails[2]) and "ignored" not in text_of(mails[2])


async def put_off(pool: asyncpg.Pool, address: str) -> bool:
    """Whether the mail pending for `address` waits for the next hour."""
    later = await pool.fetchval(
        "SELECT next_attempt_at > now() + interval '1 minute' FROM mail_outbox "
        "WHERE address = $1 AND state = 'pending'",
        address,
    )
    return bool(later)


async def test_an_address_gets_at_most_its_hourly_limit(
    settings: Settings, inbox: Inbox, site: SiteKeys, pool: asyncpg.Pool
) -> None:
    reader = address()
    port = inbox.port  # type: ignore[attr-defined]
    async with mail_app(settings, port, mail_per_address_per_hour=2) as client:
        post_id = await publish(client, site)
        parent = await write(client, site, post_id, reader, notify=True)
        await confirmed(client, inbox, reader)
        await write(client, site, post_id, name="Bob", parent_id=parent["id"], body="second")
        await inbox.wait(reader, 2)
        await write(client, site, post_id, name="Bob", parent_id=parent["id"], body="third")

        await wait_until(lambda: put_off(pool, reader), "the third mail put off")
    assert len(inbox.to(reader)) == 2


async def test_a_site_sends_at_most_its_hourly_limit(
    settings: Settings, inbox: Inbox, site: SiteKeys, pool: asyncpg.Pool
) -> None:
    first, second = address(), address()
    port = inbox.port  # type: ignore[attr-defined]
    async with mail_app(settings, port, mail_per_site_per_hour=2) as client:
        post_id = await publish(client, site)
        parent = await write(client, site, post_id, first, notify=True)
        await confirmed(client, inbox, first)
        await write(client, site, post_id, second, notify=True)
        await inbox.wait(second, 1)
        # The site's third mail this hour, to an address that had one only.
        await write(client, site, post_id, name="Bob", parent_id=parent["id"], body="a reply")

        await wait_until(lambda: put_off(pool, first), "the site's third mail put off")
    assert len(inbox.to(first)) == 1


async def test_with_mail_off_the_option_keeps_nothing(
    client: Client, site: SiteKeys, pool: asyncpg.Pool
) -> None:
    reader = address()
    post_id = await publish(client, site)
    assert (await thread(client, site, post_id))["mail"] is False
    await write(client, site, post_id, reader, notify=True)
    assert await tables_holding(pool, reader) == {}


async def test_erasure_removes_subscriptions_and_pending_mail(
    settings: Settings, site: SiteKeys, pool: asyncpg.Pool
) -> None:
    reader = address()
    # No server: the confirmation stays pending.
    async with mail_app(settings, free_port()) as client:
        post_id = await publish(client, site)
        await write(client, site, post_id, reader, notify=True)
        assert set(await tables_holding(pool, reader)) == {
            "public.mail_recipients",
            "public.mail_outbox",
        }
        response = await client.post(
            f"/v1/sites/{site.site}/erasures",
            json={"email": reader},
            headers=site.auth("moderator"),
        )
        await json_body(response, 202)
        assert await tables_holding(pool, reader) == {}
        assert (
            await pool.fetchval(
                "SELECT count(*) FROM mail_subscriptions WHERE site = $1", site.site
            )
            == 0
        )


async def test_two_instances_send_one_mail(
    settings: Settings, inbox: Inbox, site: SiteKeys
) -> None:
    reader, sentinel = address(), address("sentinel")
    port = inbox.port  # type: ignore[attr-defined]
    async with mail_app(settings, port) as first, mail_app(settings, port) as second:
        post_id = await publish(first, site)
        parent = await write(first, site, post_id, reader, notify=True)
        await confirmed(second, inbox, reader)
        await write(second, site, post_id, name="Bob", parent_id=parent["id"], body="once")
        await inbox.wait(reader, 2)
        # Whatever either instance would still send for that reply comes before this.
        await write(first, site, post_id, sentinel, notify=True)
        await inbox.wait(sentinel, 1)
    assert len(inbox.to(reader)) == 2


async def test_an_owners_templates_are_used_for_their_site(
    settings: Settings, inbox: Inbox, site: SiteKeys, tmp_path: Path
) -> None:
    reader = address()
    own = tmp_path / site.site / "en"
    own.mkdir(parents=True)
    (own / "confirm.txt").write_text("Please confirm, dear reader\n\nClick: $confirm_url\n")
    port = inbox.port  # type: ignore[attr-defined]
    async with mail_app(settings, port, mail_templates=tmp_path) as client:
        post_id = await publish(client, site)
        await write(client, site, post_id, reader, notify=True)
        (mail,) = await inbox.wait(reader, 1)
        assert mail["Subject"] == "Please confirm, dear reader"
        (link,) = links(mail)
        await follow(client, link)
