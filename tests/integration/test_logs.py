"""The log of a real `threadlog serve`: JSON lines by default off a terminal, an access line per
request, the request id followed into events and webhook deliveries, and no secret or personal
datum anywhere in it, after flows that handle every kind of them."""

import asyncio
import json
import os
import secrets
import subprocess
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from tests.builders import THREADLOG, make_site, new_id
from tests.clusters import free_port
from tests.waiting import wait_until

PLANTED_EMAIL = f"planted.{secrets.token_hex(4)}@mail.example"
PLANTED_IP = "203.0.113.77"
PLANTED_TOKEN_KEY = f"planted-token-key-{secrets.token_hex(8)}"
PLANTED_WEBHOOK_TOKEN = f"hooktoken{secrets.token_hex(6)}"
PLANTED_IDEMPOTENCY_KEY = f"planted-idem-{secrets.token_hex(6)}"
PLANTED_WRONG_KEY = f"tl_planted{secrets.token_hex(12)}"


async def flows(base: str, pool: asyncpg.Pool) -> tuple[list[str], dict[str, Any]]:
    """Requests that carry every secret and personal datum there is; returns those values and
    what the test needs to check the request ids."""
    site = await make_site(pool)
    post_id = new_id()
    planted = [site.publisher, site.moderator, site.subscriber]
    seen: dict[str, Any] = {"request_ids": []}
    async with aiohttp.ClientSession(base) as http:

        async def call(method: str, path: str, **options: Any) -> aiohttp.ClientResponse:
            response = await http.request(method, path, **options)
            await response.read()
            seen["request_ids"].append(response.headers["X-Request-Id"])
            return response

        site_path = f"/v1/sites/{site.site}"
        put = await call(
            "PUT",
            f"{site_path}/posts/{post_id}",
            json={"title": "T", "url": "https://blog.example/t"},
            headers=site.auth("publisher"),
        )
        assert put.status == 201
        hook = await call(
            "POST",
            "/v1/webhooks",
            json={"url": f"http://127.0.0.1:9/hook?token={PLANTED_WEBHOOK_TOKEN}"},
            headers=site.auth("moderator"),
        )
        assert hook.status == 201
        hook_body = await hook.json()
        planted.append(hook_body["secret"])
        rotated = await call(
            "POST", f"/v1/webhooks/{hook_body['id']}/secret", headers=site.auth("moderator")
        )
        planted.append((await rotated.json())["secret"])
        author = {"name": "Ann", "email": PLANTED_EMAIL, "website": "https://ann.example"}
        headers = {"Idempotency-Key": PLANTED_IDEMPOTENCY_KEY, "X-Forwarded-For": PLANTED_IP}
        for _ in range(2):  # the second is a replay
            posted = await call(
                "POST",
                f"{site_path}/posts/{post_id}/comments",
                json={"author": author, "body": "hello"},
                headers=headers,
            )
            assert posted.status in (200, 201)
        created = await posted.json()
        seen["comment_request_id"] = seen["request_ids"][-2]
        planted.append(created["delete_token"])
        refused = await call(
            "POST",
            f"{site_path}/posts/{post_id}/comments",
            json={"author": {"name": "B"}, "body": "x", "unknown": PLANTED_EMAIL},
        )
        assert refused.status == 422
        wrong_key = await call(
            "GET", "/v1/events", headers={"Authorization": f"Bearer {PLANTED_WRONG_KEY}"}
        )
        assert wrong_key.status == 401
        wrong_token = await call(
            "DELETE",
            f"{site_path}/comments/{created['id']}",
            headers={"X-Delete-Token": "0" * len(created["delete_token"])},
        )
        assert wrong_token.status in (401, 403)
        deleted = await call(
            "DELETE",
            f"{site_path}/comments/{created['id']}",
            headers={"X-Delete-Token": created["delete_token"]},
        )
        assert deleted.status == 204
        # A value in the query (here an unknown parameter) is never logged either.
        feed = await call(
            "GET", f"/v1/events?token={PLANTED_WRONG_KEY}", headers=site.auth("subscriber")
        )
        assert feed.status == 200
        seen["comment_id"] = created["id"]
        seen["webhook_id"] = hook_body["id"]
        seen["site"] = site.site
    return planted, seen


