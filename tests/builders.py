"""The builders every test shares: commands, events and metadata for the tests below HTTP,
sites with their keys, clients of the app, and the calls that make posts, comments, settings
and webhooks through them.

Below HTTP, everything happens to post "p" of site "s" at `AT`, written by one author, unless a
test says otherwise; a comment gets a fresh id unless the test names it.
"""

import hashlib
import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer

from service.access import credentials
from service.access.credentials import Role
from service.app import create_app
from service.domain.commands import PostComment, PublishPost
from service.domain.events import Author, CommentPosted, CommentReplied, Event, PostPublished
from service.domain.groups import CreateGroup, GroupCommand
from service.domain.thread import ThreadState, evolve
from service.ops import groups
from service.settings import Settings
from service.write import batches

Client = TestClient[web.Request, web.Application]

# --- the domain -----------------------------------------------------------------------------

AT = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
TOKEN = hashlib.sha256(b"token").digest()

# What the HTTP layer records with the events of an author's request, and of a moderator's.
META: dict[str, Any] = {"actor": {"kind": "author"}, "request_id": "test", "ip_hash": "x"}
MODERATOR_META: dict[str, Any] = {
    "actor": {"kind": "key", "key_id": "moderator", "role": "moderator"},
    "request_id": "test",
    "ip_hash": "x",
}


def publish_post(post_id: str = "p", *, site: str = "s", **changes: Any) -> PublishPost:
    fields: dict[str, Any] = {
        "site": site,
        "post_id": post_id,
        "title": "T",
        "url": f"https://b.example/{post_id}",
        "labels": ("a",),
        "published_at": None,
        "at": AT,
    }
    return PublishPost(**(fields | changes))


# The event `publish_post()` causes on a new post.
PUBLISHED = PostPublished(
    site="s", post_id="p", title="T", url="https://b.example/p", labels=("a",), published_at=AT
)


def post_comment(
    comment_id: str | None = None,
    parent_id: str | None = None,
    *,
    site: str = "s",
    post_id: str = "p",
    body: str = "hello",
    **changes: Any,
) -> PostComment:
    """A comment (a reply when `parent_id` is given) as the HTTP layer makes it: with the
    author's delete token digest and the hashes of their email, IP and name+IP."""
    fields: dict[str, Any] = {
        "site": site,
        "post_id": post_id,
        "comment_id": comment_id or str(uuid.uuid4()),
        "parent_id": parent_id,
        "author": Author(name="Ann"),
        "body": body,
        "body_html": f"<p>{body}</p>",
        "at": AT,
        "delete_token_sha256": TOKEN,
        "author_email_hash": "email",
        "author_ip_hash": "ip",
        "author_name_ip_hash": "name-ip",
    }
    return PostComment(**(fields | changes))


def posted(comment_id: str = "c1") -> CommentPosted:
    """The event `post_comment(comment_id)` causes when it passes every check."""
    return CommentPosted(
        site="s",
        post_id="p",
        comment_id=comment_id,
        author=Author(name="Ann"),
        body="hello",
        body_html="<p>hello</p>",
        created_at=AT,
        delete_token_sha256=TOKEN,
        author_email_hash="email",
        author_ip_hash="ip",
        author_name_ip_hash="name-ip",
    )


def replied(comment_id: str, parent_id: str) -> CommentReplied:
    return CommentReplied(**posted(comment_id).model_dump(), parent_id=parent_id)


def given(*events: Event, **fields: Any) -> ThreadState:
    """The thread's state after `events`, from a state with `fields` (settings, bans, ...)."""
    state = ThreadState(**fields)
    for event in events:
        state = evolve(state, event)
    return state


# --- sites and their keys -------------------------------------------------------------------


@dataclass(frozen=True)
class SiteKeys:
    site: str
    publisher: str
    moderator: str
    subscriber: str

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {getattr(self, role)}"}


async def make_site(pool: asyncpg.Pool, *origins: str, site: str | None = None) -> SiteKeys:
    """A new site (a fresh name unless given) allowing `origins`, with a key for each role."""
    site = site or f"site-{secrets.token_hex(4)}"
    async with pool.acquire() as connection:
        await credentials.create_site(
            connection, site, f"Site {site}", list(origins or ["https://blog.example"])
        )
        keys = [await credentials.create_key(connection, site, role) for role in Role]
    return SiteKeys(site, *keys)


# --- the command line -----------------------------------------------------------------------

