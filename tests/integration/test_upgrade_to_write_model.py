"""A database written before the decision state became a projection (revision 0003) upgrades:
its events, whose private facts sat in plain metadata keys, rebuild every model; an
Idempotency-Key kept then, before keys were scoped to their client, replays to nobody."""

import hashlib
import json
import secrets
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from service.access import credentials
from service.access.credentials import Role
from service.app import create_app
from service.ops import migrate
from service.ops.rebuild import rebuild
from service.settings import Settings
from tests.conftest import run_in_thread, with_database

SITE = "legacy"
TOKEN_SECRET = "a token secret kept in the environment"
AT = "2026-11-20T10:00:00Z"


@pytest.fixture
async def old_database(admin_url: str) -> AsyncIterator[str]:
    name = f"threadlog_upgrade_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = with_database(admin_url, name)
        run_in_thread(migrate.upgrade, url, "0003")
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def append(connection: asyncpg.Connection, version: int, kind: str, data: object,
                 metadata: object) -> None:  # fmt: skip
    await connection.execute(
        """INSERT INTO events (stream_id, version, event_id, site, type, schema_version, data,
                               metadata)
           VALUES ($1, $2, $3, $4, $5, 1, $6, $7)""",
        f"post:{SITE}:p", version, uuid.uuid4(), SITE, kind, json.dumps(data), json.dumps(metadata),
    )  # fmt: skip


async def test_an_old_database_upgrades_rebuilds_and_replays(old_database: str) -> None:
    comment_id = str(uuid.uuid4())
    token = credentials.delete_token(TOKEN_SECRET.encode(), SITE, comment_id)
    raw = json.dumps({"author": {"name": "Old"}, "body": "from before"}).encode()
    path = f"/v1/sites/{SITE}/posts/p/comments"
    connection = await asyncpg.connect(old_database)
    try:
        await credentials.create_site(connection, SITE)
        moderator = await credentials.create_key(connection, SITE, Role.MODERATOR)
        post = {"site": SITE, "post_id": "p", "title": "T", "url": "https://b.example/p",
                "labels": [], "published_at": AT}  # fmt: skip
        await append(connection, 1, "post.published", post, {"actor": {"kind": "key"}})
        comment = {"site": SITE, "post_id": "p", "comment_id": comment_id,
                   "author": {"name": "Old", "website": None}, "body": "from before",
                   "body_html": "<p>from before</p>", "created_at": AT}  # fmt: skip
        # What the service kept then: the token digest and the author's hashes as plain keys.
        kept = {"actor": {"kind": "author"}, "ip_hash": "ip", "author_key": "name-ip",
                "delete_token_sha256": hashlib.sha256(token.encode()).hexdigest()}  # fmt: skip
        await append(connection, 2, "comment.posted", comment, kept)
        held = {"site": SITE, "post_id": "p", "comment_id": comment_id, "reason": "first-time"}
        await append(connection, 3, "comment.held", held, {"actor": {"kind": "author"}})
        response = {"id": comment_id, "status": "held", "body_html": "<p>from before</p>"}
        await connection.execute(
            """INSERT INTO idempotency_keys (key_sha256, request_sha256, status, body, location)
               VALUES ($1, $2, 201, $3, $4)""",
            hashlib.sha256(f"POST {path}\nretry-me".encode()).digest(),
            hashlib.sha256(hashlib.sha256(raw).digest()).digest(),
            json.dumps(response),
            f"{path}#{comment_id}",
        )
    finally:
        await connection.close()

    run_in_thread(migrate.upgrade, old_database)
    connection = await asyncpg.connect(old_database)
    try:
        assert await rebuild(connection) == 3
        stored = await connection.fetchrow(
            "SELECT status, name_ip_hash, delete_token_sha256 FROM stream_comments"
        )
        assert dict(stored) == {
            "status": "held",
            "name_ip_hash": "name-ip",
            "delete_token_sha256": hashlib.sha256(token.encode()).digest(),
        }
    finally:
        await connection.close()

    settings = Settings(database_url=old_database, token_key=TOKEN_SECRET, webhooks_dispatch=False)
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    try:
        headers = {"Idempotency-Key": "retry-me", "Content-Type": "application/json"}
        # Kept before keys were scoped to their client, the key names no client: replayed, it
        # would hand the delete token to anyone who sent it. It is another request now.
        again = await client.post(path, data=raw, headers=headers)
        assert again.status == 201, await again.text()
        assert "Idempotent-Replayed" not in again.headers
        body = await again.json()
        assert body["id"] != comment_id and body["delete_token"] != token
        approve = f"/v1/sites/{SITE}/comments/{comment_id}/approve"
        auth = {"Authorization": f"Bearer {moderator}"}
        assert (await client.post(approve, json={}, headers=auth)).status == 200
        delete = await client.delete(
            f"/v1/sites/{SITE}/comments/{comment_id}", headers={"X-Delete-Token": token}
        )
        assert delete.status == 204, await delete.text()
    finally:
        await client.close()
