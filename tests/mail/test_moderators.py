"""Moderators: a held comment mails its text with approve and reject links that work once,
for a week, as an audited action of the link; a digest gathers a day's comments."""

import asyncpg

from tests.builders import Client, SiteKeys, json_body, publish, set_settings
from tests.mail.inbox import Inbox, address, follow, force_due, links, text_of, write
from tests.waiting import wait_until


async def test_the_approve_link_publishes_the_held_comment_once(
    mail_client: Client, inbox: Inbox, site: SiteKeys
) -> None:
    moderator = address("moderator")
    changed = await set_settings(
        mail_client, site, premoderation="all", notify_emails=[moderator], notify_on="held"
    )
    assert changed["notify_emails"] == [moderator] and changed["notify_digest"] is False
    post_id = await publish(mail_client, site)
    held = await write(mail_client, site, post_id, body="please *approve* me", name="Dora")
    assert held["status"] == "held"

    (mail,) = await inbox.wait(moderator, 1)
    assert "Dora" in text_of(mail) and "please approve me" in text_of(mail)
    approve, reject = links(mail)
    # A GET (a mail scanner's prefetch) changes nothing.
    page = await mail_client.get(approve)
    assert page.status == 200 and "Approve" in await page.text()
    comment_path = f"/v1/sites/{site.site}/comments/{held['id']}"
    shown = await mail_client.get(comment_path, headers=site.auth("moderator"))
    assert (await json_body(shown, 200))["status"] == "held"

    await follow(mail_client, approve)
    shown = await mail_client.get(comment_path, headers=site.auth("moderator"))
    assert (await json_body(shown, 200))["status"] == "published"
    audit = await mail_client.get(f"/v1/sites/{site.site}/audit", headers=site.auth("moderator"))
    entries = (await json_body(audit, 200))["events"]
    approved = [
        e for e in entries if e["comment_id"] == held["id"] and e["type"] == "comment.approved"
    ]
    assert len(approved) == 1 and approved[0]["actor"].startswith("mail-link:")

    again = await mail_client.post(approve)
    assert again.status == 410
    assert (await again.json())["type"].endswith("/problems/mail-link-spent")
    forged = await mail_client.post(reject[:-3] + "abc")
    assert forged.status == 404
    assert (await forged.json())["type"].endswith("/problems/mail-link-invalid")


async def test_a_digest_sends_one_mail_for_the_days_comments(
    mail_client: Client, inbox: Inbox, site: SiteKeys, pool: asyncpg.Pool
) -> None:
    moderator = address("moderator")
    await set_settings(
        mail_client,
        site,
        notify_emails=[moderator],
        notify_on="all",
        notify_digest=True,
        mail_language="nl",
    )
    post_id = await publish(mail_client, site)
    await write(mail_client, site, post_id, body="first of the day")
    await set_settings(mail_client, site, premoderation="all")
    await write(mail_client, site, post_id, body="second, held")

    async def gathered() -> bool:
        items = await pool.fetchval(
            "SELECT items FROM mail_outbox WHERE address = $1 AND state = 'pending'", moderator
        )
        return items is not None and len(items) == 2

    await wait_until(gathered, "both comments in the digest")
    assert inbox.to(moderator) == []
    await force_due(pool, site)
    (digest,) = await inbox.wait(moderator, 1)
    assert "modereren" in str(digest["Subject"])
    text = text_of(digest)
    assert "first of the day" in text and "second, held" in text
    assert len(links(digest)) == 2  # approve and reject for the held one only


async def test_reported_mails_reports_but_not_every_new_comment(
    mail_client: Client, inbox: Inbox, site: SiteKeys
) -> None:
    moderator = address("moderator")
    await set_settings(mail_client, site, notify_emails=[moderator], notify_on="reported")
    post_id = await publish(mail_client, site)
    quiet = await write(mail_client, site, post_id, body="nothing to see")
    reported = await write(mail_client, site, post_id, body="reported one")
    response = await mail_client.post(
        f"/v1/sites/{site.site}/comments/{reported['id']}/reports", json={"reason": "spam"}
    )
    assert response.status in (200, 201, 202), await response.text()
    (mail,) = await inbox.wait(moderator, 1)
    assert "reported one" in text_of(mail) and quiet["id"] not in text_of(mail)
    assert "reports: 1" in text_of(mail) and links(mail) == []
