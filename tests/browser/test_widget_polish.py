"""What a reader and a moderator meet first, in chromium: editing one's comment from the blog's
origin, counts that follow the widget, a missing post, being rate-limited, the demo on a phone,
and a console that offers only what applies."""

import asyncpg
from playwright.async_api import Browser, BrowserContext, expect

from tests.browser.conftest import Blog, screenshot
from tests.browser.test_console import held_comment
from tests.browser.test_widget import embed, open_page, write
from tests.builders import (
    Client,
    SiteKeys,
    comment,
    make_demo_site,
    make_site,
    new_id,
    publish,
    set_settings,
)


async def test_an_author_edits_their_comment_from_the_blogs_origin(
    context: BrowserContext, blog: Blog, blog_site: SiteKeys, client: Client
) -> None:
    post_id = await publish(client, blog_site)
    page = await open_page(context, blog.page(embed(blog_site, post_id)))
    widget = page.locator("#threadlog")
    await write(page, "Frist!")
    mine = widget.locator("li.comment").first
    await mine.get_by_role("button", name="Edit").click()
    editor = mine.get_by_role("form", name="Edit")
    await expect(editor.get_by_label("Comment")).to_have_value("Frist!")
    await editor.get_by_label("Comment").fill("First, *really*.")
    await editor.get_by_role("button", name="Save").click()
    await expect(mine.locator(".body em")).to_have_text("really")
    await expect(mine.locator(".edited")).to_have_text("edited")
    await screenshot(page, "widget-edited")

    # The service has it (the PATCH crossed origins), and so has a fresh page.
    shown = await (await client.get(f"/v1/sites/{blog_site.site}/posts/{post_id}/comments")).json()
    assert "<em>really</em>" in shown["comments"][0]["body_html"]
    assert shown["comments"][0]["edited_at"] is not None
    await page.reload()
    await expect(page.locator("#threadlog .edited")).to_have_text("edited")
    # Text written again is what the editor offers next time.
    await page.locator("#threadlog").get_by_role("button", name="Edit").click()
    await expect(page.locator("#threadlog textarea").first).to_have_value("First, *really*.")


async def test_no_edit_button_where_the_site_allows_no_edits(
    context: BrowserContext, blog: Blog, blog_site: SiteKeys, client: Client
) -> None:
    await set_settings(client, blog_site, edit_window_minutes=0)
    post_id = await publish(client, blog_site)
    page = await open_page(context, blog.page(embed(blog_site, post_id)))
    await write(page, "Set in stone")
    mine = page.locator("#threadlog li.comment").first
    await expect(mine.get_by_role("button", name="Delete")).to_be_visible()
    await expect(mine.get_by_role("button", name="Edit")).to_have_count(0)


async def test_counts_on_the_page_follow_the_widget_live(
    context: BrowserContext, blog: Blog, blog_site: SiteKeys, client: Client
) -> None:
    post_id = await publish(client, blog_site)
    await comment(client, blog_site, post_id, "Already here")
    body = f'<p><span data-threadlog-count="{post_id}"></span></p>' + embed(blog_site, post_id)
    page = await open_page(context, blog.page(body))
    counter = page.locator("[data-threadlog-count]")
    await expect(counter).to_have_text("1 comment")
    await write(page, "Mine")
    await expect(counter).to_have_text("2 comments")
    # Another reader's comment arrives live in the widget, and in the count.
    await comment(client, blog_site, post_id, "From elsewhere")
    await expect(page.locator("#threadlog .count")).to_have_text("3 comments")
    await expect(counter).to_have_text("3 comments")


async def test_a_missing_post_shows_one_clear_message(
    context: BrowserContext, blog: Blog, blog_site: SiteKeys, client: Client
) -> None:
    page = await context.new_page()
    await page.goto(blog.page(embed(blog_site, new_id("never-published"))))
    widget = page.locator("#threadlog")
    await expect(widget.get_by_role("status")).to_have_text(
        "There are no comments here: the comment service does not know this page's post."
    )
    await expect(widget.locator("form")).to_have_count(0)
    await expect(widget).not_to_contain_text("Loading comments")
    await expect(widget).not_to_contain_text("Something went wrong")

    gone = await publish(client, blog_site)
    await client.delete(
        f"/v1/sites/{blog_site.site}/posts/{gone}", headers=blog_site.auth("moderator")
    )
    await page.goto(blog.page(embed(blog_site, gone), lang="nl"))
    await expect(page.locator("#threadlog").get_by_role("status")).to_have_text(
        "Dit bericht is verwijderd, en de reacties ook."
    )


