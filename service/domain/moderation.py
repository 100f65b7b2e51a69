"""Moderation decisions on a post's stream: the new-comment checks, a moderator's actions on a
comment or a thread, readers' reports and authors' edits."""

import hmac
from datetime import timedelta

from service.domain.commands import (
    ApproveComment,
    CloseThread,
    CommentCommand,
    EditComment,
    EraseComment,
    PostComment,
    RejectComment,
    ReopenThread,
    ReportComment,
    RestoreComment,
    ThreadCommand,
)
from service.domain.errors import (
    AuthorBanned,
    BannedWord,
    CommentNotFound,
    EditWindowClosed,
    RateLimited,
    ThreadClosed,
    WrongDeleteToken,
    WrongStatus,
)
from service.domain.events import (
    CommentApproved,
    CommentEdited,
    CommentErased,
    CommentHeld,
    CommentRejected,
    CommentReported,
    CommentRestored,
    CommentStatus,
    Event,
    ThreadReopened,
)
from service.domain.events import ThreadClosed as ThreadClosedEvent
from service.domain.policy import (
    HoldReason,
    Premoderation,
    SiteSettings,
    content_hold,
    first_match,
    has_link,
    readable,
    thread_closed,
)
from service.domain.state import CommentState, ThreadState


def screen(command: PostComment, state: ThreadState) -> CommentHeld | None:
    """The ordered checks of a new comment; the first that decides wins. Raises the error that
    refuses it, or returns the hold; None publishes it."""
    assert state.post is not None
    settings = state.settings
    if thread_closed(state.post.closed, state.post.published_at, settings, command.at):
        raise ThreadClosed(f"the thread of post {command.post_id!r} is closed for new comments")
    reason: HoldReason | None = None
    for ban in state.bans:
        if ban.active(command.at) and command.hash_for(ban.match) == ban.author_hash:
            if not ban.hold:
                raise AuthorBanned("the author of this comment is banned from this site")
            reason = HoldReason.BANNED
            break
    if reason is None and command.rate_limited:
        raise RateLimited(
            f"too many comments from this client; try again in {command.retry_after_seconds}s",
            command.retry_after_seconds,
        )
    ids = {"site": command.site, "post_id": command.post_id, "comment_id": command.comment_id}
    if reason is None:
        author = command.author
        word = None
        if settings.banned_words:  # else the texts need not be read (HTML parsed, folded)
            texts = readable(command.body, command.body_html, author.name)
            word = first_match(settings.banned_words, *texts)
        if word is not None:
            raise BannedWord(f"the comment contains the banned word {word!r}")
        known = command.author_key is not None and command.author_key in state.known_authors
        reason = content_hold(
            settings, command.body, command.body_html, author.name, author.website, known
        )
        if command.honeypot:
            # Held as spam all the same, but answered as the checks above would have: a bot
            # that compares the answers with and without the field learns nothing.
            told = CommentStatus.HELD if reason is not None else CommentStatus.PUBLISHED
            return CommentHeld(**ids, reason=HoldReason.SPAM, answered=told)
    if reason is None:
        return None
    return CommentHeld(**ids, reason=reason)


def decide_comment(command: CommentCommand, state: ThreadState) -> list[Event]:
    comment = state.comments.get(command.comment_id)
    if comment is None or state.post is None or state.post.deleted:
        raise CommentNotFound(f"comment {command.comment_id!r} does not exist")
    ids = {"site": command.site, "post_id": comment.post_id, "comment_id": command.comment_id}
    status = comment.status
    match command:
        case EraseComment():
            if status is CommentStatus.ERASED:
                return []
            erased = CommentErased(
                **ids, erasure_id=command.erasure_id, from_status=status, at=command.at
            )
            return [erased]
        case ApproveComment():
            if not (status is CommentStatus.PUBLISHED and comment.reporters):
                require_status(command, status, CommentStatus.HELD)
            return [CommentApproved(**ids, reason=command.reason, from_status=status)]
        case RejectComment():
            require_status(command, status, CommentStatus.HELD, CommentStatus.PUBLISHED)
            return [
                CommentRejected(
                    **ids, reason=command.reason, detail=command.detail, from_status=status
                )
            ]
        case RestoreComment():
            require_status(command, status, CommentStatus.DELETED, CommentStatus.REJECTED)
            return [CommentRestored(**ids, reason=command.reason, from_status=status)]
        case ReportComment():
            return report(command, comment, state, ids)
        case EditComment():
            return edit(command, comment, state, ids)
    raise TypeError(f"unknown command {type(command).__name__}")


def require_status(command: CommentCommand, status: CommentStatus, *allowed: CommentStatus) -> None:
    if status not in allowed:
        action = type(command).__name__.removesuffix("Comment").lower()
        raise WrongStatus(f"comment {command.comment_id!r} is {status.value}; cannot {action} it")


