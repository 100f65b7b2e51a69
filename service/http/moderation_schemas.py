"""Request bodies of moderation: site settings, moderator actions, bans, reports, edits."""

from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field, Strict

from service.domain.events import BanMatch, RejectReason, ReportReason
from service.domain.policy import Premoderation, SiteSettings
from service.http.schemas import Body, CommentId, Markdown, Reason, line, utc

Word = Annotated[str, *line(100)]
Count = Annotated[int, Strict()]
Moment = Annotated[AwareDatetime, Strict(), AfterValidator(utc)]


class SettingsBody(Body):
    """Every field is optional: only those given change."""

    premoderation: Premoderation | None = None
    banned_words: list[Word] | None = Field(default=None, max_length=500)
    suspect_words: list[Word] | None = Field(default=None, max_length=500)
    report_threshold: Annotated[Count, Field(ge=1, le=1000)] | None = None
    rate_limit_per_minute: Annotated[Count, Field(ge=0, le=10_000)] | None = None
    edit_window_minutes: Annotated[Count, Field(ge=0, le=10_080)] | None = None
    close_after_days: Annotated[Count, Field(ge=1, le=36_500)] | None = None

    def changes(self) -> dict[str, object]:
        """The fields the request named; an explicit null puts a field back to its default."""
        given = self.model_dump(exclude_unset=True)
        for name, value in given.items():
            if value is None:
                given[name] = SiteSettings.model_fields[name].get_default()
            elif name in ("banned_words", "suspect_words"):
                given[name] = tuple(value)
        return given


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
