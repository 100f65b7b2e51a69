"""The moderator console in a real browser, against the real moderation API: sign in with a
moderator key, approve a held comment, ban an author, read the audit log."""

from typing import Any

import asyncpg
from playwright.async_api import Browser, expect

from tests.browser.conftest import screenshot
from tests.builders import Client, SiteKeys, make_site, publish, set_settings


async def held_comment(client: Client, site: SiteKeys, post_id: str, name: str, body: str) -> str:
    response = await client.post(
        f"/v1/sites/{site.site}/posts/{post_id}/comments",
        json={"author": {"name": name}, "body": body},
    )
    created: dict[str, Any] = await response.json()
    assert response.status == 201 and created["status"] == "held", created
    return str(created["id"])


async def test_the_console_approves_a_held_comment_and_bans_an_author(
    browser: Browser, client: Client, pool: asyncpg.Pool
) -> None:
    site = await make_site(pool)
    moderator = site.auth("moderator")
    await set_settings(client, site, premoderation="all")
    post_id = await publish(client, site)
    spam = await held_comment(client, site, post_id, "Spammy <b>McSpam</b>", "Buy *now*")
    troll = await held_comment(client, site, post_id, "Troll", "rude")

    context = await browser.new_context(locale="en-GB")
    page = await context.new_page()
    service = str(client.make_url("")).rstrip("/")
    await page.goto(f"{service}/admin")
    await page.get_by_label("Site").fill(site.site)
    await page.get_by_label("Moderator key").fill(site.moderator)
    await page.get_by_role("button", name="Sign in").click()

    spam_card = page.get_by_role("article", name="Comment by Spammy <b>McSpam</b>")
    await expect(spam_card.locator(".who")).to_have_text("Spammy <b>McSpam</b>")
    await expect(spam_card.locator(".body em")).to_have_text("now")
    await screenshot(page, "console-held")
    await spam_card.get_by_role("button", name="Approve").click()
    await expect(spam_card).to_have_count(0)
    await expect(page.locator("#status")).to_have_text("Approved.")

    troll_card = page.get_by_role("article", name="Comment by Troll")
    # Both came from this test's address: only name and address tell the authors apart.
    await troll_card.get_by_label("Ban matching").select_option("name_ip")
    await troll_card.get_by_label("Ban duration").select_option("7")
    await troll_card.get_by_label("Also remove the author's comments").check()
    await troll_card.get_by_role("button", name="Ban author").click()
    await expect(page.locator("#status")).to_have_text("Banned the author (name_ip).")

    await page.get_by_role("tab", name="Audit log").click()
    await expect(page.locator("#panel tbody tr")).not_to_have_count(0)
    audit_types = await page.locator("#panel tbody td:nth-child(3)").all_inner_texts()
    await screenshot(page, "console-audit")
    assert "comment.approved" in audit_types and "author.banned" in audit_types
    assert "tl_" in await page.evaluate("sessionStorage.getItem('threadlog:console')")
    assert await page.evaluate("localStorage.length") == 0
    await context.close()

    thread = await (await client.get(f"/v1/sites/{site.site}/posts/{post_id}/comments")).json()
    assert [c["id"] for c in thread["comments"]] == [spam]
    bans = (await (await client.get(f"/v1/sites/{site.site}/bans", headers=moderator)).json())[
        "bans"
    ]
    assert [(ban["comment_id"], ban["match"]) for ban in bans] == [(troll, "name_ip")]
    assert bans[0]["expires_at"] is not None
    removed = await client.get(f"/v1/sites/{site.site}/comments/{troll}", headers=moderator)
    assert (await removed.json())["status"] != "published"