def report(
    command: ReportComment, comment: CommentState, state: ThreadState, ids: dict[str, str]
) -> list[Event]:
    """Readers may report what they can see; a client's second report counts nothing."""
    if comment.status is not CommentStatus.PUBLISHED:
        raise CommentNotFound(f"comment {command.comment_id!r} does not exist")
    if command.reporter_hash in comment.reporters:
        return []
    reported = CommentReported(
        **ids, reason=command.reason, detail=command.detail, reporter_hash=command.reporter_hash
    )
    events: list[Event] = [reported]
    if len(comment.reporters) + 1 >= state.settings.report_threshold:
        events.append(CommentHeld(**ids, reason=HoldReason.REPORTS))
    return events


def edit(
    command: EditComment, comment: CommentState, state: ThreadState, ids: dict[str, str]
) -> list[Event]:
    """The author, with the comment's token, inside the site's edit window; the new text goes
    through the word checks again, so an edit cannot slip past them."""
    stored = comment.delete_token_sha256
    if stored is None or not hmac.compare_digest(stored, command.delete_token_sha256):
        raise WrongDeleteToken("the token does not match this comment")
    if comment.status not in (CommentStatus.PUBLISHED, CommentStatus.HELD):
        raise WrongStatus(f"comment {command.comment_id!r} is {comment.status.value}")
    window = timedelta(minutes=state.settings.edit_window_minutes)
    if comment.created_at is None or command.at > comment.created_at + window:
        raise EditWindowClosed(
            f"comments can be edited for {state.settings.edit_window_minutes} minutes"
        )
    word = first_match(state.settings.banned_words, *readable(command.body, command.body_html))
    if word is not None:
        raise BannedWord(f"the comment contains the banned word {word!r}")
    events: list[Event] = [
        CommentEdited(**ids, body=command.body, body_html=command.body_html, edited_at=command.at)
    ]
    if comment.status is CommentStatus.PUBLISHED:
        reason = edit_hold(state.settings, command)
        if reason is not None:
            events.append(CommentHeld(**ids, reason=reason))
    return events


def edit_hold(settings: SiteSettings, command: EditComment) -> HoldReason | None:
    """A published comment edited to hold a link (under `links`) or a suspect word goes back
    to the queue; other policies judged the author, not the text, and stay decided."""
    if settings.premoderation is Premoderation.LINKS and has_link(
        command.body, command.body_html, None
    ):
        return HoldReason.LINKS
    if first_match(settings.suspect_words, *readable(command.body, command.body_html)) is not None:
        return HoldReason.SUSPECT_WORD
    return None


def decide_thread(command: ThreadCommand, state: ThreadState) -> list[Event]:
    """Closing a closed thread, or reopening an open one, changes nothing."""
    assert state.post is not None
    ids = {"site": command.site, "post_id": command.post_id, "reason": command.reason}
    match command:
        case CloseThread():
            return [] if state.post.closed else [ThreadClosedEvent(**ids)]
        case ReopenThread():
            return [ThreadReopened(**ids)] if state.post.closed else []
    raise TypeError(f"unknown command {type(command).__name__}")


def evolve(state: ThreadState, event: Event) -> ThreadState:
    match event:
        case CommentHeld():
            return with_status(state, event.comment_id, CommentStatus.HELD)
        case CommentApproved():
            state = with_status(state, event.comment_id, CommentStatus.PUBLISHED)
            comment = state.comments.get(event.comment_id)
            if comment is None:
                return state
            # Approval dismisses the reports: it takes as many new ones to hold it again.
            comments = state.comments | {
                event.comment_id: comment.model_copy(update={"reporters": ()})
            }
            state = state.model_copy(update={"comments": comments})
            if comment.author_key is not None:
                known = state.known_authors | {comment.author_key}
                state = state.model_copy(update={"known_authors": known})
            return state
        case CommentReported() if event.comment_id in state.comments and event.reporter_hash:
            comment = state.comments[event.comment_id]
            reporters = (*comment.reporters, event.reporter_hash)
            comments = state.comments | {
                event.comment_id: comment.model_copy(update={"reporters": reporters})
            }
            return state.model_copy(update={"comments": comments})
        case CommentRejected():
            return with_status(state, event.comment_id, CommentStatus.REJECTED)
        case CommentErased() if event.comment_id in state.comments:
            forgotten = state.comments[event.comment_id].model_copy(
                update={
                    "status": CommentStatus.ERASED,
                    "email_hash": None,
                    "ip_hash": None,
                    "name_ip_hash": None,
                }
            )
            return state.model_copy(
                update={"comments": state.comments | {event.comment_id: forgotten}}
            )
        case CommentRestored():
            return with_status(state, event.comment_id, CommentStatus.PUBLISHED)
        case ThreadClosedEvent() if state.post is not None:
            return state.model_copy(update={"post": state.post.model_copy(update={"closed": True})})
        case ThreadReopened() if state.post is not None:
            post = state.post.model_copy(update={"closed": False})
            return state.model_copy(update={"post": post})
    return state


def with_status(state: ThreadState, comment_id: str, status: CommentStatus) -> ThreadState:
    comment = state.comments.get(comment_id)
    if comment is None:
        return state
    comments = state.comments | {comment_id: comment.model_copy(update={"status": status})}
    return state.model_copy(update={"comments": comments})
