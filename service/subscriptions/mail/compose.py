"""What a mail of the outbox says, read when it is sent: the comments it gathers as they are
now (a deleted, rejected or erased one is left out), and signed links to act on them."""

import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr
from typing import Any

from service.db import Connection
from service.domain.text import visible_text
from service.subscriptions.mail.feed import Kind
from service.subscriptions.mail.links import Link, LinkAction, new_link, sign
from service.subscriptions.mail.templates import Rendered, Templates

DAY_SECONDS = 24 * 3600

COMMENTS = """
SELECT c.comment_id, c.post_id, c.parent_id, c.author_name, c.body_html, c.status,
       c.status_reason, c.report_count, p.title, p.url
FROM unnest($2::text[]) WITH ORDINALITY AS w(comment_id, n)
JOIN thread_comments c ON c.site = $1 AND c.comment_id = w.comment_id
JOIN posts p ON p.site = c.site AND p.post_id = c.post_id
ORDER BY w.n
"""
# Replies still published, to comments the reader still follows.
FOLLOWED = """
SELECT 1 FROM mail_subscriptions WHERE site = $1 AND comment_id = $2 AND email_hash = $3
"""
READER = """
SELECT confirmed_at IS NOT NULL AND bounced_at IS NULL AND site_unsubscribed_at IS NULL
FROM mail_recipients WHERE site = $1 AND email_hash = $2
"""


@dataclass(frozen=True, slots=True)
class Composer:
    templates: Templates
    server_secret: bytes
    public_url: str
    sender: str
    link_days: int

    def url(self, link: Link) -> str:
        return f"{self.public_url}/v1/mail/links/{sign(self.server_secret, link)}"

    async def compose(self, connection: Connection, mail: Any) -> EmailMessage | None:
        """The message for outbox row `mail`, or None when nothing is left to say."""
        site = mail["site"]
        title = await connection.fetchval("SELECT title FROM sites WHERE site = $1", site) or site
        values = {"site": site, "site_title": title, "link_days": str(self.link_days)}
        headers: dict[str, str] = {}
        rendered: Rendered | None
        if mail["kind"] == Kind.CONFIRM:
            link = new_link(
                LinkAction.CONFIRM, site, email_hash=mail["email_hash"], expires=self.expiry()
            )
            values["confirm_url"] = self.url(link)
            rendered = self.templates.mail(site, mail["language"], "confirm", values)
        elif mail["kind"] == Kind.REPLIES:
            rendered = await self.replies(connection, mail, values, headers)
        else:
            rendered = await self.moderation(connection, mail, values)
        if rendered is None:
            return None
        return self.message(mail, rendered, headers)

    def expiry(self) -> int:
        return int(time.time()) + self.link_days * DAY_SECONDS

    def message(self, mail: Any, rendered: Rendered, headers: dict[str, str]) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = formataddr(("", mail["address"]))
        message["Subject"] = rendered.subject
        # Stable per outbox row: a mail sent again after a crash is recognisably the same.
        domain = self.sender.rpartition("@")[2].strip(">") or "threadlog"
        message["Message-ID"] = f"<threadlog-mail-{mail['mail_id']}@{domain}>"
        message["Auto-Submitted"] = "auto-generated"
        for name, value in headers.items():
            message[name] = value
        message.set_content(rendered.text)
        message.add_alternative(rendered.html, subtype="html")
        return message

    async def comments(self, connection: Connection, mail: Any) -> list[Any]:
        return list(await connection.fetch(COMMENTS, mail["site"], list(mail["items"])))

    def item_values(self, row: Any) -> dict[str, str]:
        body_html = row["body_html"] or ""
        return {
            "name": row["author_name"] or "",
            "text": visible_text(body_html).strip(),
            "html": body_html,
            "post_title": row["title"],
            "url": f"{row['url']}#comment-{row['comment_id']}",
        }

    async def replies(
        self, connection: Connection, mail: Any, values: dict[str, str], headers: dict[str, str]
    ) -> Rendered | None:
        site, email_hash, language = mail["site"], mail["email_hash"], mail["language"]
        if not await connection.fetchval(READER, site, email_hash):
            return None
        texts, htmls = [], []
        for row in await self.comments(connection, mail):
            followed = await connection.fetchval(FOLLOWED, site, row["parent_id"], email_hash)
            if row["status"] != "published" or not followed:
                continue
            item = self.item_values(row)
            texts.append(self.templates.part(site, language, "reply.txt", item))
            htmls.append(self.templates.part(site, language, "reply.html", item))
        if not texts:
            return None
        thread = new_link(
            LinkAction.UNSUBSCRIBE_THREAD, site, email_hash=email_hash, post_id=mail["post_id"]
        )
        whole_site = new_link(LinkAction.UNSUBSCRIBE_SITE, site, email_hash=email_hash)
        values["unsubscribe_thread_url"] = self.url(thread)
        values["unsubscribe_site_url"] = self.url(whole_site)
        # RFC 8058: a mail client POSTs `List-Unsubscribe=One-Click` to this URL.
        headers["List-Unsubscribe"] = f"<{values['unsubscribe_thread_url']}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        return self.templates.mail(
            site, language, "replies", values | {"items": "".join(texts)}, {"items": "".join(htmls)}
        )

    async def moderation(
        self, connection: Connection, mail: Any, values: dict[str, str]
    ) -> Rendered | None:
        site, language = mail["site"], mail["language"]
        texts, htmls = [], []
        for row in await self.comments(connection, mail):
            item = self.item_values(row)
            if row["status"] == "held":
                name = "held"
                item["reason"] = row["status_reason"] or "held"
                item["link_days"] = str(self.link_days)
                for action, key in (
                    (LinkAction.APPROVE, "approve_url"),
                    (LinkAction.REJECT, "reject_url"),
                ):
                    link = new_link(
                        action, site, comment_id=row["comment_id"], expires=self.expiry()
                    )
                    item[key] = self.url(link)
            elif row["status"] == "published":
                name = "comment"
                reports = row["report_count"]
                item["reason"] = f"reports: {reports}" if reports else "published"
            else:
                continue
            texts.append(self.templates.part(site, language, f"{name}.txt", item))
            htmls.append(self.templates.part(site, language, f"{name}.html", item))
        if not texts:
            return None
        return self.templates.mail(
            site,
            language,
            "moderation",
            values | {"items": "".join(texts)},
            {"items": "".join(htmls)},
        )
