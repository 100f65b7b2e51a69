"""The permission matrix: every endpoint x every kind of caller -> the status it must get, and
nothing of one site ever seen through another site's key."""

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from tests.builders import Client, SiteKeys, comment, make_site, publish

ROLES = ("none", "token", "publisher", "moderator", "subscriber", "other")


@dataclass
class Target:
    """What one call acts on, made fresh for it: a post, a published, a held and a deleted
    comment (with their tokens), and a ban."""

    post: str
    live: dict[str, Any]
    held: dict[str, Any]
    deleted: dict[str, Any]
    ban: str


Path = Callable[[str, Target], str]


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: Path
    # Expected status per role; a role not named gets `default`.
    expected: dict[str, int]
    body: Any = None
    # Whose token the `token` role sends.
    token_of: str = "live"


def moderator_only(success: int) -> dict[str, int]:
    return {"none": 401, "token": 401, "publisher": 403, "moderator": success,
            "subscriber": 403, "other": 403}  # fmt: skip


def anyone(success: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, success)


def site_path(suffix: str) -> Path:
    def path(site: str, target: Target) -> str:
        return f"/v1/sites/{site}/" + suffix.format(
            post=target.post,
            live=target.live["id"],
            held=target.held["id"],
            deleted=target.deleted["id"],
            ban=target.ban,
        )

    return path


ENDPOINTS = [
    Endpoint("put_post", "PUT", lambda site, t: f"/v1/sites/{site}/posts/{secrets.token_hex(4)}",
             {"none": 401, "token": 401, "publisher": 201, "moderator": 201, "subscriber": 403,
              "other": 403},
             {"title": "T", "url": "https://blog.example/t"}),
    Endpoint("get_post", "GET", site_path("posts/{post}"), anyone(200)),
    Endpoint("delete_post", "DELETE", site_path("posts/{post}"),
             {"none": 401, "token": 401, "publisher": 403, "moderator": 204, "subscriber": 403,
              "other": 403}),
    Endpoint("post_comment", "POST", site_path("posts/{post}/comments"), anyone(201),
             {"author": {"name": "Ann"}, "body": "hi"}),
    Endpoint("get_thread", "GET", site_path("posts/{post}/comments"), anyone(200)),
    Endpoint("delete_comment", "DELETE", site_path("comments/{live}"),
             {"none": 401, "token": 204, "publisher": 403, "moderator": 204, "subscriber": 403,
              "other": 403}),
    Endpoint("get_labels", "GET", site_path("labels"), anyone(200)),
    Endpoint("get_label_posts", "GET", site_path("labels/news/posts"), anyone(200)),
    Endpoint("get_counts", "GET", site_path("counts?post={post}"), anyone(200)),
    Endpoint("get_events", "GET", lambda site, t: "/v1/events",
             {"none": 401, "token": 401, "publisher": 403, "moderator": 200, "subscriber": 200,
              "other": 200}),
    Endpoint("get_event_stream", "GET", lambda site, t: "/v1/events/stream",
             {"none": 401, "token": 401, "publisher": 403, "moderator": 200, "subscriber": 200,
              "other": 200}),
    Endpoint("get_health", "GET", lambda site, t: "/healthz", anyone(200)),
    Endpoint("get_ready", "GET", lambda site, t: "/readyz", anyone(200)),
    Endpoint("get_metrics", "GET", lambda site, t: "/metrics", anyone(200)),
    Endpoint("get_openapi", "GET", lambda site, t: "/openapi.yaml", anyone(200)),
    Endpoint("get_problem_type", "GET", lambda site, t: "/problems/not-found", anyone(200)),
    # --- moderation ---
    Endpoint("get_site_settings", "GET", site_path("settings"), moderator_only(200)),
    Endpoint("patch_site_settings", "PATCH", site_path("settings"), moderator_only(200),
             {"report_threshold": 3}),
    Endpoint("get_comment", "GET", site_path("comments/{held}"),
             {"none": 404, "token": 200, "publisher": 403, "moderator": 200, "subscriber": 403,
              "other": 403}, token_of="held"),
    Endpoint("get_comment (published)", "GET", site_path("comments/{live}"),
             {"none": 200, "token": 200, "publisher": 403, "moderator": 200, "subscriber": 403,
              "other": 403}),
    Endpoint("edit_comment", "PATCH", site_path("comments/{live}"),
             {"none": 401, "token": 200, "publisher": 401, "moderator": 401, "subscriber": 401,
              "other": 401}, {"body": "edited"}),
    Endpoint("approve_comment", "POST", site_path("comments/{held}/approve"),
             moderator_only(200), token_of="held"),
    Endpoint("reject_comment", "POST", site_path("comments/{live}/reject"),
             moderator_only(200), {"reason": "spam"}),
    Endpoint("restore_comment", "POST", site_path("comments/{deleted}/restore"),
             moderator_only(200), token_of="deleted"),
    Endpoint("post_report", "POST", site_path("comments/{live}/reports"), anyone(202),
             {"reason": "spam"}),
    Endpoint("post_moderation_actions", "POST", site_path("moderation/actions"),
             moderator_only(200), {"action": "approve", "comment_ids": ["x"]}),
    Endpoint("get_moderation_queue", "GET", site_path("moderation/queue?state=all"),
             moderator_only(200)),
    Endpoint("get_audit", "GET", site_path("audit"), moderator_only(200)),
    Endpoint("get_bans", "GET", site_path("bans"), moderator_only(200)),
    Endpoint("post_ban", "POST", site_path("bans"), moderator_only(201)),
    Endpoint("delete_ban", "DELETE", site_path("bans/{ban}"), moderator_only(204)),
    Endpoint("close_thread", "POST", site_path("posts/{post}/close"), moderator_only(204)),
    Endpoint("reopen_thread", "POST", site_path("posts/{post}/reopen"), moderator_only(204)),
]  # fmt: skip


