"""GET /metrics, read by Prometheus' own text parser: what is counted, bounded labels, the token
and the separate port."""

import asyncio
import json
import re
import socket
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from pydantic import SecretStr

from service.settings import Settings
from tests.builders import Client, SiteKeys, comment, publish, register_webhook, serving
from tests.http.test_stream import take


async def scrape(client: Client, **headers: str) -> tuple[str, list[Sample]]:
    response = await client.get("/metrics", headers=headers)
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"].startswith("text/plain")
    text = await response.text()
    samples = [s for family in text_string_to_metric_families(text) for s in family.samples]
    return text, samples


def value(samples: list[Sample], name: str, **labels: str) -> float:
    found = [s.value for s in samples if s.name == name and labels.items() <= s.labels.items()]
    assert found, f"no {name} {labels}"
    return sum(found)


async def test_requests_events_and_batches_are_counted(client: Client, site: SiteKeys) -> None:
    _, before = await scrape(client)
    post_id = await publish(client, site)
    first = await comment(client, site, post_id, "one")
    await comment(client, site, post_id, "two", parent_id=first["id"])
    _, after = await scrape(client)

    def total(samples: list[Sample], name: str, **labels: str) -> float:
        return sum(
            s.value for s in samples if s.name == name and labels.items() <= s.labels.items()
        )

    def grew(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert grew("threadlog_events_appended_total", type="comment.posted") >= 1
    assert grew("threadlog_events_appended_total", type="comment.replied") >= 1
    assert grew("threadlog_events_appended_total", type="post.published") >= 1
    route = "/v1/sites/{site}/posts/{post}/comments"
    assert (
        grew(
            "threadlog_http_request_duration_seconds_count",
            route=route,
            method="POST",
            status="2xx",
        )
        >= 2
    )
    assert grew("threadlog_write_batch_size_count") >= 1
    assert grew("threadlog_write_commit_duration_seconds_count") >= 1
    assert value(after, "threadlog_database_up") == 1
    assert value(after, "threadlog_db_pool_connections") >= 1
    assert any(s.name == "process_cpu_seconds_total" for s in after)


async def test_no_label_carries_ids_paths_or_addresses(client: Client, site: SiteKeys) -> None:
    post_id = await publish(client, site)
    await comment(client, site, post_id, "hello")
    missing = await client.get(f"/v1/sites/{site.site}/posts/nothing-{post_id}/comments")
    assert missing.status == 404
    assert (await client.get(f"/no/such/path/{post_id}")).status == 404
    text, samples = await scrape(client)
    for planted in (site.site, post_id, "127.0.0.1", "no/such"):
        assert planted not in text
    routes = {s.labels["route"] for s in samples if "route" in s.labels}
    assert "unmatched" in routes
    assert all(route == "unmatched" or route.startswith("/") for route in routes)
    statuses = {s.labels["status"] for s in samples if "status" in s.labels}
    assert statuses <= {"1xx", "2xx", "3xx", "4xx", "5xx"}
    assert "4xx" in statuses


async def test_open_live_streams_are_counted_until_they_end(client: Client, site: SiteKeys) -> None:
    post_id = await publish(client, site)
    _, samples = await scrape(client)
    before = value(samples, "threadlog_live_streams", kind="public")
    async with client.get(f"/v1/sites/{site.site}/posts/{post_id}/comments/stream") as response:
        [ready] = await take(response, 1)
        assert ready["event"] == "ready"
        _, samples = await scrape(client)
        assert value(samples, "threadlog_live_streams", kind="public") == before + 1
    for _ in range(100):  # the handler notices the client left at its next wake-up
        _, samples = await scrape(client)
        if value(samples, "threadlog_live_streams", kind="public") == before:
            break
        await asyncio.sleep(0.05)
    assert value(samples, "threadlog_live_streams", kind="public") == before


async def test_a_webhooks_backlog_is_its_sites_events_after_its_checkpoint(
    settings: Settings, site: SiteKeys
) -> None:
    # No dispatcher: nothing is delivered, so every new event of the site waits.
    async with serving(settings, webhooks_dispatch=False, webhooks_allow_private=True) as client:
        hook = await register_webhook(client, site, "http://127.0.0.1:9/hook")
        post_id = await publish(client, site)
        await comment(client, site, post_id, "one")
        await comment(client, site, post_id, "two")
        _, samples = await scrape(client)
        assert value(samples, "threadlog_webhook_backlog_events", webhook=hook["id"]) == 3
        deleted = await client.delete(f"/v1/webhooks/{hook['id']}", headers=site.auth("moderator"))
        assert deleted.status == 204
        _, samples = await scrape(client)
        assert not [s for s in samples if s.labels.get("webhook") == hook["id"]]


async def test_the_token_is_required_when_set(settings: Settings) -> None:
    async with serving(settings, metrics_token=SecretStr("s3cret-token")) as client:
        refused = await client.get("/metrics")
        assert refused.status == 401
        assert refused.headers["Content-Type"] == "application/problem+json"
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer other"})
        assert wrong.status == 401
        text, _ = await scrape(client, Authorization="Bearer s3cret-token")
        assert "threadlog_database_up" in text


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_a_metrics_port_serves_them_apart_from_the_api(settings: Settings) -> None:
    port = free_port()
    async with serving(settings, metrics_port=port, host="127.0.0.1") as client:
        assert (await client.get("/metrics")).status == 404
        await client.get("/healthz")
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/metrics") as response,
        ):
            assert response.status == 200
            text = await response.text()
        samples: list[Any] = [
            s for family in text_string_to_metric_families(text) for s in family.samples
        ]
        assert value(samples, "threadlog_http_request_duration_seconds_count", route="/healthz")


DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


async def test_the_dashboard_and_alerts_use_only_series_the_service_exports(
    client: Client, site: SiteKeys
) -> None:
    dashboard = json.loads((DEPLOY / "grafana/dashboards/threadlog.json").read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    rules = yaml.safe_load((DEPLOY / "prometheus/alerts.yml").read_text())
    expressions += [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    used = {
        name for expr in expressions for name in re.findall(r"\b(?:threadlog|process)_\w+", expr)
    }
    assert len(used) >= 10
    post_id = await publish(client, site)
    await comment(client, site, post_id)
    _, samples = await scrape(client)
    exported = {sample.name for sample in samples}
    # Labelled series with no sample yet (a relay, a webhook) are declared in the HELP lines.
    text = await (await client.get("/metrics")).text()
    declared = set(re.findall(r"^# TYPE (\w+) (\w+)", text, re.MULTILINE))
    for name, kind in declared:
        exported |= {name, f"{name}_total"} if kind == "counter" else {name}
    assert used <= exported, used - exported
