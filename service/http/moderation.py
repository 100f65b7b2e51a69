"""Moderators' write handlers: site settings, actions on comments and threads, bans."""

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from service.access.credentials import ApiKey, Role
from service.access.site_settings import SettingsChange
from service.access.sites import Site
from service.domain.commands import (
    ApproveComment,
    BanAuthor,
    ChangeSiteSettings,
    CloseThread,
    Command,
    DeleteComment,
    RejectComment,
    ReopenThread,
    RestoreComment,
    UnbanAuthor,
)
from service.domain.errors import DomainError
from service.domain.events import DeletedBy, RejectReason, SiteSettingsChanged
from service.http import auth
from service.http.auth import metadata
from service.http.moderation_schemas import (
    Action,
    ActionsBody,
    BanBody,
    NoteBody,
    RejectBody,
    ThreadBody,
)
from service.http.moderation_views import ban_view, comment_detail, settings_view
from service.http.parsing import parse_body, parse_json, read_body
from service.http.problems import Problem, invalid
from service.http.views import json_response
from service.keys import APPLICATION, POOL, SITES
from service.read import moderation as moderation_reads


async def moderator(request: web.Request) -> tuple[str, Site, ApiKey]:
    site_id = request.match_info["site"]
    key = await auth.require_key(request, site_id, Role.MODERATOR)
    return site_id, await auth.known_site(request, site_id), key


async def get_site_settings(request: web.Request) -> web.Response:
    site_id, _, _ = await moderator(request)
    return json_response(settings_view(await moderation_reads.settings(request.app[POOL], site_id)))


async def patch_site_settings(request: web.Request) -> web.Response:
    site_id, site, key = await moderator(request)
    body = await parse_body(request, SettingsChange)
    command = ChangeSiteSettings(site=site_id, changes=body.changes())
    outcome = await request.app[APPLICATION].execute(command, metadata(request, site, key))
    request.app[SITES].forget(site_id)
    changed = [e.event for e in outcome.events if isinstance(e.event, SiteSettingsChanged)]
    if changed:
        return json_response(settings_view(changed[-1].settings))
    settings = await moderation_reads.settings(request.app[POOL], site_id)
    return json_response(settings_view(settings))


async def optional_note(request: web.Request) -> str | None:
    raw = await read_body(request, required=False)
    return parse_json(NoteBody, raw).reason if raw else None


async def answer_with_comment(request: web.Request, site_id: str, comment_id: str) -> web.Response:
    row = await moderation_reads.comment(request.app[POOL], site_id, comment_id)
    if row is None:
        raise Problem(404, f"comment {comment_id!r} does not exist")
    return json_response(comment_detail(row, moderator=True))


async def approve_comment(request: web.Request) -> web.Response:
    return await noted_action(request, ApproveComment)


async def reject_comment(request: web.Request) -> web.Response:
    site_id, site, key = await moderator(request)
    comment_id = request.match_info["comment"]
    body = await parse_body(request, RejectBody)
    command = RejectComment(
        site=site_id,
        comment_id=comment_id,
        reason=body.reason,
        detail=body.detail,
        at=datetime.now(UTC),
    )
    await request.app[APPLICATION].execute(command, metadata(request, site, key))
    return await answer_with_comment(request, site_id, comment_id)


async def restore_comment(request: web.Request) -> web.Response:
    return await noted_action(request, RestoreComment)


async def noted_action(
    request: web.Request, command_type: type[ApproveComment] | type[RestoreComment]
) -> web.Response:
    """Approving and restoring take the same request: an optional note."""
    site_id, site, key = await moderator(request)
    comment_id = request.match_info["comment"]
    reason = await optional_note(request)
    command = command_type(site=site_id, comment_id=comment_id, reason=reason, at=datetime.now(UTC))
    await request.app[APPLICATION].execute(command, metadata(request, site, key))
    return await answer_with_comment(request, site_id, comment_id)


