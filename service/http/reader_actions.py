"""Write handlers for readers without a key: reporting a comment, and its author editing it."""

from datetime import UTC, datetime

from aiohttp import web

from service.access import rate_limits
from service.access.credentials import client_hash, sha256
from service.domain.commands import EditComment, ReportComment
from service.domain.errors import RateLimited
from service.http import auth
from service.http.auth import metadata
from service.http.moderation_schemas import EditBody, ReportBody
from service.http.moderation_views import comment_detail
from service.http.parsing import parse_body
from service.http.problems import Problem, unauthorized
from service.http.views import json_response
from service.keys import APPLICATION, POOL, SETTINGS
from service.read import moderation as moderation_reads
from service.write.prechecks import refuse_early
from service.write.rendering import render_markdown


async def post_report(request: web.Request) -> web.Response:
    """Anyone may report a visible comment; a client's repeated reports count once, and each
    client may report a few comments a minute."""
    site_id, comment_id = request.match_info["site"], request.match_info["comment"]
    site = await auth.known_site(request, site_id)
    body = await parse_body(request, ReportBody)
    reporter = client_hash(site.ip_salt, auth.client(request))
    per_minute = request.app[SETTINGS].reports_per_minute
    verdict = await rate_limits.hit(request.app[POOL], site_id, "report", reporter, per_minute)
    if verdict.limited:
        raise RateLimited(
            "too many reports from this client; try again later", verdict.retry_after_seconds
        )
    command = ReportComment(
        site=site_id,
        comment_id=comment_id,
        reason=body.reason,
        detail=body.detail,
        reporter_hash=reporter,
        at=datetime.now(UTC),
    )
    await request.app[APPLICATION].execute(command, metadata(request, site, None))
    return web.Response(status=202)


async def edit_comment(request: web.Request) -> web.Response:
    """The author, with the comment's X-Delete-Token, inside the site's edit window."""
    site_id, comment_id = request.match_info["site"], request.match_info["comment"]
    token = auth.delete_token(request)
    if token is None:
        raise unauthorized("send the comment's X-Delete-Token")
    site = await auth.known_site(request, site_id)
    body = await parse_body(request, EditBody)
    unrendered = EditComment(
        site=site_id,
        comment_id=comment_id,
        body=body.body,
        body_html="",
        delete_token_sha256=sha256(token),
        at=datetime.now(UTC),
    )
    # A wrong token, an unknown comment or a closed window costs no Markdown (prechecks.py).
    await refuse_early(request.app[POOL], unrendered)
    body_html = render_markdown(body.body, request.app[SETTINGS].markdown_max_cost)
    command = unrendered.model_copy(update={"body_html": body_html})
    await request.app[APPLICATION].execute(command, metadata(request, site, None))
    row = await moderation_reads.comment(request.app[POOL], site_id, comment_id)
    if row is None:
        raise Problem(404, f"comment {comment_id!r} does not exist")
    return json_response(comment_detail(row, moderator=False))
