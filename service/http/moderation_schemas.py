"""Request bodies of moderation: moderator actions, bans, reports, edits. (A site settings
change is validated the same way for the CLI: access/site_settings.py.)"""

from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field, Strict

from service.domain.events import BanMatch, RejectReason, ReportReason
from service.http.schemas import Body, CommentId, Markdown, Reason, utc

Moment = Annotated[AwareDatetime, Strict(), AfterValidator(utc)]


class RejectBody(Body):
    reason: RejectReason
    detail: Reason | None = None


class NoteBody(Body):
    reason: Reason | None = None


class Action(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    RESTORE = "restore"
    DELETE = "delete"


class ActionsBody(Body):
    action: Action
    comment_ids: list[CommentId] = Field(min_length=1, max_length=100)
    # For `reject`: spam, offensive, off-topic or other; for the others a free note.
    reason: Reason | None = None


class BanBody(Body):
    comment_id: CommentId
    match: BanMatch
    expires_at: Moment | None = None
    remove_comments: Annotated[bool, Strict()] = False
    hold: Annotated[bool, Strict()] = False
    reason: Reason | None = None


class ReportBody(Body):
    reason: ReportReason
    detail: Reason | None = None


class EditBody(Body):
    body: Markdown


class ThreadBody(Body):
    reason: Reason | None = None
