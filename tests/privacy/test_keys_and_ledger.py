"""The KEK and the erasure ledger: an operator's erasure, a KEK rotation that leaves the log
alone, an instance with the wrong KEK refused, and a restored backup that does not bring an
erased person back."""

import asyncio
import json
import secrets
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from pydantic import SecretStr

from service.eventstore import data_keys
from service.eventstore.vault import Vault, new_kek_text, parse_kek
from service.ops import kek
from service.settings import Settings
from tests.builders import (
    Client,
    SiteKeys,
    json_body,
    make_site,
    publish,
    serving,
    thread,
    threadlog,
)
from tests.conftest import with_database
from tests.privacy.scan import tables_holding


async def test_an_operator_erases_from_the_command_line(
    settings: Settings, database_url: str, site: SiteKeys, pool: asyncpg.Pool
) -> None:
    name = f"Cli Person {secrets.token_hex(4)}"
    email = f"cli-{secrets.token_hex(4)}@mail.example"
    async with serving(settings) as client:
        post_id = await publish(client, site)
        payload = {"author": {"name": name, "email": email}, "body": f"said by {name}"}
        response = await client.post(
            f"/v1/sites/{site.site}/posts/{post_id}/comments", json=payload
        )
        created = await json_body(response, 201)
    done = await asyncio.to_thread(
        threadlog, database_url, "erase", "--site", site.site, "--email", email
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["comment_ids"] == [created["id"]] and answer["requested_by"] == "operator"
    assert await tables_holding(pool, name) == {}
    unknown = await asyncio.to_thread(
        threadlog, database_url, "erase", "--site", "nope", "--email", email
    )
    assert unknown.returncode != 0 and "no site" in unknown.stderr


async def post(
    client: Client, site: SiteKeys, post_id: str, name: str, email: str
) -> dict[str, Any]:
    payload = {"author": {"name": name, "email": email}, "body": f"written by {name}"}
    response = await client.post(f"/v1/sites/{site.site}/posts/{post_id}/comments", json=payload)
    return await json_body(response, 201)


async def test_rotating_the_kek_rewraps_keys_and_leaves_the_log(
    own_database: str, tmp_path: Path
) -> None:
    old, new = new_kek_text(), new_kek_text()
    suite = data_keys.current()
    pool = await asyncpg.create_pool(own_database, min_size=1, max_size=4)
    try:
        base = Settings(database_url=own_database, kek=old, data_dir=tmp_path)
        site = await make_site(pool)
        async with serving(base) as client:
            post_id = await publish(client, site)
            await post(client, site, post_id, "Kept Name", "kept@mail.example")
            before = await thread(client, site, post_id)
        log_before = await pool.fetch("SELECT data, metadata FROM events ORDER BY position")
        with pytest.raises(kek.KekMismatch):  # another KEK alone is refused
            await kek.check_kek(pool, Vault(parse_kek(new)))
        rotating = Vault(parse_kek(new), (parse_kek(old),))
        assert await kek.rotate(pool, rotating) == 2  # the author's key and the day's
        assert await pool.fetch("SELECT data, metadata FROM events ORDER BY position") == log_before
        async with serving(base, kek=SecretStr(new)) as client:
            assert await thread(client, site, post_id) == before
            feed = await client.get("/v1/events", headers=site.auth("subscriber"))
            names = [e["data"].get("author", {}).get("name") for e in (await feed.json())["events"]]
            assert "Kept Name" in names
        with pytest.raises(kek.KekMismatch):  # the old one is forgotten
            await kek.check_kek(pool, Vault(parse_kek(old)))
    finally:
        await pool.close()
        data_keys.install(suite)


async def test_a_restored_backup_does_not_bring_an_erased_person_back(
    own_database: str, admin_url: str, tmp_path: Path
) -> None:
    suite = data_keys.current()
    settings = Settings(database_url=own_database, kek=new_kek_text(), data_dir=tmp_path)
    pool = await asyncpg.create_pool(own_database, min_size=1, max_size=4)
    name = f"Restored Person {secrets.token_hex(4)}"
    try:
        site = await make_site(pool)
        async with serving(settings) as client:
            post_id = await publish(client, site)
            await post(client, site, post_id, name, "restored@mail.example")
        await pool.close()
        # The backup, taken before the erasure.
        backup = f"threadlog_backup_{secrets.token_hex(4)}"
        admin = await asyncpg.connect(admin_url)
        await admin.execute(
            f'CREATE DATABASE "{backup}" TEMPLATE "{own_database.rsplit("/", 1)[1]}"'
        )
        async with serving(settings) as client:
            response = await client.post(
                f"/v1/sites/{site.site}/erasures",
                json={"email": "restored@mail.example"},
                headers=site.auth("moderator"),
            )
            await json_body(response, 202)
        assert settings.ledger_path().read_text().strip()
        restored_url = with_database(admin_url, backup)
        restored = await asyncpg.create_pool(restored_url, min_size=1, max_size=2)
        assert await tables_holding(restored, name)  # the backup holds the person
        async with serving(settings, database_url=restored_url) as client:
            shown = await thread(client, site, post_id)
            assert shown["comments"] == []
        assert await tables_holding(restored, name) == {}
        await restored.close()
        await admin.execute(f'DROP DATABASE "{backup}" WITH (FORCE)')
        await admin.close()
    finally:
        data_keys.install(suite)
