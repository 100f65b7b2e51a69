"""Given events, when a command, then events or an error: the pure domain, no database."""

import hashlib
from datetime import timedelta

import pytest

from service.domain.commands import Command, DeleteComment, DeletePost
from service.domain.errors import (
    CommentAlreadyDeleted,
    CommentNotFound,
    DomainError,
    ParentNotFound,
    PostGone,
    PostIdRetired,
    PostNotFound,
    ReplyTooDeep,
    WrongDeleteToken,
)
from service.domain.events import CommentDeleted, DeletedBy, Event, PostDeleted, PostUpdated
from service.domain.thread import MAX_DEPTH, ThreadState, decide
from tests.builders import (
    AT,
    PUBLISHED,
    TOKEN,
    given,
    post_comment,
    posted,
    publish_post,
    replied,
)


def delete(
    comment_id: str, by: DeletedBy = DeletedBy.MODERATOR, token: bytes | None = None
) -> DeleteComment:
    return DeleteComment(
        site="s", comment_id=comment_id, by=by, reason=None, delete_token_sha256=token
    )


def test_first_publish_uses_the_command_time_when_none_is_given() -> None:
    [event] = decide(publish_post(), ThreadState())
    assert event == PUBLISHED


def test_a_changed_publish_is_an_update_keeping_the_original_date() -> None:
    [event] = decide(publish_post(title="New", at=AT + timedelta(days=1)), given(PUBLISHED))
    assert isinstance(event, PostUpdated)
    assert (event.title, event.published_at) == ("New", AT)


def test_an_unchanged_publish_appends_nothing() -> None:
    assert decide(publish_post(at=AT + timedelta(days=3)), given(PUBLISHED)) == []


def test_a_deleted_post_id_is_not_reused() -> None:
    with pytest.raises(PostIdRetired):
        decide(publish_post(), given(PUBLISHED, PostDeleted(site="s", post_id="p")))


def test_a_top_level_comment_is_posted() -> None:
    assert decide(post_comment("c1"), given(PUBLISHED)) == [posted("c1")]


def test_a_reply_carries_its_parent() -> None:
    assert decide(post_comment("c2", "c1"), given(PUBLISHED, posted("c1"))) == [replied("c2", "c1")]


@pytest.mark.parametrize(
    ("history", "command", "error"),
    [
        ((), post_comment("c1"), PostNotFound),
        ((PUBLISHED, PostDeleted(site="s", post_id="p")), post_comment("c1"), PostGone),
        ((PUBLISHED,), post_comment("c2", "missing"), ParentNotFound),
        (
            (
                PUBLISHED,
                posted("c1"),
                CommentDeleted(site="s", post_id="p", comment_id="c1", by=DeletedBy.AUTHOR),
            ),
            post_comment("c2", "c1"),
            ParentNotFound,
        ),
        ((PUBLISHED,), delete("nope"), CommentNotFound),
        (
            (
                PUBLISHED,
                posted("c1"),
                CommentDeleted(site="s", post_id="p", comment_id="c1", by=DeletedBy.AUTHOR),
            ),
            delete("c1"),
            CommentAlreadyDeleted,
        ),
        ((), DeletePost(site="s", post_id="p"), PostNotFound),
    ],
    ids=[
        "comment-on-unknown-post",
        "comment-on-deleted-post",
        "unknown-parent",
        "reply-to-deleted",
        "delete-unknown",
        "delete-twice",
        "delete-unknown-post",
    ],
)
def test_refusals(history: tuple[Event, ...], command: Command, error: type[DomainError]) -> None:
    with pytest.raises(error):
        decide(command, given(*history))


def test_a_parent_on_another_post_is_not_found() -> None:
    state = given(PUBLISHED, posted("c1"))
    elsewhere = state.comments["c1"].model_copy(update={"post_id": "other"})
    state = state.model_copy(update={"comments": {"c1": elsewhere}})
    with pytest.raises(ParentNotFound):
        decide(post_comment("c2", "c1"), state)


def test_replies_nest_at_most_max_depth() -> None:
    events: list[Event] = [PUBLISHED, posted("c0")]
    for depth in range(1, MAX_DEPTH):
        events.append(replied(f"c{depth}", f"c{depth - 1}"))
    state = given(*events)
    assert state.comments[f"c{MAX_DEPTH - 1}"].depth == MAX_DEPTH - 1
    with pytest.raises(ReplyTooDeep):
        decide(post_comment("deep", f"c{MAX_DEPTH - 1}"), state)
    assert decide(post_comment("ok", f"c{MAX_DEPTH - 2}"), state)


def test_the_author_deletes_with_the_right_token_only() -> None:
    state = given(PUBLISHED, posted("c1"))
    with pytest.raises(WrongDeleteToken):
        decide(delete("c1", DeletedBy.AUTHOR, hashlib.sha256(b"wrong").digest()), state)
    with pytest.raises(WrongDeleteToken):
        decide(delete("c1", DeletedBy.AUTHOR, None), state)
    [event] = decide(delete("c1", DeletedBy.AUTHOR, TOKEN), state)
    assert event == CommentDeleted(site="s", post_id="p", comment_id="c1", by=DeletedBy.AUTHOR)


def test_a_moderator_deletes_without_a_token() -> None:
    [event] = decide(delete("c1"), given(PUBLISHED, posted("c1")))
    assert isinstance(event, CommentDeleted) and event.by is DeletedBy.MODERATOR


def test_evolve_ignores_events_it_cannot_place() -> None:
    orphan = CommentDeleted(site="s", post_id="p", comment_id="ghost", by=DeletedBy.AUTHOR)
    assert given(orphan) == ThreadState()