THREADLOG = str(Path(sys.executable).parent / "threadlog")


async def seed_replies(
    pool: asyncpg.Pool, site: SiteKeys, post_id: str, parent_id: str, count: int
) -> None:
    """`count` replies ("r0", "r1", ...) to one comment, decided and stored as the HTTP layer's
    would be, a chunk per transaction (a long one would hold back every test's feed)."""
    for start in range(0, count, 500):
        commands = [
            post_comment(site=site.site, post_id=post_id, parent_id=parent_id, body=f"r{n}")
            for n in range(start, min(start + 500, count))
        ]
        async with pool.acquire() as connection, connection.transaction():
            await batches.write_commands(connection, commands, META)


def threadlog(database_url: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    """`threadlog <arguments>` as an operator runs it, with DATABASE_URL set."""
    environment = os.environ | {"DATABASE_URL": database_url}
    return subprocess.run(
        [THREADLOG, *arguments], env=environment, capture_output=True, text=True, timeout=120
    )


# --- over HTTP ------------------------------------------------------------------------------


@asynccontextmanager
async def serving(settings: Settings, **changes: Any) -> AsyncIterator[Client]:
    """A client of the real app, run with `settings` and these `changes` to them."""
    app = create_app(settings.model_copy(update=changes))
    async with TestClient(TestServer(app)) as client:
        yield client


def new_id(prefix: str = "post") -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


async def json_body(response: ClientResponse, status: int) -> dict[str, Any]:
    """The JSON body of `response`, which must have answered `status`."""
    assert response.status == status, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def publish(client: Client, site: SiteKeys, post_id: str | None = None, **fields: Any) -> str:
    post_id = post_id or new_id()
    body = {"title": f"Title {post_id}", "url": f"https://blog.example/{post_id}", "labels": []}
    body |= fields
    response = await client.put(
        f"/v1/sites/{site.site}/posts/{post_id}", json=body, headers=site.auth("publisher")
    )
    assert response.status in (200, 201), await response.text()
    return post_id


async def comment(
    client: Client,
    site: SiteKeys,
    post_id: str,
    body: str = "hello",
    parent_id: str | None = None,
    name: str = "Ann",
) -> dict[str, Any]:
    payload: dict[str, Any] = {"author": {"name": name}, "body": body}
    if parent_id:
        payload["parent_id"] = parent_id
    response = await client.post(f"/v1/sites/{site.site}/posts/{post_id}/comments", json=payload)
    return await json_body(response, 201)


async def thread(client: Client, site: SiteKeys, post_id: str, **query: Any) -> dict[str, Any]:
    response = await client.get(f"/v1/sites/{site.site}/posts/{post_id}/comments", params=query)
    return await json_body(response, 200)


async def set_settings(client: Client, site: SiteKeys, **changes: Any) -> dict[str, Any]:
    response = await client.patch(
        f"/v1/sites/{site.site}/settings", json=changes, headers=site.auth("moderator")
    )
    return await json_body(response, 200)


async def register_webhook(
    client: Client, site: SiteKeys, url: str, **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        "/v1/webhooks", json={"url": url} | fields, headers=site.auth("moderator")
    )
    created = await json_body(response, 201)
    assert response.headers["Location"] == f"/v1/webhooks/{created['id']}"
    return created


async def make_demo_site(pool: asyncpg.Pool) -> None:
    """The demo site and its posts, as the embedded server makes them (idempotent)."""
    from service.ops.demo import DEMO_SITE, seed_demo
    from service.write.application import Application

    async with pool.acquire() as connection:
        await connection.execute(
            "INSERT INTO sites (site, title, origins, ip_salt) VALUES ($1, 'demo', '{}', $2)"
            " ON CONFLICT (site) DO NOTHING",
            DEMO_SITE,
            b"s" * 32,
        )
    application = Application(pool)
    try:
        await seed_demo(application)
    finally:
        await application.close()


# --- groups of sites ------------------------------------------------------------------------


async def change_group(pool: asyncpg.Pool, command: GroupCommand) -> None:
    """A group command, as `threadlog groups ...` runs it."""
    async with pool.acquire() as connection:
        await groups.change_group(connection, command, META)


async def make_group(pool: asyncpg.Pool, *sites: SiteKeys) -> str:
    """A new group (a fresh name) of these sites."""
    name = new_id("group")
    await change_group(pool, CreateGroup(group=name, sites=tuple(s.site for s in sites), at=AT))
    return name
