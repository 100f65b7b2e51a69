"""Moderation over HTTP: site settings, the new-comment checks, moderator actions, the queue,
the audit trail, bans, reports, edits, closing threads."""

from collections.abc import AsyncIterator
from typing import Any

import pytest

from service.settings import Settings
from tests.builders import Client, SiteKeys, comment, publish, serving, set_settings, thread
from tests.waiting import feed


async def post(
    client: Client, site: SiteKeys, post_id: str, body: str = "hello", **extra: Any
) -> Any:
    payload = {"author": {"name": extra.pop("name", "Ann")}, "body": body} | extra
    return await client.post(f"/v1/sites/{site.site}/posts/{post_id}/comments", json=payload)


async def act(client: Client, site: SiteKeys, comment_id: str, action: str, **body: Any) -> Any:
    return await client.post(
        f"/v1/sites/{site.site}/comments/{comment_id}/{action}",
        json=body or None,
        headers=site.auth("moderator"),
    )


async def counts(client: Client, site: SiteKeys, post_id: str) -> int:
    response = await client.get(f"/v1/sites/{site.site}/counts", params={"post": post_id})
    body = await response.json()
    count: int = body["counts"][post_id]
    return count


async def queue(client: Client, site: SiteKeys, state: str = "held") -> list[dict[str, Any]]:
    response = await client.get(
        f"/v1/sites/{site.site}/moderation/queue",
        params={"state": state},
        headers=site.auth("moderator"),
    )
    assert response.status == 200, await response.text()
    comments: list[dict[str, Any]] = (await response.json())["comments"]
    return comments


async def test_settings_start_at_the_defaults_and_change_only_what_is_given(
    client: Client, site: SiteKeys
) -> None:
    path = f"/v1/sites/{site.site}/settings"
    response = await client.get(path, headers=site.auth("moderator"))
    assert await response.json() == {
        "premoderation": "off",
        "banned_words": [],
        "suspect_words": [],
        "report_threshold": 3,
        "rate_limit_per_minute": None,
        "edit_window_minutes": 15,
        "close_after_days": None,
        "notify_emails": [],
        "notify_on": "held",
        "notify_digest": False,
        "mail_language": "en",
    }
    changed = await set_settings(client, site, premoderation="links", banned_words=["spam*"])
    assert changed["premoderation"] == "links" and changed["banned_words"] == ["spam*"]
    changed = await set_settings(client, site, report_threshold=2)
    assert changed["premoderation"] == "links" and changed["report_threshold"] == 2
    bad = await client.patch(
        path, json={"premoderation": "sometimes"}, headers=site.auth("moderator")
    )
    assert bad.status == 422


async def test_a_held_comment_is_seen_by_its_author_and_moderators_only(
    client: Client, site: SiteKeys
) -> None:
    post_id = await publish(client, site)
    await set_settings(client, site, premoderation="all")
    response = await post(client, site, post_id, "wait for me")
    assert response.status == 201
    held = await response.json()
    assert held["status"] == "held"
    assert (await thread(client, site, post_id))["comments"] == []
    assert await counts(client, site, post_id) == 0
    path = f"/v1/sites/{site.site}/comments/{held['id']}"
    assert (await client.get(path)).status == 404
    mine = await client.get(path, headers={"X-Delete-Token": held["delete_token"]})
    assert mine.status == 200
    assert (await mine.json())["status"] == "held"
    seen = await client.get(path, headers=site.auth("moderator"))
    assert (await seen.json())["reason"] == "premoderation"
    [queued] = await queue(client, site)
    assert queued["id"] == held["id"] and queued["reason"] == "premoderation"

    approved = await act(client, site, held["id"], "approve")
    assert approved.status == 200 and (await approved.json())["status"] == "published"
    assert [c["id"] for c in (await thread(client, site, post_id))["comments"]] == [held["id"]]
    assert await counts(client, site, post_id) == 1
    assert await queue(client, site) == []
    assert (await act(client, site, held["id"], "approve")).status == 409


async def test_reject_and_restore(client: Client, site: SiteKeys) -> None:
    post_id = await publish(client, site)
    live = await comment(client, site, post_id, "fine")
    rejected = await act(client, site, live["id"], "reject", reason="off-topic")
    assert rejected.status == 200 and (await rejected.json())["status"] == "rejected"
    assert await counts(client, site, post_id) == 0
    assert (await thread(client, site, post_id))["comments"] == []
    assert (await act(client, site, live["id"], "reject", reason="spam")).status == 409
    assert (await act(client, site, live["id"], "reject", reason="rude")).status == 422
    restored = await act(client, site, live["id"], "restore")
    assert (await restored.json())["status"] == "published"
    assert await counts(client, site, post_id) == 1
    deleted = await client.delete(
        f"/v1/sites/{site.site}/comments/{live['id']}", headers=site.auth("moderator")
    )
    assert deleted.status == 204
    assert (await act(client, site, live["id"], "restore")).status == 200
    [back] = (await thread(client, site, post_id))["comments"]
    assert back["body_html"] == "<p>fine</p>" and back["deleted"] is None