def action_command(site: str, comment_id: str, body: ActionsBody, at: datetime) -> Command:
    match body.action:
        case Action.APPROVE:
            return ApproveComment(site=site, comment_id=comment_id, reason=body.reason, at=at)
        case Action.REJECT:
            reason = RejectReason(body.reason or RejectReason.OTHER)
            return RejectComment(site=site, comment_id=comment_id, reason=reason, at=at)
        case Action.RESTORE:
            return RestoreComment(site=site, comment_id=comment_id, reason=body.reason, at=at)
        case Action.DELETE:
            return DeleteComment(
                site=site,
                comment_id=comment_id,
                by=DeletedBy.MODERATOR,
                reason=body.reason,
                delete_token_sha256=None,
            )


async def post_moderation_actions(request: web.Request) -> web.Response:
    """One action on many comments; each succeeds or fails alone (they share write batches)."""
    site_id, site, key = await moderator(request)
    body = await parse_body(request, ActionsBody)
    if body.action is Action.REJECT and body.reason not in set(RejectReason):
        choices = ", ".join(reason.value for reason in RejectReason)
        raise invalid("reason", f"rejecting needs one of {choices}")
    at, meta = datetime.now(UTC), metadata(request, site, key)
    comment_ids = list(dict.fromkeys(body.comment_ids))
    application = request.app[APPLICATION]
    outcomes = await asyncio.gather(
        *(
            application.execute(action_command(site_id, comment_id, body, at), meta)
            for comment_id in comment_ids
        ),
        return_exceptions=True,
    )
    results: list[dict[str, Any]] = []
    for comment_id, outcome in zip(comment_ids, outcomes, strict=True):
        if isinstance(outcome, DomainError):
            results.append(
                {"comment_id": comment_id, "status": outcome.status, "detail": outcome.detail}
            )
        elif isinstance(outcome, BaseException):
            raise outcome
        else:
            results.append({"comment_id": comment_id, "status": 200, "detail": None})
    return json_response({"action": body.action.value, "results": results})


async def thread_action(request: web.Request, close: bool) -> web.Response:
    site_id, site, key = await moderator(request)
    post_id = request.match_info["post"]
    raw = await read_body(request, required=False)
    reason = parse_json(ThreadBody, raw).reason if raw else None
    command_type = CloseThread if close else ReopenThread
    command = command_type(site=site_id, post_id=post_id, reason=reason)
    await request.app[APPLICATION].execute(command, metadata(request, site, key))
    return web.Response(status=204)


async def close_thread(request: web.Request) -> web.Response:
    return await thread_action(request, close=True)


async def reopen_thread(request: web.Request) -> web.Response:
    return await thread_action(request, close=False)


async def post_ban(request: web.Request) -> web.Response:
    site_id, site, key = await moderator(request)
    body = await parse_body(request, BanBody)
    now = datetime.now(UTC)
    if body.expires_at is not None and body.expires_at <= now:
        raise invalid("expires_at", "must be in the future")
    ban_id = str(uuid.uuid4())
    command = BanAuthor(
        site=site_id,
        ban_id=ban_id,
        comment_id=body.comment_id,
        match=body.match,
        expires_at=body.expires_at,
        hold=body.hold,
        remove_comments=body.remove_comments,
        reason=body.reason,
        at=now,
    )
    await request.app[APPLICATION].execute(command, metadata(request, site, key))
    created = await moderation_reads.ban(request.app[POOL], site_id, ban_id)
    headers = {"Location": f"/v1/sites/{site_id}/bans/{ban_id}"}
    return json_response(ban_view(created), status=201, headers=headers)


async def get_bans(request: web.Request) -> web.Response:
    site_id, _, _ = await moderator(request)
    rows = await moderation_reads.bans(request.app[POOL], site_id)
    return json_response({"bans": [ban_view(row) for row in rows]})


async def delete_ban(request: web.Request) -> web.Response:
    site_id, site, key = await moderator(request)
    reason = await optional_note(request)
    command = UnbanAuthor(
        site=site_id, ban_id=request.match_info["ban"], reason=reason, at=datetime.now(UTC)
    )
    await request.app[APPLICATION].execute(command, metadata(request, site, key))
    return web.Response(status=204)
