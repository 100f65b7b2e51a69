"""/v1/webhooks: registration, listing, changes, deletion, replay and who may do what."""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from service.settings import Settings
from tests.builders import Client, SiteKeys, publish, register_webhook, serving
from tests.waiting import feed

URL = "http://127.0.0.1:9/hook"


async def test_a_moderator_registers_lists_changes_and_deletes_a_webhook(
    client: Client,
    site: SiteKeys,
) -> None:
    moderator = site.auth("moderator")
    hook = await register_webhook(
        client, site, URL, types=["comment.posted", "comment.posted"], description=" mailer "
    )
    assert hook["secret"].startswith("whsec_") and len(hook["secret"]) == 6 + 44
    assert hook["types"] == ["comment.posted"] and hook["description"] == "mailer"
    assert hook["status"] == "active" and hook["attempts"] == 0
    url = f"/v1/webhooks/{hook['id']}"

    shown = await (await client.get(url, headers=moderator)).json()
    assert "secret" not in shown and shown == {k: v for k, v in hook.items() if k != "secret"}
    listed = await (await client.get("/v1/webhooks", headers=moderator)).json()
    assert [h["id"] for h in listed["webhooks"]] == [hook["id"]]

    response = await client.patch(
        url, json={"status": "paused", "types": [], "url": URL + "2"}, headers=moderator
    )
    assert response.status == 200, await response.text()
    changed = await response.json()
    assert (changed["status"], changed["types"], changed["url"]) == ("paused", [], URL + "2")
    assert changed["description"] == "mailer"

    assert (await client.delete(url, headers=moderator)).status == 204
    assert (await client.get(url, headers=moderator)).status == 404
    assert (await client.delete(url, headers=moderator)).status == 404


async def test_a_new_webhook_starts_after_what_is_already_in_the_log(
    client: Client,
    site: SiteKeys,
) -> None:
    await publish(client, site)
    existing = (await feed(client, site, 1))["events"][0]
    hook = await register_webhook(client, site, URL)
    assert tuple(map(int, hook["cursor"].split("-"))) > tuple(
        map(int, existing["cursor"].split("-"))
    )
    from_start = await register_webhook(client, site, URL, after="0-0")
    assert from_start["cursor"] == "0-0"


async def test_only_the_sites_moderators_see_its_webhooks(
    client: Client,
    site: SiteKeys,
    other_site: SiteKeys,
) -> None:
    hook = await register_webhook(client, site, URL)
    url = f"/v1/webhooks/{hook['id']}"
    for role in ("publisher", "subscriber"):
        assert (await client.get(url, headers=site.auth(role))).status == 403
        assert (
            await client.post("/v1/webhooks", json={"url": URL}, headers=site.auth(role))
        ).status == 403
    assert (await client.get(url)).status == 401
    outsider = other_site.auth("moderator")
    for method, path in [
        ("GET", url),
        ("PATCH", url),
        ("DELETE", url),
        ("GET", f"{url}/deliveries"),
        ("POST", f"{url}/replay"),
        ("POST", f"{url}/secret"),
    ]:
        body = {"after": "0-0"} if path.endswith("replay") else {}
        response = await client.request(method, path, json=body, headers=outsider)
        assert response.status == 404, (method, path, await response.text())
    listed = await (await client.get("/v1/webhooks", headers=outsider)).json()
    assert hook["id"] not in [h["id"] for h in listed["webhooks"]]
    assert (await client.get(url, headers=site.auth("moderator"))).status == 200


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"url": "ftp://example.com/hook"},
        {"url": "http://user:pw@example.com/hook"},
        {"url": URL, "types": ["comment.exploded"]},
        {"url": URL, "types": "comment.posted"},
        {"url": URL, "after": "yesterday"},
        {"url": URL, "status": "active"},
        {"url": URL, "description": "a\u0007b"},
        {"url": "http://169.254.169.254/latest/meta-data/"},
        {"url": "http://[::ffff:169.254.169.254]/"},
        {"url": "http://0.0.0.0:8080/"},
    ],
)
async def test_bad_registrations_are_refused_with_a_problem(
    client: Client,
    site: SiteKeys,
    body: dict[str, Any],
) -> None:
    response = await client.post("/v1/webhooks", json=body, headers=site.auth("moderator"))
    assert response.status == 422, await response.text()
    assert response.content_type == "application/problem+json"


@pytest.fixture
async def strict_client(settings: Settings) -> AsyncIterator[Client]:
    async with serving(settings, webhooks_allow_private=False) as served:
        yield served


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8080/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://[::1]/hook",
        "http://[fd00:ec2::254]/",
        "https://[::ffff:127.0.0.1]/hook",
    ],
)
async def test_private_targets_need_the_setting(
    strict_client: Client,
    site: SiteKeys,
    url: str,
) -> None:
    moderator = site.auth("moderator")
    response = await strict_client.post("/v1/webhooks", json={"url": url}, headers=moderator)
    assert response.status == 422, await response.text()
    assert "THREADLOG_WEBHOOKS_ALLOW_PRIVATE" in (await response.json())["detail"] or "[fd00" in url
    hook = await register_webhook(strict_client, site, "https://93.184.215.14/hook")
    patch = await strict_client.patch(
        f"/v1/webhooks/{hook['id']}", json={"url": url}, headers=moderator
    )
    assert patch.status == 422


async def test_replay_moves_the_checkpoint_and_deliveries_page(
    client: Client,
    site: SiteKeys,
) -> None:
    moderator = site.auth("moderator")
    hook = await register_webhook(client, site, URL)
    url = f"/v1/webhooks/{hook['id']}"
    response = await client.post(f"{url}/replay", json={"after": "12-34"}, headers=moderator)
    assert response.status == 202 and (await response.json())["cursor"] == "12-34"
    bad = await client.post(f"{url}/replay", json={"after": "12"}, headers=moderator)
    assert bad.status == 422
    page = await (await client.get(f"{url}/deliveries", headers=moderator)).json()
    assert page == {"deliveries": [], "next": None}
    for query in ("limit=0", "limit=x", "before=-1", "before=1e3"):
        response = await client.get(f"{url}/deliveries?{query}", headers=moderator)
        assert response.status == 400, query
    unknown = f"/v1/webhooks/{uuid.uuid4()}"
    assert (await client.get(unknown, headers=moderator)).status == 404
    assert (await client.get("/v1/webhooks/not-a-uuid", headers=moderator)).status == 404
