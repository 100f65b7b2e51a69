"""The widget's privacy features (issue 13): "Forget my comments on this site" erases every
comment whose delete token the browser holds, "Download my comments" saves their export."""

import json
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import Blog, screenshot
from tests.browser.test_widget import embed, open_page, write
from tests.builders import Client, SiteKeys, comment, json_body, publish, thread

FORGET = "Forget my comments on this site"
CONFIRM = "Really erase them all? It cannot be undone"


async def held_tokens(page: Page, site: SiteKeys) -> dict[str, str]:
    stored = await page.evaluate(f"localStorage.getItem('threadlog:{site.site}:tokens')")
    tokens: dict[str, str] = json.loads(stored)
    return tokens


async def forget(page: Page) -> None:
    widget = page.locator("#threadlog")
    await widget.get_by_role("button", name=FORGET).click()
    await widget.get_by_role("button", name=CONFIRM).click()


def everything(comments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for shown in comments for c in [shown, *everything(shown["replies"])]]


async def test_forget_my_comments_erases_them_and_leaves_a_tombstone_above_a_reply(
    browser: Browser, context: BrowserContext, blog: Blog, blog_site: SiteKeys, client: Client
) -> None:
    post_id = await publish(client, blog_site)
    url = blog.page(embed(blog_site, post_id))
    page = await open_page(context, url)
    widget = page.locator("#threadlog")
    # Nothing of the reader's is held yet: nothing to forget or download.
    await expect(widget.get_by_role("button", name=FORGET)).to_be_hidden()
    await expect(widget.get_by_role("button", name="Download my comments")).to_be_hidden()
    await write(page, "my first words")
    await expect(widget.locator("li.comment")).to_have_count(1)
    await write(page, "my second words")
    await expect(widget.locator("li.comment")).to_have_count(2)
    first_id = await widget.locator("li.comment").first.get_attribute("data-id")
    assert first_id is not None
    await comment(client, blog_site, post_id, "a reply that stays", first_id, name="Bob")
    await expect(widget.locator(".count")).to_have_text("3 comments")
    assert len(await held_tokens(page, blog_site)) == 2
    assert await page.evaluate("localStorage.getItem('threadlog:author')") is not None

    # Another reader has the post open and sees the erasure arrive live.
    other = await browser.new_context(locale="en-GB")
    reader = await open_page(other, url)
    await expect(reader.locator("#threadlog .count")).to_have_text("3 comments")

    await expect(widget.get_by_role("button", name="Download my comments")).to_be_visible()
    await screenshot(page, "widget-own-comments")
    await widget.get_by_role("button", name=FORGET).click()
    confirm = widget.get_by_role("button", name=CONFIRM)
    await expect(confirm).to_be_visible()
    await expect(widget.locator(".tomb")).to_have_count(0)  # nothing happens before the yes
    await confirm.click()
    await expect(widget.get_by_role("status")).to_have_text("Comments erased: 2.")
    await expect(widget.locator(".tomb")).to_have_text("Removed at the author's request")
    await expect(widget.locator(".replies .body")).to_have_text("a reply that stays")
    await expect(widget.locator("li.comment", has_text="my second words")).to_have_count(0)
    await expect(widget.locator(".body", has_text="my first words")).to_have_count(0)
    await expect(widget.locator(".count")).to_have_text("1 comment")
    await expect(widget.get_by_role("button", name=FORGET)).to_be_hidden()
    assert await held_tokens(page, blog_site) == {}
    # The name the form was filled in with is forgotten too.
    assert await page.evaluate("localStorage.getItem('threadlog:author')") is None
    await expect(widget.locator("form").last.get_by_label("Name")).to_have_value("")
    await screenshot(page, "widget-forgotten")

    # The service agrees: a tombstone marked erased, without author or text, above the reply.
    shown = (await thread(client, blog_site, post_id))["comments"]
    assert len(shown) == 1
    assert shown[0]["id"] == first_id
    assert shown[0]["deleted"] == {"by": "author", "erased": True}
    assert shown[0]["author"] is None and shown[0]["body_html"] is None
    assert [c["body_html"] for c in shown[0]["replies"]] == ["<p>a reply that stays</p>"]
    assert "my second words" not in json.dumps(shown) and "my first words" not in json.dumps(shown)

    other_widget = reader.locator("#threadlog")
    await expect(other_widget.locator(".tomb")).to_have_text("Removed at the author's request")
    await expect(other_widget.locator(".body", has_text="words")).to_have_count(0)
    await expect(other_widget.locator(".count")).to_have_text("1 comment")
    await other.close()

    # A fresh page shows the same, and a moderator's tombstone keeps its own words.
    await page.reload()
    await expect(page.locator("#threadlog .tomb")).to_have_text("Removed at the author's request")
    reply_id = shown[0]["replies"][0]["id"]
    mine = await comment(client, blog_site, post_id, "to be removed", reply_id, name="Cleo")
    moderator = blog_site.auth("moderator")
    path = f"/v1/sites/{blog_site.site}/comments/{reply_id}"
    assert (await client.delete(path, headers=moderator)).status == 204
    await page.reload()
    tombs = page.locator("#threadlog .tomb")
    await expect(tombs).to_have_text(["Removed at the author's request", "Removed by a moderator"])
    await expect(page.locator(f'#threadlog li[data-id="{mine["id"]}"] .body')).to_be_visible()


