"""A real SMTP server in the test process (aiosmtpd, on a thread of its own) and what the mail
tests share: the app with mail on, commenting with the option, reading links out of mail."""

import email
import re
import secrets
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from email.message import EmailMessage
from email.policy import default
from typing import Any
from urllib.parse import urlsplit

import asyncpg
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from pydantic import SecretStr

from service.settings import Settings
from tests.builders import Client, SiteKeys, json_body, serving
from tests.clusters import free_port
from tests.waiting import wait_until

PUBLIC_URL = "https://comments.example"


class Inbox:
    """What the server took, and the addresses it refuses (550, as for an unknown mailbox)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refused: set[str] = set()
        self.lock = threading.Lock()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        message = email.message_from_bytes(content, policy=default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]

    async def wait(self, address: str, count: int) -> list[EmailMessage]:
        """The mails to `address` once there are `count` of them."""

        async def arrived() -> bool:
            return len(self.to(address)) >= count

        await wait_until(arrived, f"{count} mail(s) to {address}")
        return self.to(address)


@contextmanager
def smtp_server(inbox: Inbox, port: int = 0) -> Iterator[int]:
    """The server listening on 127.0.0.1 (`port`, or a free one), until the block ends."""
    controller = Controller(inbox, hostname="127.0.0.1", port=port or free_port())
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


@asynccontextmanager
async def mail_app(settings: Settings, port: int, **changes: Any) -> AsyncIterator[Client]:
    """The app with mail on, sent to the server on `port`; replies go out at once unless the
    test gathers them."""
    mail = {
        "smtp_url": SecretStr(f"smtp://127.0.0.1:{port}"),
        "mail_from": "Comments <comments@blog.example>",
        "public_url": PUBLIC_URL,
        "mail_gather_seconds": 0,
        "mail_retry_base_seconds": 0.05,
        "mail_retry_max_seconds": 0.2,
    }
    async with serving(settings, **(mail | changes)) as client:
        yield client


def address(name: str = "reader") -> str:
    return f"{name}-{secrets.token_hex(4)}@mail.example"


async def write(
    client: Client,
    site: SiteKeys,
    post_id: str,
    mail: str | None = None,
    *,
    parent_id: str | None = None,
    notify: bool = False,
    name: str = "Ann",
    body: str = "hello",
    **fields: Any,
) -> dict[str, Any]:
    author: dict[str, Any] = {"name": name} | ({"email": mail} if mail else {})
    payload: dict[str, Any] = {"author": author, "body": body} | fields
    if parent_id:
        payload["parent_id"] = parent_id
    if notify:
        payload["notify"] = True
    response = await client.post(f"/v1/sites/{site.site}/posts/{post_id}/comments", json=payload)
    return await json_body(response, 201)


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def html_of(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


LINK = re.compile(re.escape(PUBLIC_URL) + r"(/v1/mail/links/[A-Za-z0-9_.-]+)")


def links(message: EmailMessage) -> list[str]:
    """The paths of the service's links in the mail's text, in order."""
    return LINK.findall(text_of(message))


def path_of(url: str) -> str:
    return urlsplit(url.strip("<>")).path


async def follow(client: Client, path: str) -> None:
    """What a person does: open the link (a page that does nothing yet), press its button."""
    page = await client.get(path)
    assert page.status == 200, await page.text()
    assert '<form method="post">' in await page.text()
    done = await client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status == 200, await done.text()


async def confirmed(client: Client, inbox: Inbox, mail: str) -> None:
    """Follow the confirmation link of the one confirmation mail sent to `mail`."""
    (confirmation,) = await inbox.wait(mail, 1)
    (link,) = links(confirmation)
    await follow(client, link)


async def force_due(pool: asyncpg.Pool, site: SiteKeys) -> None:
    """Send what the site's mail is still gathering (a window ends, a digest's day is over)."""
    await pool.execute(
        "UPDATE mail_outbox SET due_at = now(), next_attempt_at = now() "
        "WHERE site = $1 AND state = 'pending'",
        site.site,
    )
