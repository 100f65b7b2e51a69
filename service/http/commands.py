"""Write handlers: parse, build one command, execute it, shape one response."""

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from aiohttp import web

from service.access.credentials import Role, delete_token, sha256
from service.access.sites import Site
from service.domain.commands import DeleteComment, DeletePost, PublishPost
from service.domain.events import Author, CommentHeld, CommentStatus, DeletedBy, NewComment
from service.domain.labels import unique_labels
from service.domain.policy import SiteSettings
from service.eventstore.cloudevents import format_time
from service.http import auth
from service.http.auth import metadata
from service.http.parsing import parse_body, parse_json, read_body
from service.http.problems import Problem, unauthorized
from service.http.schemas import CommentBody, DeleteBody, PostBody
from service.http.views import json_response, new_comment_view, post_view
from service.keys import APPLICATION, POOL, SERVER_SECRET, SETTINGS
from service.read import moderation as moderation_reads
from service.read import threads
from service.subscriptions.mail import readers
from service.write.batches import Outcome
from service.write.comments import Submission, comment_command
from service.write.erasure_requests import email_hash
from service.write.idempotency import Idempotency

IDEMPOTENCY_KEY_MAX = 255


async def put_post(request: web.Request) -> web.Response:
    site_id, post_id = request.match_info["site"], request.match_info["post"]
    key = await auth.require_key(request, site_id, Role.PUBLISHER, Role.MODERATOR)
    site = await auth.known_site(request, site_id)
    body = await parse_body(request, PostBody)
    command = PublishPost(
        site=site_id,
        post_id=post_id,
        title=body.title,
        url=body.url,
        labels=unique_labels(body.labels),
        published_at=body.published_at,
        at=datetime.now(UTC),
    )
    outcome = await request.app[APPLICATION].execute(command, metadata(request, site, key))
    created = any(recorded.type == "post.published" for recorded in outcome.events)
    row = await threads.post(request.app[POOL], site_id, post_id)
    headers = {"Location": request.path} if created else None
    return json_response(post_view(row), status=201 if created else 200, headers=headers)


async def delete_post(request: web.Request) -> web.Response:
    site_id, post_id = request.match_info["site"], request.match_info["post"]
    key = await auth.require_key(request, site_id, Role.MODERATOR)
    site = await auth.known_site(request, site_id)
    command = DeletePost(site=site_id, post_id=post_id)
    await request.app[APPLICATION].execute(command, metadata(request, site, key))
    return web.Response(status=204)


async def post_comment(request: web.Request) -> web.Response:
    site = await auth.known_site(request, request.match_info["site"])
    raw = await read_body(request)
    body = parse_json(CommentBody, raw)
    token_secret = await request.app[SERVER_SECRET].get()
    new = await comment_command(
        request.app[POOL],
        site,
        submission(body, request.match_info["post"]),
        auth.client(request),
        token_secret,
        request.app[SETTINGS].default_rate_limit_per_minute,
        datetime.now(UTC),
        request.app[SETTINGS].markdown_max_cost,
    )
    command = new.command
    meta = metadata(request, site, None)
    # The key is the author's client's (its salted IP hash): the same key from another client
    # is another request, so a replay hands the delete token only to whom it first went.
    idempotency = idempotency_of(request, raw, caller=f"ip:{command.author_ip_hash}")
    outcome = await request.app[APPLICATION].execute(command, meta, idempotency)
    if body.notify and body.author.email and request.app[SETTINGS].mail_enabled():
        await follow_replies(request, site, body, outcome)
    known = {command.comment_id: new.delete_token}
    return created_comment(outcome, token_secret, site.edit_window_minutes, known)