async def test_a_hidden_parent_with_a_live_reply_is_a_tombstone(
    client: Client, site: SiteKeys
) -> None:
    post_id = await publish(client, site)
    parent = await comment(client, site, post_id, "parent")
    await comment(client, site, post_id, "reply", parent["id"])
    await act(client, site, parent["id"], "reject", reason="offensive")
    [top] = (await thread(client, site, post_id))["comments"]
    assert top["author"] is None and top["deleted"] == {"by": "moderator"}
    assert len(top["replies"]) == 1
    assert await counts(client, site, post_id) == 1


async def test_bulk_actions_answer_per_comment(client: Client, site: SiteKeys) -> None:
    post_id = await publish(client, site)
    await set_settings(client, site, premoderation="all")
    held = [await (await post(client, site, post_id, f"c{n}")).json() for n in range(3)]
    ids = [c["id"] for c in held]
    response = await client.post(
        f"/v1/sites/{site.site}/moderation/actions",
        json={"action": "approve", "comment_ids": [*ids[:2], "missing"]},
        headers=site.auth("moderator"),
    )
    assert response.status == 200
    results = (await response.json())["results"]
    assert [(r["comment_id"], r["status"]) for r in results] == [
        (ids[0], 200),
        (ids[1], 200),
        ("missing", 404),
    ]
    assert await counts(client, site, post_id) == 2
    rejected = await client.post(
        f"/v1/sites/{site.site}/moderation/actions",
        json={"action": "reject", "comment_ids": ids, "reason": "spam"},
        headers=site.auth("moderator"),
    )
    assert [r["status"] for r in (await rejected.json())["results"]] == [200, 200, 200]
    assert await counts(client, site, post_id) == 0


async def test_the_checks_run_in_order(client: Client, site: SiteKeys) -> None:
    post_id = await publish(client, site)
    await set_settings(
        client, site, banned_words=["viagra*"], suspect_words=["*crypto*"], premoderation="links"
    )
    refused = await post(client, site, post_id, "Cheap VIAGRAS here")
    assert refused.status == 422
    assert "viagra*" in (await refused.json())["detail"]
    honeypot = await post(client, site, post_id, "Cheap viagra", honeypot="x")
    assert honeypot.status == 422  # as without the honeypot: a bot cannot tell
    honeypot = await post(client, site, post_id, "a plain comment", honeypot="x")
    assert honeypot.status == 201 and (await honeypot.json())["status"] == "published"
    suspect = await post(client, site, post_id, "about Bitcrypto coins")
    assert (await suspect.json())["status"] == "held"
    link = await post(client, site, post_id, "see https://spam.example")
    assert (await link.json())["status"] == "held"
    fine = await post(client, site, post_id, "a plain comment")
    assert (await fine.json())["status"] == "published"
    reasons = {c["reason"] for c in await queue(client, site)}
    assert reasons == {"spam", "suspect-word", "links"}


async def test_first_time_authors_wait_for_one_approval(client: Client, site: SiteKeys) -> None:
    post_id = await publish(client, site)
    await set_settings(client, site, premoderation="first-time")
    email = {"name": "Bea", "email": "bea@example.org"}
    path = f"/v1/sites/{site.site}/posts/{post_id}/comments"
    first = await (await client.post(path, json={"author": email, "body": "one"})).json()
    assert first["status"] == "held"
    await act(client, site, first["id"], "approve")
    second = await (await client.post(path, json={"author": email, "body": "two"})).json()
    assert second["status"] == "published"
    assert "email" not in second["author"]


async def test_the_rate_limit_answers_429_with_retry_after(client: Client, site: SiteKeys) -> None:
    post_id = await publish(client, site)
    await set_settings(client, site, rate_limit_per_minute=2)
    statuses = [(await post(client, site, post_id, f"c{n}")).status for n in range(3)]
    assert statuses[:2] == [201, 201]
    limited = await post(client, site, post_id, "one more")
    assert limited.status == 429 and 1 <= int(limited.headers["Retry-After"]) <= 60
    await set_settings(client, site, rate_limit_per_minute=0)
    assert (await post(client, site, post_id, "unlimited")).status == 201