@pytest.fixture(scope="module")
async def sites(pool: asyncpg.Pool) -> tuple[SiteKeys, SiteKeys]:
    return await make_site(pool), await make_site(pool)


async def prepare(client: Client, site: SiteKeys) -> Target:
    post_id = await publish(client, site, labels=["news"])
    live = await comment(client, site, post_id, "live")
    path = f"/v1/sites/{site.site}/posts/{post_id}/comments"
    held_response = await client.post(
        path, json={"author": {"name": "Ann"}, "body": "held", "honeypot": "bot"}
    )
    held = await held_response.json()
    # Held as spam, and answered as if published (see test_honeypot.py).
    assert held["status"] == "published"
    deleted = await comment(client, site, post_id, "deleted")
    response = await client.delete(
        f"/v1/sites/{site.site}/comments/{deleted['id']}", headers=site.auth("moderator")
    )
    assert response.status == 204
    troll = await comment(client, site, post_id, "troll", name=f"Troll {secrets.token_hex(3)}")
    response = await client.post(
        f"/v1/sites/{site.site}/bans",
        json={"comment_id": troll["id"], "match": "name_ip"},
        headers=site.auth("moderator"),
    )
    assert response.status == 201
    ban = (await response.json())["id"]
    return Target(post_id, live, held, deleted, ban)


def headers_for(role: str, site: SiteKeys, other: SiteKeys, token: str) -> dict[str, str]:
    match role:
        case "none":
            return {}
        case "token":
            return {"X-Delete-Token": token}
        case "other":
            return other.auth("moderator")
        case _:
            return site.auth(role)


async def body_for(endpoint: Endpoint, client: Client, site: SiteKeys) -> Any:
    if endpoint.name != "post_ban":
        return endpoint.body
    post_id = await publish(client, site)
    troll = await comment(client, site, post_id, "troll", name=f"Troll {secrets.token_hex(3)}")
    return {"comment_id": troll["id"], "match": "name_ip"}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda endpoint: endpoint.name)
async def test_every_endpoint_answers_every_caller_as_expected(
    client: Client, sites: tuple[SiteKeys, SiteKeys], endpoint: Endpoint, role: str
) -> None:
    site, other = sites
    target = await prepare(client, site)
    token = getattr(target, endpoint.token_of)["delete_token"]
    response = await client.request(
        endpoint.method,
        endpoint.path(site.site, target),
        json=await body_for(endpoint, client, site),
        headers=headers_for(role, site, other, token),
    )
    if endpoint.name == "get_event_stream" and response.status == 200:
        # A live stream never ends: its headers are the answer.
        assert endpoint.expected[role] == 200
        assert response.content_type == "text/event-stream"
        response.close()
        return
    assert response.status == endpoint.expected[role], await response.text()
    if response.status >= 400:
        assert response.content_type == "application/problem+json"
    text = await response.text()
    if role == "other" and endpoint.name == "get_events":
        # Another site's key reads its own site's events, never these.
        assert site.site not in text
    if response.status in (401, 403, 404):
        # A refusal names what the request named at most: no held text, no token.
        path = endpoint.path(site.site, target)
        secrets_ = [target.held["body_html"], token]
        if target.held["id"] not in path:
            secrets_.append(target.held["id"])
        for secret in secrets_:
            assert secret not in text


async def test_another_sites_moderator_reads_nothing_of_this_one(
    client: Client, sites: tuple[SiteKeys, SiteKeys]
) -> None:
    site, other = sites
    target = await prepare(client, site)
    for suffix in ("moderation/queue?state=all", "audit", "bans", "settings"):
        own = await client.get(f"/v1/sites/{other.site}/{suffix}", headers=other.auth("moderator"))
        assert own.status == 200
        text = await own.text()
        for secret in (target.held["id"], target.live["id"], target.ban, site.site):
            assert secret not in text