async def test_forgetting_in_dutch_and_a_token_erased_since(
    context: BrowserContext, blog: Blog, blog_site: SiteKeys, client: Client
) -> None:
    """A moderator erased one of the reader's comments already: its token proves nothing now
    (the service refuses the lot with 403); the widget lets it go and erases the rest."""
    post_id = await publish(client, blog_site)
    page = await open_page(context, blog.page(embed(blog_site, post_id), lang="nl"))
    widget = page.locator("#threadlog")
    # Two names from one address are two authors (one data key each), so one erasure can
    # take one of them.
    for shown, (name, body) in enumerate([("Anne", "eerste"), ("Bas", "tweede")], start=1):
        form = widget.locator("form").last
        await form.get_by_label("Naam").fill(name)
        await form.get_by_label("Reactie").fill(body)
        await form.get_by_role("button", name="Plaats reactie").click()
        await expect(widget.locator("li.comment")).to_have_count(shown)
    gone = await widget.locator("li.comment").first.get_attribute("data-id")
    erased = await client.post(
        f"/v1/sites/{blog_site.site}/erasures",
        json={"comment_id": gone},
        headers=blog_site.auth("moderator"),
    )
    assert (await json_body(erased, 202))["erased"] == 1

    await widget.get_by_role("button", name="Vergeet mijn reacties op deze site").click()
    await widget.get_by_role(
        "button", name="Echt allemaal wissen? Dit kan niet ongedaan worden gemaakt"
    ).click()
    await expect(widget.get_by_role("status")).to_have_text("Reacties gewist: 1.")
    await expect(widget.locator("li.comment")).to_have_count(0)
    assert await held_tokens(page, blog_site) == {}
    assert (await thread(client, blog_site, post_id))["comments"] == []


async def test_forgetting_what_an_email_shares_with_other_comments_needs_a_moderator(
    context: BrowserContext, blog: Blog, blog_site: SiteKeys, client: Client
) -> None:
    post_id = await publish(client, blog_site)
    page = await open_page(context, blog.page(embed(blog_site, post_id)))
    widget = page.locator("#threadlog")
    form = widget.locator("form").last
    await form.get_by_label("Email (optional, never shown)").fill("ann@mail.example")
    await write(page, "written here")
    await expect(widget.locator("li.comment")).to_have_count(1)
    # The same person, from another browser: this one holds no token for it.
    elsewhere = await client.post(
        f"/v1/sites/{blog_site.site}/posts/{post_id}/comments",
        json={"author": {"name": "Ann", "email": "ann@mail.example"}, "body": "written elsewhere"},
    )
    await json_body(elsewhere, 201)

    await forget(page)
    alert = widget.get_by_role("alert")
    await expect(alert).to_have_text(
        "Other comments on this site were written with the same email: "
        "the site's moderators can erase them all."
    )
    # Nothing was erased, and the tokens are kept for a later try.
    await expect(widget.locator("li.comment .body")).to_have_text(
        ["written here", "written elsewhere"]
    )
    assert len(await held_tokens(page, blog_site)) == 1
    await expect(widget.get_by_role("button", name=FORGET)).to_be_visible()


async def test_download_my_comments_saves_the_export_document(
    context: BrowserContext, blog: Blog, blog_site: SiteKeys, client: Client, tmp_path: Path
) -> None:
    post_id = await publish(client, blog_site, title="A post about <b>things</b>")
    page = await open_page(context, blog.page(embed(blog_site, post_id)))
    widget = page.locator("#threadlog")
    await write(page, "the *first*")
    await expect(widget.locator("li.comment")).to_have_count(1)
    await write(page, "the second", name="Ann B.")
    await expect(widget.locator("li.comment")).to_have_count(2)
    await comment(client, blog_site, post_id, "not mine", name="Eve")
    ids = await widget.locator("li.comment").evaluate_all("(ns) => ns.map((n) => n.dataset.id)")

    async with page.expect_download() as started:
        await widget.get_by_role("button", name="Download my comments").click()
    download = await started.value
    assert download.suggested_filename == f"comments-{blog_site.site}.json"
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    document = json.loads(saved.read_text(encoding="utf-8"))
    assert document["format"] == "threadlog-author-export/1"
    assert document["site"] == blog_site.site
    assert document["author"] is None
    exported = {c["id"]: c for c in document["comments"]}
    assert set(exported) == set(ids[:2])
    assert exported[ids[0]]["body_html"] == "<p>the <em>first</em></p>"
    assert exported[ids[1]]["author"] == {"name": "Ann B.", "website": None}
    assert exported[ids[0]]["post"]["id"] == post_id
    assert exported[ids[0]]["post"]["title"] == "A post about <b>things</b>"
    # Downloading changes nothing.
    await expect(widget.locator("li.comment")).to_have_count(3)
    assert len(await held_tokens(page, blog_site)) == 2
