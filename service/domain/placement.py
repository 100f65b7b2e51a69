"""Where a new comment goes: at the top of its post, or under a parent on the same post, no
deeper than MAX_DEPTH. Live comments and imported ones share this; only a live reply also
needs its parent visible (an import keeps the source's history as it was)."""

from typing import Any

from service.domain.errors import ParentNotFound, ReplyTooDeep
from service.domain.events import CommentPosted, CommentReplied, CommentStatus, Event
from service.domain.state import MAX_DEPTH, ThreadState


def placed(
    fields: dict[str, Any], parent_id: str | None, state: ThreadState, *, visible_parent: bool
) -> Event:
    """`comment.posted`, or `comment.replied` under `parent_id`, from the comment's `fields`."""
    if parent_id is None:
        return CommentPosted(**fields)
    parent = state.comments.get(parent_id)
    if parent is None or parent.post_id != fields["post_id"]:
        raise ParentNotFound(f"comment {parent_id!r} is not on post {fields['post_id']!r}")
    if visible_parent and parent.deleted:
        raise ParentNotFound(f"comment {parent_id!r} was deleted")
    if visible_parent and parent.status is not CommentStatus.PUBLISHED:
        raise ParentNotFound(f"comment {parent_id!r} is not published")
    if parent.depth + 1 >= MAX_DEPTH:
        raise ReplyTooDeep(f"replies nest at most {MAX_DEPTH} levels deep")
    return CommentReplied(**fields, parent_id=parent_id)
