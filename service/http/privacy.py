"""Erasure and export of one person's comments (GDPR articles 17, 15 and 20): by a moderator
(an email, or a comment of theirs) or by the author, with the delete tokens they hold."""

from datetime import UTC, datetime
from typing import Annotated, Any, Self

from aiohttp import web
from pydantic import Field, StringConstraints, TypeAdapter, ValidationError, model_validator

from service.access.credentials import Role, sha256
from service.domain.events import ErasureRequester
from service.eventstore.cloudevents import format_time
from service.http import auth
from service.http.auth import metadata
from service.http.parsing import parse_body
from service.http.problems import invalid
from service.http.schemas import Body, CommentId, Email
from service.http.views import json_response
from service.keys import APPLICATION, POOL, SETTINGS
from service.ops import ledger
from service.read import authors
from service.write.erasure_requests import email_hash, erase, erase_author

EMAIL: TypeAdapter[str] = TypeAdapter(Email)
DeleteToken = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{43}$")]


class HeldComment(Body):
    comment_id: CommentId
    delete_token: DeleteToken


HeldComments = Annotated[list[HeldComment], Field(min_length=1, max_length=500)]


class ErasureBody(Body):
    email: Email | None = None
    comment_id: CommentId | None = None
    comments: HeldComments | None = None

    @model_validator(mode="after")
    def one_way(self) -> Self:
        given = self.model_fields_set
        if len(given) != 1 or getattr(self, next(iter(given))) is None:
            raise ValueError("give exactly one of email, comment_id or comments")
        return self


class ExportBody(Body):
    comments: HeldComments


async def post_erasure(request: web.Request) -> web.Response:
    """202 with what was erased. Tokens need no key; an email or a comment needs a moderator's."""
    site_id = request.match_info["site"]
    key = None
    body = await parse_body(request, ErasureBody)
    if body.comments is None:
        key = await auth.require_key(request, site_id, Role.MODERATOR)
    site = await auth.known_site(request, site_id)
    held = [(c.comment_id, c.delete_token) for c in body.comments or []]
    command = erase_author(
        site,
        ErasureRequester.AUTHOR if held else ErasureRequester.MODERATOR,
        email=body.email,
        comment_id=body.comment_id,
        tokens=held,
    )
    answer = await erase(request.app[APPLICATION], command, metadata(request, site, key))
    await ledger.record(request.app[POOL], request.app[SETTINGS].ledger_path())
    return json_response(answer, status=202)


async def get_author_export(request: web.Request) -> web.Response:
    site_id = request.match_info["site"]
    await auth.require_key(request, site_id, Role.MODERATOR)
    site = await auth.known_site(request, site_id)
    try:
        email = EMAIL.validate_python(request.query.get("email", ""))
    except ValidationError:
        raise invalid("email", "give the email address the comments were written with") from None
    found = await authors.by_email(request.app[POOL], site_id, email_hash(site, email))
    comments = await authors.export(request.app[POOL], site_id, found)
    return json_response(document(site_id, comments, {"email": email}))


async def post_author_export(request: web.Request) -> web.Response:
    """The author's own export: the comments whose delete tokens they hold."""
    site_id = request.match_info["site"]
    await auth.known_site(request, site_id)
    body = await parse_body(request, ExportBody)
    tokens = [(c.comment_id, sha256(c.delete_token)) for c in body.comments]
    found = await authors.proven(request.app[POOL], site_id, tokens)
    comments = await authors.export(request.app[POOL], site_id, found)
    return json_response(document(site_id, comments, None))


def document(site: str, comments: list[dict[str, Any]], author: Any) -> dict[str, Any]:
    return {
        "format": authors.FORMAT,
        "site": site,
        "exported_at": format_time(datetime.now(UTC)),
        "author": author,
        "comments": comments,
    }
