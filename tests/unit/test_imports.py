"""Deciding an imported comment: given the thread, when ImportComment, then its events."""

from datetime import UTC, datetime

import pytest

from service.domain.commands import ImportComment
from service.domain.errors import ParentNotFound, PostNotFound
from service.domain.events import (
    Author,
    CommentDeleted,
    CommentHeld,
    CommentPosted,
    CommentRejected,
    CommentReplied,
    CommentStatus,
    DeletedBy,
)
from service.domain.thread import decide
from tests.builders import PUBLISHED, given, posted

WRITTEN = datetime(2012, 3, 4, 5, 6, tzinfo=UTC)


def imported(
    comment_id: str = "i1", parent_id: str | None = None, **changes: object
) -> ImportComment:
    fields: dict[str, object] = {
        "site": "s",
        "post_id": "p",
        "comment_id": comment_id,
        "parent_id": parent_id,
        "author": Author(name="Old reader", website="https://old.example/"),
        "body": "from 2012",
        "body_html": "<p>from 2012</p>",
        "written_at": WRITTEN,
    }
    return ImportComment(**(fields | changes))


def test_an_imported_comment_keeps_its_date_and_carries_no_secrets() -> None:
    [event] = decide(imported(), given(PUBLISHED))
    assert isinstance(event, CommentPosted)
    assert event.created_at == WRITTEN
    assert event.delete_token_sha256 is None and event.author_email_hash is None


def test_an_imported_comment_that_exists_causes_nothing() -> None:
    assert decide(imported("c1"), given(PUBLISHED, posted("c1"))) == []


@pytest.mark.parametrize(
    ("status", "then"),
    [
        (CommentStatus.HELD, CommentHeld),
        (CommentStatus.REJECTED, CommentRejected),
        (CommentStatus.DELETED, CommentDeleted),
    ],
)
def test_a_hidden_source_comment_is_posted_then_hidden(status: CommentStatus, then: type) -> None:
    first, second = decide(imported(status=status), given(PUBLISHED))
    assert isinstance(first, CommentPosted) and isinstance(second, then)


def test_a_reply_may_hang_below_a_comment_that_is_not_published() -> None:
    state = given(PUBLISHED, posted("c1"))
    hidden = decide(
        imported("c1", status=CommentStatus.DELETED, deleted_by=DeletedBy.AUTHOR), state
    )
    assert hidden == []
    deleted = CommentDeleted(site="s", post_id="p", comment_id="c1", by=DeletedBy.AUTHOR)
    [reply] = decide(imported("i2", "c1"), given(PUBLISHED, posted("c1"), deleted))
    assert isinstance(reply, CommentReplied) and reply.parent_id == "c1"


def test_a_reply_to_a_missing_parent_or_on_a_missing_post_is_refused() -> None:
    with pytest.raises(ParentNotFound):
        decide(imported("i2", "nope"), given(PUBLISHED))
    with pytest.raises(PostNotFound):
        decide(imported(), given())
