"""The recent comments gadget in chromium, embedded on a blog of another origin: a site's and a
group's newest comments, in English and Dutch, hostile text kept as text, themable."""

import asyncpg
from playwright.async_api import BrowserContext, expect

from tests.browser.conftest import Blog, screenshot
from tests.builders import Client, SiteKeys, comment, make_group, make_site, publish


def gadget_page(blog: Blog, body: str, lang: str = "en") -> str:
    script = f'<script src="{blog.service}/embed/recent.js" async></script>'
    return blog.page(body + script, lang=lang)


async def test_a_sites_recent_comments_with_author_excerpt_title_and_link(
    context: BrowserContext, blog: Blog, blog_site: SiteKeys, client: Client
) -> None:
    post_id = await publish(client, blog_site, title="Sociale <netwerken>")
    await comment(client, blog_site, post_id, "An older comment", name="Ann")
    long = "A very long comment that goes on " * 10
    newest = await comment(client, blog_site, post_id, long, name="<img src=x onerror=alert(1)>")
    body = (
        f'<div id="recent" data-threadlog-recent data-site="{blog_site.site}" data-limit="1" '
        'style="--threadlog-accent: rgb(255, 0, 0)"></div>'
    )
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(gadget_page(blog, body))
    items = page.locator("#recent li")
    await expect(items).to_have_count(1)
    await expect(items.locator(".author")).to_have_text("<img src=x onerror=alert(1)>")
    link = items.locator("a")
    await expect(link).to_have_text("Sociale <netwerken>")
    await expect(link).to_have_attribute(
        "href", f"https://blog.example/{post_id}#comment-{newest['id']}"
    )
    excerpt = await items.locator(".excerpt").inner_text()
    assert excerpt.startswith("A very long comment") and excerpt.endswith("…")
    assert len(excerpt) <= 141
    assert await page.locator("#recent img").count() == 0  # the name stayed text
    color = await link.evaluate("(node) => getComputedStyle(node).color")
    assert color == "rgb(255, 0, 0)"  # the blog's theme reaches into the Shadow DOM
    await expect(page.locator("#recent section")).to_have_attribute("aria-label", "Recent comments")
    await screenshot(page, "recent-comments")
    assert not errors, errors


async def test_a_groups_recent_comments_in_dutch(
    context: BrowserContext, blog: Blog, client: Client, pool: asyncpg.Pool
) -> None:
    first, second = await make_site(pool, blog.origin), await make_site(pool, blog.origin)
    first_post = await publish(client, first, title="Eerste blog")
    second_post = await publish(client, second, title="Tweede blog")
    await comment(client, first, first_post, "oud", name="Anna")
    await comment(client, second, second_post, "nieuw", name="Bram")
    group = await make_group(pool, first, second)
    empty = await make_site(pool, blog.origin)
    body = (
        f'<div id="group" data-threadlog-recent data-group="{group}"></div>'
        f'<div id="empty" data-threadlog-recent data-site="{empty.site}"></div>'
    )
    page = await context.new_page()
    await page.goto(gadget_page(blog, body, lang="nl"))
    items = page.locator("#group li")
    await expect(items).to_have_count(2)
    assert await items.locator(".author").all_inner_texts() == ["Bram", "Anna"]
    assert await items.locator("a").all_inner_texts() == ["Tweede blog", "Eerste blog"]
    await expect(items.nth(0)).to_contain_text("Bram bij Tweede blog")
    await expect(page.locator("#group section")).to_have_attribute("aria-label", "Recente reacties")
    await expect(page.locator("#empty li")).to_have_text("Nog geen reacties")
