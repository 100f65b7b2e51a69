"""The comment widget, embedded on a blog of another origin, in Debian's chromium."""

import asyncio

import asyncpg
from playwright.async_api import Browser, BrowserContext, Page, Route, expect

from tests.browser.conftest import Blog, screenshot
from tests.builders import (
    Client,
    SiteKeys,
    comment,
    make_site,
    publish,
    seed_replies,
    set_settings,
    thread,
)


def embed(site: SiteKeys, post_id: str, attributes: str = "") -> str:
    host = f'id="threadlog" data-site="{site.site}" data-post="{post_id}"{attributes}'
    return f"<h1>My post</h1><div {host}></div>"


async def open_page(context: BrowserContext, url: str) -> Page:
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(url)
    await expect(page.locator("#threadlog h2")).to_contain_text("·")
    await expect(page.locator("#threadlog .count")).not_to_have_text("Loading comments…")
    assert not errors, errors
    return page


async def write(page: Page, body: str, name: str = "Ann", within: str = "#threadlog form") -> None:
    form = page.locator(within).last
    await form.get_by_label("Name").fill(name)
    await form.get_by_label("Comment").fill(body)
    await form.locator("button[type=submit]").click()


async def test_post_reply_delete_and_see_the_tombstone(
    context: BrowserContext, blog: Blog, blog_site: SiteKeys, client: Client
) -> None:
    post_id = await publish(client, blog_site)
    page = await open_page(context, blog.page(embed(blog_site, post_id)))
    widget = page.locator("#threadlog")
    await expect(widget.locator(".count")).to_have_text("No comments yet")

    await write(page, "The *first* comment")
    first = widget.locator("li.comment").first
    await expect(first.locator(".body")).to_have_text("The first comment")
    await expect(first.locator(".body em")).to_have_text("first")
    await expect(widget.locator(".count")).to_have_text("1 comment")

    await first.get_by_role("button", name="Reply to Ann").click()
    reply_form = first.locator("form")
    await expect(reply_form.get_by_label("Comment")).to_be_focused()
    await reply_form.get_by_label("Name").fill("Bob")
    await reply_form.get_by_label("Comment").fill("A reply")
    await reply_form.get_by_role("button", name="Post reply").click()
    reply = first.locator(".replies li.comment")
    await expect(reply.locator(".author")).to_have_text("Bob")
    await expect(widget.locator(".count")).to_have_text("2 comments")
    await screenshot(page, "widget-thread")

    delete = first.locator("article").first.get_by_role("button", name="Delete")
    await delete.click()
    await first.locator("article").first.get_by_role("button", name="Really delete?").click()
    await expect(first.locator(".tomb")).to_have_text("Removed by its author")
    await expect(reply.locator(".author")).to_have_text("Bob")
    await expect(widget.locator(".count")).to_have_text("1 comment")
    await screenshot(page, "widget-tombstone")

    # The server agrees, and a fresh page shows the same tombstone.
    await page.reload()
    await expect(page.locator("#threadlog .tomb")).to_have_text("Removed by its author")
    await expect(page.locator("#threadlog .replies .author")).to_have_text("Bob")
    # Delete is offered on the reader's own comments only: Bob's reply is hers too (same
    # browser), a comment from elsewhere is not.
    await comment(client, blog_site, post_id, "from someone else", name="Eve")
    await page.reload()
    eve = page.locator("#threadlog li.comment", has_text="from someone else")
    await expect(eve.get_by_role("button", name="Reply to Eve")).to_be_visible()
    await expect(eve.get_by_role("button", name="Delete")).to_have_count(0)


