"""Deciding an imported comment: the source's history, kept as it was.

An import runs again and again over the same file: a comment that exists already causes
nothing. Its status comes from its source: a comment the source held, rejected (as spam) or
deleted is first posted, then moved there by the event that does it on this service too, so
every read model follows the same events as for a live comment.
"""

from service.domain.commands import ImportComment
from service.domain.events import (
    CommentDeleted,
    CommentHeld,
    CommentRejected,
    CommentStatus,
    Event,
    RejectReason,
)
from service.domain.placement import placed
from service.domain.policy import HoldReason
from service.domain.state import ThreadState


def decide_import(command: ImportComment, state: ThreadState) -> list[Event]:
    if command.comment_id in state.comments:
        return []
    fields = command.model_dump(
        include={"site", "post_id", "comment_id", "author", "body", "body_html"}
    )
    fields["created_at"] = command.written_at
    posted = placed(fields, command.parent_id, state, visible_parent=False)
    ids = {"site": command.site, "post_id": command.post_id, "comment_id": command.comment_id}
    published = CommentStatus.PUBLISHED
    match command.status:
        case CommentStatus.HELD:
            return [posted, CommentHeld(**ids, reason=HoldReason.PREMODERATION)]
        case CommentStatus.REJECTED:
            rejected = CommentRejected(**ids, reason=RejectReason.SPAM, from_status=published)
            return [posted, rejected]
        case CommentStatus.DELETED | CommentStatus.ERASED:
            deleted = CommentDeleted(**ids, by=command.deleted_by, from_status=published)
            return [posted, deleted]
    return [posted]