async def test_being_rate_limited_reads_as_a_wait(
    context: BrowserContext, blog: Blog, blog_site: SiteKeys, client: Client
) -> None:
    await set_settings(client, blog_site, rate_limit_per_minute=1)
    post_id = await publish(client, blog_site)
    page = await open_page(context, blog.page(embed(blog_site, post_id)))
    await write(page, "One")
    await expect(page.locator("#threadlog li.comment")).to_have_count(1)
    await write(page, "Two, too soon")
    status = page.locator("#threadlog .status")
    await expect(status).to_contain_text("You are commenting quickly: try again in ")
    text = await status.inner_text()
    seconds = int(text.rsplit("in ", 1)[1].split(" ")[0])
    assert 1 <= seconds <= 60, text
    await expect(status).not_to_contain_text("Something went wrong")


async def test_the_demo_fits_a_phone_and_has_an_icon(
    browser: Browser, client: Client, pool: asyncpg.Pool
) -> None:
    await make_demo_site(pool)
    phone = await browser.new_context(
        locale="en-GB", viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True
    )
    page = await phone.new_page()
    service = str(client.make_url("")).rstrip("/")
    await page.goto(f"{service}/demo?post=event-sourcing")
    await expect(page.locator("#threadlog .count")).to_contain_text("comment")
    await expect(page.locator("[data-threadlog-labels] a").first).to_be_visible()
    await screenshot(page, "demo-phone")
    widths = await page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1] == 360, widths
    icon = await page.request.get(f"{service}/favicon.ico")
    assert icon.status == 200 and icon.headers["content-type"] == "image/x-icon"
    assert (await icon.body())[:4] == b"\x00\x00\x01\x00"
    await phone.close()


async def test_the_console_offers_what_applies_and_clears_its_messages(
    browser: Browser, client: Client, pool: asyncpg.Pool
) -> None:
    site = await make_site(pool)
    await set_settings(client, site, premoderation="all")
    post_id = await publish(client, site)
    await held_comment(client, site, post_id, "Held Harry", "Wait for me")
    context = await browser.new_context(locale="en-GB")
    page = await context.new_page()
    await page.goto(f"{str(client.make_url('')).rstrip('/')}/admin")
    await page.get_by_label("Site").fill(site.site)
    await page.get_by_label("Moderator key").fill(site.moderator)
    await page.get_by_role("button", name="Sign in").click()

    card = page.get_by_role("article", name="Comment by Held Harry")
    state_actions = card.locator("[data-for=state] button")
    await expect(state_actions).to_have_text(["Approve", "Reject", "Delete"])
    await card.get_by_role("button", name="Reject").click()
    await expect(page.locator("#status")).to_have_text("Rejected.")
    # Rejected: only Restore applies, and it works.
    await expect(state_actions).to_have_text(["Restore"])
    await card.get_by_role("button", name="Restore").click()
    await expect(page.locator("#status")).to_have_text("Restored.")
    await expect(card).to_have_count(0)

    await page.get_by_role("tab", name="Audit log").click()
    await expect(page.locator("#status")).to_have_text("")
    await context.close()


async def test_a_link_to_a_comment_shows_it(
    context: BrowserContext, blog: Blog, blog_site: SiteKeys, client: Client
) -> None:
    """Feeds, the recent comments gadget and mail link to `<post url>#comment-<id>`."""
    post_id = await publish(client, blog_site)
    for n in range(30):
        await comment(client, blog_site, post_id, f"Filler {n}")
    wanted = await comment(client, blog_site, post_id, "The one linked to", name="Linked")
    page = await context.new_page()
    await page.goto(blog.page(embed(blog_site, post_id)) + f"#comment-{wanted['id']}")
    article = page.locator(f'#threadlog li[data-id="{wanted["id"]}"] > article')
    await expect(article).to_be_focused()
    await expect(article).to_be_in_viewport()