async def test_a_comment_whose_answer_was_lost_is_sent_again_and_stored_once(
    context: BrowserContext, blog: Blog, blog_site: SiteKeys, client: Client
) -> None:
    """The first POST reaches the service and its answer is lost on the way back; the second
    finds the service answering 503 (its database away); the third is answered. The widget
    sends the same Idempotency-Key each time, so the comment is stored and shown once."""
    post_id = await publish(client, blog_site)
    page = await open_page(context, blog.page(embed(blog_site, post_id)))
    keys: list[str] = []

    async def flaky(route: Route) -> None:
        if route.request.method != "POST":
            await route.continue_()
            return
        keys.append(route.request.headers["idempotency-key"])
        if len(keys) == 1:
            await route.fetch()  # stored by the real service...
            await route.abort("connectionreset")  # ...and the answer never arrives
        elif len(keys) == 2:
            problem = '{"type": "/problems/database-unavailable", "status": 503}'
            headers = {"Retry-After": "0", "Access-Control-Allow-Origin": blog.origin}
            await route.fulfill(status=503, body=problem, headers=headers)
        else:
            await route.continue_()

    await page.route(f"**/v1/sites/{blog_site.site}/posts/{post_id}/comments", flaky)
    await write(page, "Sent until answered")
    widget = page.locator("#threadlog")
    await expect(widget.locator("[role=status]")).to_have_text("Your comment was posted.")
    await expect(widget.locator("li.comment")).to_have_count(1)
    assert len(keys) == 3 and len(set(keys)) == 1
    stored = await thread(client, blog_site, post_id)
    assert [shown["body_html"] for shown in stored["comments"]] == ["<p>Sent until answered</p>"]
    await expect(widget.locator(".count")).to_have_text("1 comment")


async def test_another_readers_comment_appears_live(
    browser_contexts: tuple[BrowserContext, BrowserContext],
    blog: Blog,
    blog_site: SiteKeys,
    client: Client,
) -> None:
    post_id = await publish(client, blog_site)
    first = await comment(client, blog_site, post_id, "already here", name="Cleo")
    url = blog.page(embed(blog_site, post_id))
    alice = await open_page(browser_contexts[0], url)
    bob = await open_page(browser_contexts[1], url)
    await write(bob, "Hello from Bob", name="Bob")
    arrived = alice.locator("#threadlog li.comment", has_text="Hello from Bob")
    await expect(arrived.locator(".author")).to_have_text("Bob")
    await expect(arrived.get_by_role("button", name="Delete")).to_have_count(0)
    await expect(alice.locator("#threadlog .count")).to_have_text("2 comments")
    await expect(alice.locator("#threadlog [role=status]")).to_have_text("New comment by Bob")

    # A reply and a moderator's delete from elsewhere arrive as well.
    reply = await comment(client, blog_site, post_id, "nested live", first["id"], name="Dan")
    await expect(alice.locator("#threadlog .replies li.comment .author")).to_have_text("Dan")
    moderator = blog_site.auth("moderator")
    path = f"/v1/sites/{blog_site.site}/comments/{first['id']}"
    assert (await client.delete(path, headers=moderator)).status == 204
    await expect(alice.locator("#threadlog .tomb")).to_have_text("Removed by a moderator")
    path = f"/v1/sites/{blog_site.site}/comments/{reply['id']}"
    assert (await client.delete(path, headers=moderator)).status == 204
    await expect(alice.locator("#threadlog .tomb")).to_have_count(0)
    await expect(alice.locator("#threadlog li.comment")).to_have_count(1)
    await expect(alice.locator("#threadlog .count")).to_have_text("1 comment")
    await screenshot(alice, "widget-live")


async def test_edits_rejections_and_restores_show_live(
    context: BrowserContext, blog: Blog, blog_site: SiteKeys, client: Client
) -> None:
    post_id = await publish(client, blog_site)
    written = await comment(client, blog_site, post_id, "first words", name="Eve")
    page = await open_page(context, blog.page(embed(blog_site, post_id)))
    shown = page.locator("#threadlog li.comment")
    await expect(shown.locator(".body")).to_have_text("first words")
    await expect(shown.locator(".edited")).to_have_count(0)

    path = f"/v1/sites/{blog_site.site}/comments/{written['id']}"
    token = {"X-Delete-Token": written["delete_token"]}
    edited = await client.patch(path, json={"body": "better *words*"}, headers=token)
    assert edited.status == 200, await edited.text()
    await expect(shown.locator(".body em")).to_have_text("words")
    await expect(shown.locator(".edited")).to_have_text("edited")

    moderator = blog_site.auth("moderator")
    rejected = await client.post(f"{path}/reject", json={"reason": "spam"}, headers=moderator)
    assert rejected.status == 200, await rejected.text()
    await expect(shown).to_have_count(0)
    await expect(page.locator("#threadlog .count")).to_have_text("No comments yet")
    assert (await client.post(f"{path}/restore", headers=moderator)).status == 200
    await expect(shown.locator(".body")).to_have_text("better words")
    await expect(page.locator("#threadlog .count")).to_have_text("1 comment")


