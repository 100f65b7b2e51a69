"""The widget's "Email me replies" option (issue 16): offered only when the server mails, and
sent with the comment, which starts the double opt-in."""

from playwright.async_api import BrowserContext, expect

from service.settings import Settings
from tests.browser.conftest import Blog
from tests.browser.test_widget import embed, open_page, write
from tests.builders import Client, SiteKeys, publish
from tests.mail.inbox import Inbox, address, mail_app, smtp_server

OPTION = "Email me replies"


async def test_the_option_is_offered_only_with_mail_and_asks_for_confirmation(
    context: BrowserContext, blog: Blog, blog_site: SiteKeys, client: Client, settings: Settings
) -> None:
    post_id = await publish(client, blog_site)
    page = await open_page(context, blog.page(embed(blog_site, post_id)))
    await expect(page.locator("#threadlog").get_by_label(OPTION)).to_be_hidden()

    inbox, reader = Inbox(), address()
    with smtp_server(inbox) as port:
        async with mail_app(settings, port) as mailing:
            service = str(mailing.make_url("")).rstrip("/")
            # The same blog (its origin is the site's), embedding the service that mails.
            mailing_blog = Blog(blog.origin, service, blog.pages)
            page = await open_page(context, mailing_blog.page(embed(blog_site, post_id)))
            widget = page.locator("#threadlog")
            option = widget.get_by_label(OPTION)
            await expect(option).to_be_visible()
            form = widget.locator("form").last
            await form.get_by_label("Email (optional, never shown)").fill(reader)
            await option.check()
            await write(page, "tell me when someone answers")
            await expect(widget.locator("li.comment")).to_have_count(1)
            (confirmation,) = await inbox.wait(reader, 1)
            assert "Confirm" in str(confirmation["Subject"])
