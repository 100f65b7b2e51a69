"""/v1/webhooks: a site's moderators register, inspect, pause, replay and remove webhooks.

The key's site owns every webhook it registers; another site's webhook answers 404, as if it
did not exist.
"""

import uuid
from typing import Any

from aiohttp import web

from service.access.credentials import Role
from service.eventstore import store
from service.eventstore.cloudevents import format_time
from service.eventstore.cursors import Cursor
from service.http.auth import require_key
from service.http.cursors import parse_position
from service.http.parsing import parse_body, query_int, query_text
from service.http.problems import Problem
from service.http.schemas import ReplayBody, WebhookBody, WebhookChangeBody
from service.http.views import json_response
from service.keys import POOL, SERVER_SECRET, SETTINGS, WAKEUP
from service.subscriptions import webhooks
from service.subscriptions.targets import ForbiddenTarget, check_target
from service.subscriptions.webhooks import Webhook, WebhookStatus


def webhook_view(hook: Webhook) -> dict[str, Any]:
    return {
        "id": str(hook.webhook_id),
        "url": hook.url,
        "types": list(hook.types),
        "description": hook.description,
        "status": hook.status.value,
        "cursor": str(hook.cursor),
        "attempts": hook.attempts,
        "failing_since": format_time(hook.failing_since) if hook.failing_since else None,
        "next_attempt_at": format_time(hook.next_attempt_at) if hook.next_attempt_at else None,
        "last_error": hook.last_error,
        "created_at": format_time(hook.created_at),
        "updated_at": format_time(hook.updated_at),
        "previous_secret_until": (
            format_time(hook.previous_secret_until) if hook.previous_secret_until else None
        ),
    }


async def with_secret(request: web.Request, hook: Webhook) -> dict[str, Any]:
    server_secret = await request.app[SERVER_SECRET].get()
    secret = webhooks.signing_secret(server_secret, hook.webhook_id, hook.secret_salt)
    return webhook_view(hook) | {"secret": webhooks.secret_text(secret)}


async def moderator_site(request: web.Request) -> str:
    return (await require_key(request, None, Role.MODERATOR)).site


def webhook_id(request: web.Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info["webhook"])
    except ValueError:
        raise Problem(404, "no such webhook") from None


def found(hook: Webhook | None) -> Webhook:
    if hook is None:
        raise Problem(404, "no such webhook")
    return hook


async def reachable(request: web.Request, url: str) -> None:
    try:
        await check_target(url, request.app[SETTINGS].webhooks_allow_private)
    except ForbiddenTarget as refused:
        errors = [{"loc": ["url"], "msg": str(refused), "type": "forbidden_target"}]
        raise Problem(422, f"url: {refused}", errors=errors) from None


def changed(request: web.Request) -> None:
    # Dispatchers here and elsewhere look again at once rather than at their next poll.
    request.app[WAKEUP].committed()


async def post_webhook(request: web.Request) -> web.Response:
    site = await moderator_site(request)
    body = await parse_body(request, WebhookBody)
    await reachable(request, body.url)
    pool = request.app[POOL]
    after = Cursor.parse(body.after) if body.after is not None else await store.head(pool)
    most = request.app[SETTINGS].max_webhooks_per_site
    hook = await webhooks.create(pool, site, body.url, body.types, body.description, after, most)
    if hook is None:
        raise Problem(
            409,
            f"this site has {most} webhooks, the most it may have"
            " (THREADLOG_MAX_WEBHOOKS_PER_SITE); delete one first",
            slug="too-many-webhooks",
            title="Too many webhooks",
        )
    changed(request)
    location = request.app.router["get_webhook"].url_for(webhook=str(hook.webhook_id))
    return json_response(
        await with_secret(request, hook), status=201, headers={"Location": str(location)}
    )


async def get_webhooks(request: web.Request) -> web.Response:
    site = await moderator_site(request)
    hooks = await webhooks.listing(request.app[POOL], site)
    return json_response({"webhooks": [webhook_view(hook) for hook in hooks]})


async def get_webhook(request: web.Request) -> web.Response:
    site = await moderator_site(request)
    hook = found(await webhooks.find(request.app[POOL], site, webhook_id(request)))
    return json_response(webhook_view(hook))


async def patch_webhook(request: web.Request) -> web.Response:
    site = await moderator_site(request)
    body = await parse_body(request, WebhookChangeBody)
    if body.url is not None:
        await reachable(request, body.url)
    status = WebhookStatus(body.status) if body.status is not None else None
    hook = await webhooks.change(
        request.app[POOL], site, webhook_id(request), body.url, body.types, body.description, status
    )
    changed(request)
    return json_response(webhook_view(found(hook)))


async def delete_webhook(request: web.Request) -> web.Response:
    site = await moderator_site(request)
    if not await webhooks.remove(request.app[POOL], site, webhook_id(request)):
        raise Problem(404, "no such webhook")
    return web.Response(status=204)


async def post_webhook_replay(request: web.Request) -> web.Response:
    site = await moderator_site(request)
    body = await parse_body(request, ReplayBody)
    after = Cursor.parse(body.after)
    hook = await webhooks.replay(request.app[POOL], site, webhook_id(request), after)
    changed(request)
    return json_response(webhook_view(found(hook)), status=202)


async def post_webhook_secret(request: web.Request) -> web.Response:
    site = await moderator_site(request)
    overlap = request.app[SETTINGS].webhook_secret_overlap_hours
    hook = await webhooks.rotate_secret(request.app[POOL], site, webhook_id(request), overlap)
    return json_response(await with_secret(request, found(hook)))


async def get_webhook_deliveries(request: web.Request) -> web.Response:
    site = await moderator_site(request)
    limit = query_int(request, "limit", 50, 1, 200)
    before_text = query_text(request, "before")
    before = parse_position(before_text) if before_text is not None else None
    pool = request.app[POOL]
    hook = found(await webhooks.find(pool, site, webhook_id(request)))
    rows = await webhooks.deliveries(pool, hook.webhook_id, before, limit)
    items = [delivery_view(row) for row in rows]
    next_before = str(rows[-1]["delivery_id"]) if len(rows) == limit else None
    return json_response({"deliveries": items, "next": next_before})


def delivery_view(row: Any) -> dict[str, Any]:
    return {
        "id": str(row["delivery_id"]),
        "event_id": str(row["event_id"]),
        "event_type": row["event_type"],
        "cursor": row["cursor"],
        "attempt": row["attempt"],
        "status": "succeeded" if row["succeeded"] else "failed",
        "status_code": row["status_code"],
        "latency_ms": row["latency_ms"],
        "error": row["error"],
        "attempted_at": format_time(row["attempted_at"]),
    }