async def test_load_more_pages_through_a_500_comment_thread(
    context: BrowserContext, blog: Blog, blog_site: SiteKeys, client: Client
) -> None:
    post_id = await publish(client, blog_site)
    for start in range(0, 500, 50):
        await asyncio.gather(
            *(comment(client, blog_site, post_id, f"number {n}") for n in range(start, start + 50))
        )
    page = await open_page(context, blog.page(embed(blog_site, post_id)))
    widget = page.locator("#threadlog")
    await expect(widget.locator(".count")).to_have_text("500 comments")
    await expect(widget.locator("li.comment")).to_have_count(50)
    more = widget.get_by_role("button", name="Load more comments")
    for shown in range(100, 501, 50):
        await more.click()
        await expect(widget.locator("li.comment")).to_have_count(shown)
    await expect(more).to_be_hidden()
    ids = await widget.locator("li.comment").evaluate_all(
        "(nodes) => nodes.map((n) => n.dataset.id)"
    )
    assert len(set(ids)) == 500


async def test_load_more_continues_inside_a_long_reply_list(
    context: BrowserContext, blog: Blog, blog_site: SiteKeys, client: Client, pool: asyncpg.Pool
) -> None:
    """A page counts replies, so the second page opens among the first comment's replies:
    they go under it, not to the top level."""
    post_id = await publish(client, blog_site)
    root = await comment(client, blog_site, post_id, "the root")
    await seed_replies(pool, blog_site, post_id, root["id"], 70)
    await comment(client, blog_site, post_id, "the second")
    page = await open_page(context, blog.page(embed(blog_site, post_id)))
    widget = page.locator("#threadlog")
    await expect(widget.locator(".count")).to_have_text("72 comments")
    first = widget.locator(f'li.comment[data-id="{root["id"]}"]')
    await expect(first.locator(".replies li.comment")).to_have_count(49)
    await widget.get_by_role("button", name="Load more comments").click()
    await expect(first.locator(".replies li.comment")).to_have_count(70)
    await expect(first.locator(".replies li.comment .body").last).to_have_text("r69")
    top = widget.locator("ol.comments > li.comment")
    await expect(top).to_have_count(2)
    await expect(top.last.locator(".body")).to_have_text("the second")
    await expect(widget.get_by_role("button", name="Load more comments")).to_be_hidden()


async def test_a_live_reply_into_a_thread_still_loading_comes_in_its_place(
    context: BrowserContext, blog: Blog, blog_site: SiteKeys, client: Client, pool: asyncpg.Pool
) -> None:
    """A reply that arrives live under the last comment shown, while more of its replies are
    still to load, waits for them: it comes last, not before the older ones."""
    post_id = await publish(client, blog_site)
    root = await comment(client, blog_site, post_id, "the root")
    await seed_replies(pool, blog_site, post_id, root["id"], 60)
    page = await open_page(context, blog.page(embed(blog_site, post_id)))
    widget = page.locator("#threadlog")
    replies = widget.locator(f'li.comment[data-id="{root["id"]}"] .replies li.comment')
    await expect(replies).to_have_count(49)
    await comment(client, blog_site, post_id, "the newest reply", root["id"], name="Dan")
    await expect(widget.locator(".count")).to_have_text("62 comments")
    await expect(replies).to_have_count(49)
    await widget.get_by_role("button", name="Load more comments").click()
    await expect(replies).to_have_count(61)
    await expect(replies.locator(".body").last).to_have_text("the newest reply")


