"""Erasure and export requests from outside: an email or a comment (a moderator, an operator)
or the delete tokens an author holds, turned into an EraseAuthor and what it answers."""

import uuid
from datetime import UTC, datetime
from typing import Any

from service.access.credentials import client_hash, sha256
from service.access.sites import Site
from service.domain.commands import EraseAuthor
from service.domain.events import AuthorErased, ErasureRequester
from service.eventstore.cloudevents import format_time
from service.write.application import Application


def email_hash(site: Site, email: str) -> str:
    """The digest a comment written with this email carries (see comments.author_hashes)."""
    return client_hash(site.ip_salt, email.strip().casefold())


def erase_author(
    site: Site,
    requested_by: ErasureRequester,
    email: str | None = None,
    comment_id: str | None = None,
    tokens: list[tuple[str, str]] | None = None,
) -> EraseAuthor:
    return EraseAuthor(
        site=site.site,
        erasure_id=str(uuid.uuid4()),
        requested_by=requested_by,
        at=datetime.now(UTC),
        email_hash=email_hash(site, email) if email else None,
        comment_id=comment_id,
        tokens=tuple((comment, sha256(token)) for comment, token in tokens or []),
    )


async def erase(
    application: Application, command: EraseAuthor, metadata: dict[str, Any]
) -> dict[str, Any]:
    """Erase, and say what was erased (nothing personal: ids, a count, a time)."""
    outcome = await application.execute(command, metadata)
    erased = [event.event for event in outcome.events if isinstance(event.event, AuthorErased)]
    comment_ids = list(erased[0].comment_ids) if erased else []
    return {
        "erasure_id": command.erasure_id,
        "requested_by": command.requested_by.value,
        "comment_ids": comment_ids,
        "erased": len(comment_ids),
        "at": format_time(command.at),
    }