async def test_closed_threads_refuse_comments_until_reopened(
    client: Client, site: SiteKeys
) -> None:
    post_id = await publish(client, site)
    path = f"/v1/sites/{site.site}/posts/{post_id}"
    closed = await client.post(f"{path}/close", headers=site.auth("moderator"))
    assert closed.status == 204
    assert (await post(client, site, post_id)).status == 409
    await client.post(f"{path}/reopen", headers=site.auth("moderator"))
    assert (await post(client, site, post_id)).status == 201
    old = await publish(client, site, published_at="2020-01-01T00:00:00Z")
    await set_settings(client, site, close_after_days=30)
    assert (await post(client, site, old)).status == 409


async def test_bans_refuse_or_hold_and_can_remove_and_be_lifted(
    client: Client, site: SiteKeys
) -> None:
    post_id = await publish(client, site)
    troll = await comment(client, site, post_id, "first", name="Troll")
    await comment(client, site, post_id, "second", name="Troll")
    bans = f"/v1/sites/{site.site}/bans"
    response = await client.post(
        bans,
        json={"comment_id": troll["id"], "match": "name_ip", "remove_comments": True},
        headers=site.auth("moderator"),
    )
    assert response.status == 201, await response.text()
    ban = await response.json()
    assert (await thread(client, site, post_id))["comments"] == []
    assert (await post(client, site, post_id, "again", name="Troll")).status == 403
    assert (await post(client, site, post_id, "hi", name="Someone")).status == 201
    listed = await (await client.get(bans, headers=site.auth("moderator"))).json()
    assert [b["id"] for b in listed["bans"]] == [ban["id"]]
    lifted = await client.delete(f"{bans}/{ban['id']}", headers=site.auth("moderator"))
    assert lifted.status == 204
    assert (
        await client.delete(f"{bans}/{ban['id']}", headers=site.auth("moderator"))
    ).status == 409
    assert (await post(client, site, post_id, "back", name="Troll")).status == 201
    held_ban = await client.post(
        bans,
        json={"comment_id": troll["id"], "match": "ip", "hold": True},
        headers=site.auth("moderator"),
    )
    assert held_ban.status == 201
    assert (await (await post(client, site, post_id, "shh")).json())["status"] == "held"


async def test_reports_count_once_per_client_and_hold_at_the_threshold(
    client: Client, site: SiteKeys
) -> None:
    post_id = await publish(client, site)
    await set_settings(client, site, report_threshold=1)
    live = await comment(client, site, post_id, "rude")
    path = f"/v1/sites/{site.site}/comments/{live['id']}/reports"
    first = await client.post(path, json={"reason": "offensive"})
    assert first.status == 202
    assert (await thread(client, site, post_id))["comments"] == []
    [held] = await queue(client, site)
    assert held["reason"] == "reports" and held["reports"] == 1
    assert (await client.post(path, json={"reason": "offensive"})).status == 404


async def test_a_second_report_from_one_client_counts_nothing(
    client: Client, site: SiteKeys
) -> None:
    post_id = await publish(client, site)
    live = await comment(client, site, post_id, "meh")
    path = f"/v1/sites/{site.site}/comments/{live['id']}/reports"
    for _ in range(3):
        assert (await client.post(path, json={"reason": "spam"})).status == 202
    [reported] = await queue(client, site, "reported")
    assert reported["reports"] == 1


async def test_authors_edit_inside_the_window(client: Client, site: SiteKeys) -> None:
    post_id = await publish(client, site)
    mine = await comment(client, site, post_id, "typo")
    path = f"/v1/sites/{site.site}/comments/{mine['id']}"
    edited = await client.patch(
        path, json={"body": "fixed"}, headers={"X-Delete-Token": mine["delete_token"]}
    )
    assert edited.status == 200, await edited.text()
    [shown] = (await thread(client, site, post_id))["comments"]
    assert shown["body_html"] == "<p>fixed</p>" and shown["edited_at"] is not None
    assert (await client.patch(path, json={"body": "x"})).status == 401
    await set_settings(client, site, edit_window_minutes=0)
    late = await client.patch(
        path, json={"body": "again"}, headers={"X-Delete-Token": mine["delete_token"]}
    )
    assert late.status == 409