async def test_markup_in_comments_and_names_stays_inert(
    context: BrowserContext, blog: Blog, blog_site: SiteKeys, client: Client
) -> None:
    post_id = await publish(client, blog_site)
    attack = '<img src=x onerror="window.pwned = 1"> and [link](javascript:window.pwned=2)'
    await comment(client, blog_site, post_id, attack, name='<img src=x onerror="window.pwned=3">')
    response = await client.post(
        f"/v1/sites/{blog_site.site}/posts/{post_id}/comments",
        json={
            "author": {"name": "Mallory", "website": "https://ok.example/mallory"},
            "body": "<script>window.pwned = 4</script>",
        },
    )
    assert response.status == 201
    page = await open_page(context, blog.page(embed(blog_site, post_id)))
    widget = page.locator("#threadlog")
    await expect(widget.locator("li.comment")).to_have_count(2)
    await page.wait_for_timeout(300)
    assert await page.evaluate("window.pwned") is None
    await expect(widget.locator("img, script, [onerror], [onmouseover]")).to_have_count(0)
    first = widget.locator("li.comment").first
    await expect(first.locator(".author")).to_have_text('<img src=x onerror="window.pwned=3">')
    assert "<img" in await first.locator(".body").inner_text()
    mallory = widget.locator("a.author", has_text="Mallory")
    await expect(mallory).to_have_attribute("href", "https://ok.example/mallory")
    await expect(mallory).to_have_attribute("rel", "nofollow ugc noopener")
    await expect(first.locator(".body a[href^=javascript]")).to_have_count(0)
    await screenshot(page, "widget-inert-markup")


async def test_a_held_comment_awaits_moderation_for_its_author(
    browser: Browser, context: BrowserContext, blog: Blog, blog_site: SiteKeys, client: Client
) -> None:
    moderator = blog_site.auth("moderator")
    await set_settings(client, blog_site, premoderation="all")
    post_id = await publish(client, blog_site)
    url = blog.page(embed(blog_site, post_id))

    page = await open_page(context, url)
    await write(page, "held for review")
    held = page.locator("#threadlog li.comment")
    await expect(held.locator(".held")).to_have_text("Awaiting moderation")
    await expect(page.locator("#threadlog [role=status]")).to_have_text(
        "Your comment awaits moderation."
    )
    await expect(page.locator("#threadlog .count")).to_have_text("No comments yet")
    held_id = await held.get_attribute("data-id")
    await page.reload()
    await expect(held.locator(".held")).to_have_text("Awaiting moderation")
    other = await browser.new_context()
    stranger = await open_page(other, url)
    await expect(stranger.locator("#threadlog li.comment")).to_have_count(0)

    # Approved, it appears live for everyone, and is no longer awaiting for its author.
    approve = f"/v1/sites/{blog_site.site}/comments/{held_id}/approve"
    assert (await client.post(approve, headers=moderator)).ok
    await expect(stranger.locator("#threadlog li.comment .body")).to_have_text("held for review")
    await expect(stranger.locator("#threadlog .count")).to_have_text("1 comment")
    await expect(held.locator(".held")).to_have_count(0)
    await expect(page.locator("#threadlog .count")).to_have_text("1 comment")
    await other.close()