async def test_the_log_is_json_lines_with_request_ids_and_holds_no_secret(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    port = free_port()
    log_file = tmp_path / "stderr.log"
    environment = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": database_url,
        "THREADLOG_PORT": str(port),
        "THREADLOG_TOKEN_KEY": PLANTED_TOKEN_KEY,
        "THREADLOG_KEK": os.environ["THREADLOG_KEK"],
        "THREADLOG_LOG_LEVEL": "DEBUG",
        "THREADLOG_WEBHOOKS_ALLOW_PRIVATE": "true",
        "THREADLOG_WEBHOOK_RETRY_BASE_SECONDS": "0.05",
        "THREADLOG_DEFAULT_RATE_LIMIT_PER_MINUTE": "0",
    }
    with log_file.open("w") as stderr:
        server = await asyncio.create_subprocess_exec(
            THREADLOG, "serve", env=environment, stdout=subprocess.PIPE, stderr=stderr
        )
    try:
        base = f"http://127.0.0.1:{port}"

        async def ready() -> bool:
            try:
                async with (
                    aiohttp.ClientSession() as http,
                    http.get(f"{base}/readyz") as response,
                ):
                    return response.status == 200
            except aiohttp.ClientError:
                assert server.returncode is None, "serve exited"
                return False

        await wait_until(ready, "the service to be ready")
        planted, seen = await flows(base, pool)

        async def delivery_failed() -> bool:
            return f"webhook {seen['webhook_id']}" in log_file.read_text()

        await wait_until(delivery_failed, "a failed webhook delivery in the log")
    finally:
        server.terminate()
        output, _ = await asyncio.wait_for(server.communicate(), 60)
    stdout = output.decode()
    text = log_file.read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    for line in lines:
        assert {"timestamp", "level", "logger", "message", "request_id"} <= line.keys(), line

    access = [line for line in lines if line["logger"] == "threadlog.access"]
    assert {line["request_id"] for line in access} >= set(seen["request_ids"])
    comment_line = next(a for a in access if a["request_id"] == seen["comment_request_id"])
    assert comment_line["route"] == "/v1/sites/{site}/posts/{post}/comments"
    assert comment_line["method"] == "POST" and comment_line["status"] == 201
    assert comment_line["bytes"] > 0 and comment_line["duration_ms"] >= 0

    # The request id goes into the events it caused, and into the deliveries of those events.
    recorded = await pool.fetchval(
        "SELECT metadata->>'request_id' FROM events WHERE type = 'comment.posted' "
        "AND data->>'comment_id' = $1",
        seen["comment_id"],
    )
    assert recorded == seen["comment_request_id"]
    # A failed delivery names the request that caused its event (the first event after the
    # webhook's checkpoint: which one depends on what the feed showed when it was created).
    deliveries = [line for line in lines if f"webhook {seen['webhook_id']}" in line["message"]]
    assert deliveries
    for line in deliveries:
        event_id = line["message"].split(" delivery of ")[1].split()[1]
        caused_by = await pool.fetchval(
            "SELECT metadata->>'request_id' FROM events WHERE event_id = $1::uuid", event_id
        )
        assert line["request_id"] == caused_by and caused_by in seen["request_ids"], line

    everything = text + stdout
    for value in [
        *planted,
        PLANTED_EMAIL,
        PLANTED_IP,
        PLANTED_TOKEN_KEY,
        os.environ["THREADLOG_KEK"],
        PLANTED_WEBHOOK_TOKEN,
        PLANTED_IDEMPOTENCY_KEY,
        PLANTED_WRONG_KEY,
    ]:
        assert value not in everything, f"{value!r} reached the log"


def test_text_logs_on_request(database_url: str, tmp_path: Path) -> None:
    environment = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": f"{database_url}_no_such_database",
        "THREADLOG_LOG_FORMAT": "text",
    }
    result = subprocess.run(
        [THREADLOG, "migrate"], env=environment, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert not result.stderr.lstrip().startswith("{")
    bad = subprocess.run(
        [THREADLOG, "migrate"],
        env=environment | {"THREADLOG_LOG_FORMAT": "xml"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode != 0 and "log_format" in bad.stderr.lower()