async def test_the_audit_lists_who_did_what(client: Client, site: SiteKeys) -> None:
    post_id = await publish(client, site)
    live = await comment(client, site, post_id)
    await act(client, site, live["id"], "reject", reason="spam", detail="bot")
    await act(client, site, live["id"], "restore")
    response = await client.get(
        f"/v1/sites/{site.site}/audit",
        params={"comment": live["id"]},
        headers=site.auth("moderator"),
    )
    events = (await response.json())["events"]
    assert [e["type"] for e in events] == ["comment.restored", "comment.rejected"]
    key_id = site.moderator.split("_")[1]
    assert {e["actor"] for e in events} == {key_id}
    assert events[1]["reason"] == "spam"
    by_actor = await client.get(
        f"/v1/sites/{site.site}/audit", params={"actor": key_id}, headers=site.auth("moderator")
    )
    assert len((await by_actor.json())["events"]) == 2


async def test_malformed_moderation_queries_are_400(client: Client, site: SiteKeys) -> None:
    base = f"/v1/sites/{site.site}"
    for path in (
        f"{base}/audit?cursor=9999999999999999999",
        f"{base}/audit?cursor=abc",
        f"{base}/audit?since=yesterday",
        f"{base}/audit?since=2026-01-01T00:00:00",
        f"{base}/moderation/queue?cursor=%%%",
        f"{base}/moderation/queue?state=maybe",
        f"{base}/moderation/queue?limit=0",
    ):
        response = await client.get(path, headers=site.auth("moderator"))
        assert response.status == 400, path
        assert response.content_type == "application/problem+json"


async def test_the_queue_pages_oldest_first(client: Client, site: SiteKeys) -> None:
    post_id = await publish(client, site)
    await set_settings(client, site, premoderation="all")
    held = [(await (await post(client, site, post_id, f"c{n}")).json())["id"] for n in range(3)]
    seen: list[str] = []
    cursor = None
    for _ in range(3):
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        response = await client.get(
            f"/v1/sites/{site.site}/moderation/queue", params=params, headers=site.auth("moderator")
        )
        page = await response.json()
        seen += [c["id"] for c in page["comments"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == held


async def test_subscribers_see_moderation_events_in_the_feed(
    client: Client, site: SiteKeys
) -> None:
    post_id = await publish(client, site)
    await set_settings(client, site, premoderation="all")
    held = await (await post(client, site, post_id)).json()
    await act(client, site, held["id"], "approve")
    page = await feed(client, site, 5)
    types = [event["type"] for event in page["events"]]
    assert types == [
        "post.published",
        "site.settings_changed",
        "comment.posted",
        "comment.held",
        "comment.approved",
    ]
    assert page["events"][1]["subject"] == "settings"


@pytest.fixture(scope="module")
async def default_client(settings: Settings) -> AsyncIterator[Client]:
    """The service with the shipped limits (the suite's own turns the comment limit off)."""
    async with serving(settings, default_rate_limit_per_minute=5, reports_per_minute=10) as served:
        yield served


async def test_by_default_a_client_may_post_five_comments_a_minute(
    default_client: Client, site: SiteKeys
) -> None:
    post_id = await publish(default_client, site)
    statuses = [(await post(default_client, site, post_id, f"c{n}")).status for n in range(6)]
    if statuses[5] == 201:  # the minute turned between two posts; the next one is counted anew
        statuses = [(await post(default_client, site, post_id, f"d{n}")).status for n in range(6)]
    assert statuses == [201] * 5 + [429]


async def test_reports_are_limited_per_client(default_client: Client, site: SiteKeys) -> None:
    post_id = await publish(default_client, site)
    comments = [await comment(default_client, site, post_id, f"c{n}") for n in range(4)]
    for live in comments[:3]:
        await default_client.post(
            f"/v1/sites/{site.site}/comments/{live['id']}/reports", json={"reason": "spam"}
        )
    statuses = []
    for _ in range(22):  # 25 in all: whichever minute they fall in, one holds 11+
        response = await default_client.post(
            f"/v1/sites/{site.site}/comments/{comments[3]['id']}/reports", json={"reason": "spam"}
        )
        statuses.append(response.status)
    assert 429 in statuses and statuses[0] == 202


async def test_approving_a_reported_comment_dismisses_its_reports(
    client: Client, site: SiteKeys
) -> None:
    post_id = await publish(client, site)
    live = await comment(client, site, post_id, "fine, really")
    await client.post(
        f"/v1/sites/{site.site}/comments/{live['id']}/reports", json={"reason": "offensive"}
    )
    [reported] = await queue(client, site, "reported")
    assert reported["id"] == live["id"] and reported["reports"] == 1
    assert reported["reason"] == "reports"
    dismissed = await act(client, site, live["id"], "approve")
    assert dismissed.status == 200 and (await dismissed.json())["reports"] == 0
    assert await queue(client, site, "reported") == []
    assert await counts(client, site, post_id) == 1
