"""The moderator console's page logic, against the moderation API as its contract describes it.

The moderation endpoints are built on another branch; until it is merged this test answers
them from the browser (`page.route`) and checks what the console sends. Once they exist, a
test against the real endpoints replaces the stubs: approve a held comment, ban an author.
"""

import json
from typing import Any

from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, Route, expect

from tests.browser.conftest import screenshot

Client = TestClient  # type: ignore[type-arg]
KEY = "tl_0123456789ab_" + "k" * 43
HELD = [
    {
        "comment_id": "11111111-1111-4111-8111-111111111111",
        "post_id": "hello-world",
        "author_name": "Spammy <b>McSpam</b>",
        "body_html": "<p>Buy <em>now</em></p>",
        "reason": "links",
        "created_at": "2026-11-26T10:00:00Z",
    },
    {
        "comment_id": "22222222-2222-4222-8222-222222222222",
        "post_id": "hello-world",
        "author_name": "Troll",
        "body_html": "<p>rude</p>",
        "reason": "words",
        "created_at": "2026-11-26T11:00:00Z",
    },
]


async def test_the_console_approves_a_held_comment_and_bans_an_author(
    browser: Browser, client: Client
) -> None:
    sent: list[tuple[str, str, Any, str | None]] = []

    async def moderation(route: Route) -> None:
        request = route.request
        path = request.url.split("/v1/sites/demo", 1)[1]
        body = json.loads(request.post_data) if request.post_data else None
        sent.append((request.method, path, body, request.headers.get("authorization")))
        if path.startswith("/moderation/queue"):
            await route.fulfill(json={"items": HELD if "state=held" in path else [], "next": None})
        elif path.startswith("/audit"):
            entry = {
                "at": "2026-11-26T12:00:00Z",
                "actor": {"key_id": "0123456789ab"},
                "action": "comment.approved",
                "comment_id": HELD[0]["comment_id"],
            }
            await route.fulfill(json={"entries": [entry], "next": None})
        else:
            await route.fulfill(status=204)

    context = await browser.new_context()
    page = await context.new_page()
    await page.route("**/v1/sites/demo/**", moderation)
    service = str(client.make_url("")).rstrip("/")
    await page.goto(f"{service}/admin")
    await page.get_by_label("Site").fill("demo")
    await page.get_by_label("Moderator key").fill(KEY)
    await page.get_by_role("button", name="Sign in").click()

    spam = page.get_by_role("article", name="Comment by Spammy <b>McSpam</b>")
    await expect(spam.locator(".who")).to_have_text("Spammy <b>McSpam</b>")
    await expect(spam.locator(".body em")).to_have_text("now")
    await screenshot(page, "console-held")
    await spam.get_by_role("button", name="Approve").click()
    await expect(spam).to_have_count(0)
    await expect(page.locator("#status")).to_have_text("Approved.")

    troll = page.get_by_role("article", name="Comment by Troll")
    await troll.get_by_label("Ban matching").select_option("ip")
    await troll.get_by_label("Ban duration").select_option("7")
    await troll.get_by_label("Also remove the author's comments").check()
    await troll.get_by_role("button", name="Ban author").click()
    await expect(page.locator("#status")).to_have_text("Banned the author (ip).")

    await page.get_by_role("tab", name="Audit log").click()
    await expect(page.locator("#panel td").nth(2)).to_have_text("comment.approved")

    assert all(auth == f"Bearer {KEY}" for *_, auth in sent)
    calls = [(method, path.split("?")[0]) for method, path, *_ in sent]
    assert ("POST", f"/comments/{HELD[0]['comment_id']}/approve") in calls
    [ban] = [body for method, path, body, _ in sent if path == "/bans"]
    assert ban["comment_id"] == HELD[1]["comment_id"] and ban["match"] == "ip"
    assert ban["remove_comments"] is True and ban["expires_at"].endswith("Z")
    assert await page.evaluate("localStorage.length") == 0
    assert "tl_" in await page.evaluate("sessionStorage.getItem('threadlog:console')")
    await context.close()
