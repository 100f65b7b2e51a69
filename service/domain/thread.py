"""A post's thread: the small decision state, `decide` and `evolve`.

The state holds only what decisions need (the post, and the comments a command touches), so a
command costs the same in a thread of 10 comments or of 10,000.
"""

import hmac
from datetime import datetime

from service.domain import imports, moderation
from service.domain.commands import (
    Command,
    CommentCommand,
    DeleteComment,
    DeletePost,
    ImportComment,
    PostComment,
    PublishPost,
    ThreadCommand,
)
from service.domain.errors import (
    CommentAlreadyDeleted,
    CommentNotFound,
    PostGone,
    PostIdRetired,
    PostNotFound,
    WrongDeleteToken,
)
from service.domain.events import (
    CommentDeleted,
    CommentPosted,
    CommentReplied,
    CommentStatus,
    DeletedBy,
    Event,
    NewComment,
    PostContent,
    PostDeleted,
    PostPublished,
    PostUpdated,
)
from service.domain.placement import placed
from service.domain.state import MAX_DEPTH, CommentState, PostState, ThreadState

__all__ = ["MAX_DEPTH", "CommentState", "PostState", "ThreadState", "decide", "evolve"]


def decide(command: Command, state: ThreadState) -> list[Event]:
    """Turn a command into the events it causes, or raise the DomainError that forbids it.

    An unchanged re-publish yields no event: PUT stays idempotent and the log stays quiet.
    """
    post = state.post
    match command:
        case PublishPost() if post is None:
            return [PostPublished(**publish_fields(command, command.published_at or command.at))]
        case PublishPost() if post is not None and post.deleted:
            raise PostIdRetired(f"post {command.post_id!r} was deleted; its id cannot be reused")
        case PublishPost() if post is not None:
            content = publish_fields(command, command.published_at or post.published_at)
            unchanged = (post.title, post.url, post.labels, post.published_at) == (
                content["title"],
                content["url"],
                content["labels"],
                content["published_at"],
            )
            return [] if unchanged else [PostUpdated(**content)]
        case DeletePost():
            require_live_post(state, command.post_id)
            return [PostDeleted(site=command.site, post_id=command.post_id)]
        case PostComment():
            require_live_post(state, command.post_id)
            return new_comment(command, state)
        case ImportComment():
            require_live_post(state, command.post_id)
            return imports.decide_import(command, state)
        case DeleteComment():
            return [delete_comment(command, state)]
        case CommentCommand():
            return moderation.decide_comment(command, state)
        case ThreadCommand():
            require_live_post(state, command.post_id)
            return moderation.decide_thread(command, state)
    raise TypeError(f"unknown command {type(command).__name__}")


def publish_fields(command: PublishPost, published_at: datetime) -> dict[str, object]:
    return {
        "site": command.site,
        "post_id": command.post_id,
        "title": command.title,
        "url": command.url,
        "labels": command.labels,
        "published_at": published_at,
    }


def require_live_post(state: ThreadState, post_id: str) -> PostState:
    if state.post is None:
        raise PostNotFound(f"post {post_id!r} does not exist")
    if state.post.deleted:
        raise PostGone(f"post {post_id!r} was deleted")
    return state.post


def new_comment(command: PostComment, state: ThreadState) -> list[Event]:
    """The comment, and `comment.held` after it when the site's checks hold it."""
    fields = command.model_dump(
        include={"site", "post_id", "comment_id", "author", "body", "body_html",
                 "delete_token_sha256", "author_email_hash", "author_ip_hash",
                 "author_name_ip_hash"}
    )  # fmt: skip
    fields["created_at"] = command.at
    posted = placed(fields, command.parent_id, state, visible_parent=True)
    held = moderation.screen(command, state)
    return [posted] if held is None else [posted, held]


def delete_comment(command: DeleteComment, state: ThreadState) -> Event:
    comment = state.comments.get(command.comment_id)
    if comment is None or state.post is None or state.post.deleted:
        raise CommentNotFound(f"comment {command.comment_id!r} does not exist")
    if comment.deleted:
        raise CommentAlreadyDeleted(f"comment {command.comment_id!r} is already deleted")
    if comment.status is CommentStatus.ERASED:
        raise CommentAlreadyDeleted(f"comment {command.comment_id!r} was erased")
    if command.by is DeletedBy.AUTHOR and not token_matches(command, comment):
        raise WrongDeleteToken("the delete token does not match this comment")
    return CommentDeleted(
        site=command.site,
        post_id=comment.post_id,
        comment_id=command.comment_id,
        by=command.by,
        reason=command.reason,
        from_status=comment.status,
    )


def token_matches(command: DeleteComment, comment: CommentState) -> bool:
    presented, stored = command.delete_token_sha256, comment.delete_token_sha256
    return presented is not None and stored is not None and hmac.compare_digest(presented, stored)


def evolve(state: ThreadState, event: Event) -> ThreadState:
    """Apply an event to the decision state. Total: an event already happened."""
    match event:
        case PostContent():
            post = PostState(
                title=event.title,
                url=event.url,
                labels=event.labels,
                published_at=event.published_at,
                closed=state.post.closed if state.post else False,
            )
            return state.model_copy(update={"post": post})
        case PostDeleted() if state.post is not None:
            return state.model_copy(
                update={"post": state.post.model_copy(update={"deleted": True})}
            )
        case NewComment():
            parent = (
                state.comments.get(event.parent_id) if isinstance(event, CommentReplied) else None
            )
            depth = 0 if isinstance(event, CommentPosted) else parent.depth + 1 if parent else 1
            return with_comment(state, event.comment_id, comment_state(event, depth))
        case CommentDeleted() if event.comment_id in state.comments:
            deleted = state.comments[event.comment_id].model_copy(
                update={"status": CommentStatus.DELETED}
            )
            return with_comment(state, event.comment_id, deleted)
    return moderation.evolve(state, event)


def comment_state(event: NewComment, depth: int) -> CommentState:
    return CommentState(
        post_id=event.post_id,
        depth=depth,
        created_at=event.created_at,
        delete_token_sha256=event.delete_token_sha256,
        email_hash=event.author_email_hash,
        ip_hash=event.author_ip_hash,
        name_ip_hash=event.author_name_ip_hash,
    )


def with_comment(state: ThreadState, comment_id: str, comment: CommentState) -> ThreadState:
    comments = {**state.comments, comment_id: comment}
    return state.model_copy(update={"comments": comments})