async def follow_replies(
    request: web.Request, site: Site, body: CommentBody, outcome: Outcome
) -> None:
    """Mail the author replies to the new comment (after a confirmation: see readers.py)."""
    event = outcome.events[0].event
    assert isinstance(event, NewComment) and body.author.email is not None
    language: str | None = body.language
    if language is None:
        language = (await moderation_reads.settings(request.app[POOL], site.site)).mail_language
    await readers.subscribe(
        request.app[POOL],
        site.site,
        email_hash(site, body.author.email),
        body.author.email,
        language,
        event.comment_id,
        event.post_id,
        request.app[SETTINGS].mail_link_days,
    )


def submission(body: CommentBody, post_id: str) -> Submission:
    return Submission(
        post_id=post_id,
        parent_id=body.parent_id,
        author=Author(name=body.author.name, website=body.author.website),
        email=body.author.email,
        body=body.body,
        honeypot=bool(body.honeypot),
    )


def created_comment(
    outcome: Outcome,
    token_secret: bytes,
    edit_window_minutes: int | None,
    known_tokens: Mapping[str, str] | None = None,
) -> web.Response:
    """The new comment, or on a replay the first request's, with its delete token (derived,
    never stored: a replay hands out the same one again; `known_tokens`, comment id -> token,
    are those derived already) and, while the site allows edits, until when its author may
    edit it."""
    event = outcome.events[0].event
    assert isinstance(event, NewComment)
    view = new_comment_view(event, answered_status(outcome).value)
    token = (known_tokens or {}).get(event.comment_id)
    if token is None:
        token = delete_token(token_secret, event.site, event.comment_id)
    view["delete_token"] = token
    if edit_window_minutes is None:
        edit_window_minutes = SiteSettings().edit_window_minutes
    if edit_window_minutes > 0:
        until = event.created_at + timedelta(minutes=edit_window_minutes)
        view["editable_until"] = format_time(until)
    # The comment's own resource (GET .../comments/{comment}), not its place in the thread.
    headers = {"Location": f"/v1/sites/{event.site}/comments/{event.comment_id}"}
    if outcome.replayed:
        headers["Idempotent-Replayed"] = "true"
    return json_response(view, status=201, headers=headers)


def answered_status(outcome: Outcome) -> CommentStatus:
    """`held` when the checks held the comment, else `published`; a comment whose honeypot
    was filled is held, and answers what its hold event says it was told (see screen())."""
    for recorded in outcome.events:
        if isinstance(recorded.event, CommentHeld):
            return recorded.event.answered or CommentStatus.HELD
    return CommentStatus.PUBLISHED


def idempotency_of(request: web.Request, raw: bytes, caller: str) -> Idempotency | None:
    """The request's Idempotency-Key, scoped to its route and its `caller` (`key:<key id>` or
    `ip:<the client's salted hash>`): keys of different callers never meet."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 1 <= len(key) <= IDEMPOTENCY_KEY_MAX or not all(33 <= ord(c) <= 126 for c in key):
        raise Problem(400, "Idempotency-Key must be 1 to 255 printable ASCII characters")
    scope = f"{request.method} {request.path}\n{caller}"
    return Idempotency.of(scope, key, hashlib.sha256(raw).digest())


async def delete_comment(request: web.Request) -> web.Response:
    site_id, comment_id = request.match_info["site"], request.match_info["comment"]
    key = await auth.optional_key(request)
    token = auth.delete_token(request)
    if key is None and token is None:
        raise unauthorized("send the comment's X-Delete-Token or a moderator key")
    if key is not None:
        auth.authorize(key, site_id, Role.MODERATOR)
    site = await auth.known_site(request, site_id)
    raw = await read_body(request, required=False)
    reason = parse_json(DeleteBody, raw).reason if raw else None
    command = DeleteComment(
        site=site_id,
        comment_id=comment_id,
        by=DeletedBy.MODERATOR if key else DeletedBy.AUTHOR,
        reason=reason,
        delete_token_sha256=sha256(token) if token and not key else None,
    )
    await request.app[APPLICATION].execute(command, metadata(request, site, key))
    return web.Response(status=204)
