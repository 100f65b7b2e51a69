"""Moderation's read handlers: one comment, the queue, the audit trail. Projection tables only."""

import hmac
from datetime import datetime

from aiohttp import web

from service.access.credentials import Role, delete_token
from service.http import auth
from service.http.cursors import keyset_cursor, parse_keyset_cursor, parse_position
from service.http.moderation_views import audit_view, comment_detail
from service.http.parsing import query_choice, query_int, query_text
from service.http.problems import Problem
from service.http.schemas import utc
from service.http.views import json_response
from service.keys import POOL, SERVER_SECRET
from service.read import moderation as moderation_reads
from service.read.moderation import AuditFilter


async def get_comment(request: web.Request) -> web.Response:
    """Anyone sees a published comment; its author (with its token) and the site's moderators
    see it whatever its status."""
    site_id, comment_id = request.match_info["site"], request.match_info["comment"]
    key = await auth.optional_key(request)
    if key is not None:
        auth.authorize(key, site_id, Role.MODERATOR)
    token = None if key is not None else auth.delete_token(request)
    await auth.known_site(request, site_id)
    row = await moderation_reads.comment(request.app[POOL], site_id, comment_id)
    if token is not None:
        expected = delete_token(await request.app[SERVER_SECRET].get(), site_id, comment_id)
        if not hmac.compare_digest(expected, token):
            raise Problem(403, "the X-Delete-Token does not match this comment")
    elif key is None and row is not None and row["status"] != "published":
        row = None
    if row is None:
        raise Problem(404, f"comment {comment_id!r} does not exist")
    return json_response(comment_detail(row, moderator=key is not None))


async def get_moderation_queue(request: web.Request) -> web.Response:
    """Held comments, or published ones with reports, oldest first, each with its reason."""
    site_id = request.match_info["site"]
    await auth.require_key(request, site_id, Role.MODERATOR)
    state = query_choice(request, "state", ("held", "reported", "all"))
    limit = query_int(request, "limit", 50, 1, 200)
    cursor = query_text(request, "cursor")
    after = parse_keyset_cursor(cursor) if cursor is not None else None
    await auth.known_site(request, site_id)
    rows = await moderation_reads.queue(request.app[POOL], site_id, state, after, limit)
    page = rows[:limit]
    next_cursor = (
        keyset_cursor(page[-1]["status_at"], page[-1]["comment_id"]) if len(rows) > limit else None
    )
    comments = [comment_detail(row, moderator=True) for row in page]
    return json_response({"comments": comments, "next": next_cursor})


async def get_audit(request: web.Request) -> web.Response:
    """Every moderation event, newest first; filter by comment, author key, acting key, time."""
    site_id = request.match_info["site"]
    await auth.require_key(request, site_id, Role.MODERATOR)
    where = AuditFilter(
        comment_id=query_text(request, "comment", 64),
        author_key=query_text(request, "author", 64),
        actor=query_text(request, "actor", 64),
        since=query_time(request, "since"),
        until=query_time(request, "until"),
    )
    limit = query_int(request, "limit", 50, 1, 200)
    cursor = query_text(request, "cursor")
    before = parse_position(cursor) if cursor is not None else None
    await auth.known_site(request, site_id)
    rows = await moderation_reads.audit(request.app[POOL], site_id, where, before, limit)
    page = rows[:limit]
    next_cursor = str(page[-1]["position"]) if len(rows) > limit else None
    return json_response({"events": [audit_view(row) for row in page], "next": next_cursor})


def query_time(request: web.Request, name: str) -> datetime | None:
    text = query_text(request, name, 64)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            raise ValueError(text)
        return utc(moment)
    except ValueError:
        raise Problem(400, f"{name} must be an RFC 3339 date-time with an offset") from None
