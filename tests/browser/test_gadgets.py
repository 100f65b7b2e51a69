"""The label gadget, the comment counts, the demo blog and the console page, in chromium."""

from urllib.parse import parse_qs, urlsplit

import asyncpg
from playwright.async_api import Browser, BrowserContext, Request, expect

from tests.browser.conftest import Blog, screenshot
from tests.builders import Client, SiteKeys, comment, make_demo_site, publish


async def test_labels_as_a_cloud_and_a_list_link_to_the_blogs_label_pages(
    context: BrowserContext, blog: Blog, blog_site: SiteKeys, client: Client
) -> None:
    for labels in (["Python", "Rust"], ["python", "Go"], ["Python"], ["Zig & C"]):
        await publish(client, blog_site, labels=labels)
    template = "https://blog.example/label/{label}"
    body = (
        f'<div id="cloud" data-threadlog-labels data-site="{blog_site.site}" data-style="cloud" '
        f'data-sort="count" data-label-url="{template}"></div>'
        f'<div id="list" data-threadlog-labels data-site="{blog_site.site}" '
        f'data-label-url="{template}"></div>'
    )
    page = await context.new_page()
    await page.goto(blog.page(body))
    cloud = page.locator("#cloud a")
    await expect(cloud).to_have_count(4)
    await expect(cloud.nth(0)).to_have_attribute("aria-label", "Python, 3 posts")
    await expect(cloud.nth(0).locator(".n")).to_have_text("3")
    listed = page.locator("#list a")
    await expect(listed).to_have_count(4)
    names = await listed.evaluate_all("(nodes) => nodes.map((n) => n.firstChild.textContent)")
    assert names == ["Go", "Python", "Rust", "Zig & C"]
    await expect(listed.nth(3)).to_have_attribute(
        "href", "https://blog.example/label/Zig%20%26%20C"
    )
    await expect(listed.nth(1)).to_have_attribute("aria-label", "Python, 3 posts")
    big = await cloud.nth(0).evaluate("(n) => parseFloat(getComputedStyle(n).fontSize)")
    small = await cloud.nth(3).evaluate("(n) => parseFloat(getComputedStyle(n).fontSize)")
    assert big > small
    await screenshot(page, "labels")


async def test_counts_for_the_whole_page_in_one_request(
    context: BrowserContext, blog: Blog, blog_site: SiteKeys, client: Client
) -> None:
    posts = [await publish(client, blog_site) for _ in range(3)]
    for number, post_id in enumerate(posts):
        for _ in range(number * 2 + 1):
            await comment(client, blog_site, post_id)
    spans = "".join(
        f'<p>{post_id}: <span data-threadlog-count="{post_id}" data-site="{blog_site.site}">'
        "</span></p>"
        for post_id in [*posts, posts[0], "never-published"]
    )
    requests: list[Request] = []
    page = await context.new_page()
    page.on("request", lambda request: requests.append(request))
    await page.goto(blog.page(spans))
    counts = page.locator("[data-threadlog-count]")
    await expect(counts.nth(4)).to_have_text("No comments")
    assert await counts.all_inner_texts() == [
        "1 comment",
        "3 comments",
        "5 comments",
        "1 comment",
        "No comments",
    ]
    asked = [request.url for request in requests if "/counts?" in request.url]
    assert len(asked) == 1
    assert parse_qs(urlsplit(asked[0]).query)["post"] == [*posts, "never-published"]

    await page.goto(blog.page(spans, lang="nl"))
    await expect(page.locator("[data-threadlog-count]").nth(2)).to_have_text("5 reacties")


async def test_the_demo_blog_has_everything_on_one_page(
    context: BrowserContext, client: Client, pool: asyncpg.Pool
) -> None:
    await make_demo_site(pool)
    await make_demo_site(pool)  # idempotent
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    service = str(client.make_url("")).rstrip("/")
    await page.goto(f"{service}/demo?post=event-sourcing")
    widget = page.locator("#threadlog")
    await expect(widget.locator(".count")).to_have_text("2 comments")
    await expect(page.locator("[data-threadlog-labels] a", has_text="Architecture")).to_be_visible()
    await expect(page.locator(".posts [data-threadlog-count]").nth(1)).to_have_text("2 comments")
    # The blog's rough button CSS stays outside; the widget posts same-origin, unconfigured.
    form = widget.get_by_role("form", name="Write a comment")
    await form.get_by_label("Name").fill("Newcomer")
    await form.get_by_label("Comment").fill("Trying **everything** on the demo.")
    await widget.get_by_role("button", name="Post comment").click()
    await expect(widget.locator(".count")).to_have_text("3 comments")
    await screenshot(page, "demo")
    await page.locator("[data-threadlog-labels] a", has_text="Nederlands").click()
    await expect(page.locator("main li")).to_have_count(1)
    await page.locator("main li a").click()
    await expect(page.locator("#threadlog .count")).to_have_text("1 reactie")
    assert not errors, errors


async def test_the_console_page_loads_and_asks_for_a_key(browser: Browser, client: Client) -> None:
    # Working the queues needs the moderation API (another branch); this checks the page.
    context = await browser.new_context()
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    service = str(client.make_url("")).rstrip("/")
    await page.goto(f"{service}/admin?site=demo")
    await expect(page.get_by_label("Site")).to_have_value("demo")
    await expect(page.get_by_label("Moderator key")).to_be_visible()
    await expect(page.locator("#console")).to_be_hidden()
    assert not errors, errors
    await screenshot(page, "console-sign-in")
    await context.close()
