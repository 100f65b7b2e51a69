"""Events written before sealing existed hold personal data in the clear: `threadlog
seal-legacy` seals it in place (the only rewrite the log allows), after which erasure erases it
like any other."""

import json
import secrets
import uuid
from pathlib import Path

import asyncpg
import pytest

from service.access import credentials
from service.access.credentials import Role
from service.ops.rebuild import rebuild
from service.ops.seal_legacy import seal_legacy
from service.settings import Settings
from tests.builders import SiteKeys, json_body, serving, thread
from tests.privacy.scan import tables_holding

AT = "2026-11-01T10:00:00Z"
FORGED = """UPDATE events SET metadata = metadata || '{"sealed_at": 1}'"""


async def append(
    connection: asyncpg.Connection, site: str, version: int, kind: str, data: object, meta: object
) -> None:
    await connection.execute(
        """INSERT INTO events (stream_id, version, event_id, site, type, schema_version, data,
                               metadata)
           VALUES ($1, $2, $3, $4, $5, 1, $6, $7)""",
        f"post:{site}:p", version, uuid.uuid4(), site, kind, json.dumps(data), json.dumps(meta),
    )  # fmt: skip


async def test_legacy_events_are_sealed_and_then_erasable(
    own_database: str, tmp_path: Path
) -> None:
    tag = secrets.token_hex(4)
    name, body, edited = f"Legacy Person {tag}", f"legacy words {tag}", f"legacy edit {tag}"
    pool = await asyncpg.create_pool(own_database, min_size=1, max_size=4)
    try:
        site = f"legacy-{tag}"
        async with pool.acquire() as connection:
            await credentials.create_site(connection, site)
            made = [await credentials.create_key(connection, site, role) for role in Role]
            keys = SiteKeys(site, *made)
            post = {"site": site, "post_id": "p", "title": "T", "url": "https://b.example/p",
                    "labels": [], "published_at": AT}  # fmt: skip
            await append(connection, site, 1, "post.published", post, {"actor": {"kind": "key"}})
            comment_id = str(uuid.uuid4())
            ids = {"site": site, "post_id": "p", "comment_id": comment_id}
            comment = ids | {"author": {"name": name, "website": None}, "body": body,
                             "body_html": f"<p>{body}</p>", "created_at": AT}  # fmt: skip
            kept = {"actor": {"kind": "author"}, "ip_hash": f"ip-{tag}",
                    "author_key": f"name-ip-{tag}", "delete_token_sha256": "ab" * 32}  # fmt: skip
            await append(connection, site, 2, "comment.posted", comment, kept)
            edit = ids | {"body": edited, "body_html": f"<p>{edited}</p>", "edited_at": AT}
            await append(connection, site, 3, "comment.edited", edit, {"actor": {"kind": "author"}})
            report = ids | {"reason": "spam", "detail": None}
            await append(connection, site, 4, "comment.reported", report, {"ip_hash": f"rep-{tag}"})
            await rebuild(connection)
            with pytest.raises(asyncpg.RaiseError):  # append-only, outside a sealing session
                await connection.execute(FORGED)
        assert "public.events" in await tables_holding(pool, name)

        assert await seal_legacy(pool, 30) == 3
        digests = (f"ip-{tag}", f"rep-{tag}", f"name-ip-{tag}")
        assert "public.events" not in await tables_holding(pool, name, body, edited, *digests)
        assert await seal_legacy(pool, 30) == 0  # once
        settings = Settings(database_url=own_database, data_dir=tmp_path)
        async with serving(settings) as client:
            shown = await thread(client, keys, "p")
            assert shown["comments"][0]["author"]["name"] == name  # readable while its key lives
            assert shown["comments"][0]["body_html"] == f"<p>{edited}</p>"
            response = await client.post(
                f"/v1/sites/{site}/erasures", json={"comment_id": comment_id},
                headers=keys.auth("moderator"),
            )  # fmt: skip
            assert (await json_body(response, 202))["erased"] == 1
        assert await tables_holding(pool, name, body, edited) == {}
    finally:
        await pool.close()