async def test_dutch_overrides_dark_mode_and_keyboard(
    context: BrowserContext, blog: Blog, blog_site: SiteKeys, client: Client
) -> None:
    post_id = await publish(client, blog_site)
    first = await comment(client, blog_site, post_id, "eerste", name="Anne")
    await comment(client, blog_site, post_id, "tweede", first["id"], name="Bas")
    attributes = ' data-text-submit="Verstuur!"'
    page = await open_page(context, blog.page(embed(blog_site, post_id, attributes), lang="nl-NL"))
    widget = page.locator("#threadlog")
    await expect(widget.locator(".count")).to_have_text("2 reacties")
    await expect(widget.get_by_role("button", name="Verstuur!")).to_be_visible()
    await expect(widget.get_by_role("button", name="Antwoord aan Anne")).to_be_visible()
    await expect(widget.get_by_label("Naam").first).to_be_visible()

    light = await widget.locator("article").first.evaluate(
        "(n) => getComputedStyle(n).backgroundColor"
    )
    await page.emulate_media(color_scheme="dark")
    dark = await widget.locator("article").first.evaluate(
        "(n) => getComputedStyle(n).backgroundColor"
    )
    assert light != dark
    await screenshot(page, "widget-dutch-dark")

    # Keyboard only: tab to the first Reply button, open the form with Enter, land in it.
    reply = widget.get_by_role("button", name="Antwoord aan Anne")
    await reply.focus()
    await page.keyboard.press("Enter")
    form = widget.locator("li.comment").first.locator("form")
    await expect(form.get_by_label("Reactie")).to_be_focused()
    await page.keyboard.type("via het toetsenbord")
    await form.get_by_role("button", name="Annuleren").press("Enter")
    await expect(form).to_have_count(0)
    await expect(reply).to_be_focused()

    # Themable: the blog's custom property reaches into the Shadow DOM.
    themed = blog.page(
        embed(blog_site, post_id),
        head="<style>#threadlog{--threadlog-accent: rgb(255, 0, 0)}</style>",
    )
    await page.goto(themed)
    submit = page.locator("#threadlog button.primary").last
    await expect(submit).to_have_css("background-color", "rgb(255, 0, 0)")


async def test_the_blogs_css_does_not_reach_the_widget(
    context: BrowserContext, blog: Blog, blog_site: SiteKeys, client: Client
) -> None:
    post_id = await publish(client, blog_site)
    rough = "<style>button{background:rgb(0, 128, 0)!important} article{display:none}</style>"
    page = await open_page(context, blog.page(embed(blog_site, post_id), head=rough))
    await expect(page.locator("#threadlog button.primary")).not_to_have_css(
        "background-color", "rgb(0, 128, 0)"
    )


async def test_an_origin_the_site_does_not_allow_gets_nothing(
    context: BrowserContext, blog: Blog, pool: asyncpg.Pool, client: Client
) -> None:
    elsewhere = await make_site(pool, "https://another.example")
    post_id = await publish(client, elsewhere)
    await comment(client, elsewhere, post_id, "not for that blog")
    page = await context.new_page()
    await page.goto(blog.page(embed(elsewhere, post_id)))
    await expect(page.locator("#threadlog .status")).to_contain_text(
        "Something went wrong", timeout=15000
    )
    await expect(page.locator("#threadlog li.comment")).to_have_count(0)


async def test_replies_past_depth_four_keep_that_indent(
    context: BrowserContext, blog: Blog, blog_site: SiteKeys, client: Client
) -> None:
    post_id = await publish(client, blog_site)
    parent: str | None = None
    for depth in range(7):
        parent = (await comment(client, blog_site, post_id, f"depth {depth}", parent))["id"]
    page = await open_page(context, blog.page(embed(blog_site, post_id)))
    articles = page.locator("#threadlog article")
    await expect(articles).to_have_count(7)
    lefts = await articles.evaluate_all(
        "(nodes) => nodes.map((n) => Math.round(n.getBoundingClientRect().left))"
    )
    assert lefts[0] < lefts[1] < lefts[2] < lefts[3] < lefts[4]
    assert lefts[4] == lefts[5] == lefts[6]


async def test_a_filled_honeypot_posts_nothing(
    context: BrowserContext, blog: Blog, blog_site: SiteKeys, client: Client
) -> None:
    post_id = await publish(client, blog_site)
    page = await open_page(context, blog.page(embed(blog_site, post_id)))
    posts: list[str] = []
    page.on("request", lambda request: request.method == "POST" and posts.append(request.url))
    trap = page.locator("#threadlog form input[name=homepage]")
    await expect(trap).to_have_attribute("tabindex", "-1")
    await trap.fill("https://spam.example", force=True)
    await write(page, "robot text")
    await page.wait_for_timeout(500)
    assert posts == []
    await expect(page.locator("#threadlog li.comment")).to_have_count(0)
