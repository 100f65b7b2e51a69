"""The documented rules of every import, on the records a reader yields: post ids, replies
without their parent, circles, comments without a post, two posts with one id."""

from datetime import UTC, datetime

import pytest

from service.ops.imports import core
from service.ops.imports.post_ids import PostIdFrom, post_id
from service.ops.imports.records import SourceComment, SourceItem, SourcePost, Summary
from service.ops.imports.staging import staging

WRITTEN = datetime(2020, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("url", "slug", "rule", "expected"),
    [
        ("https://blog.example/2024/05/my-post.html", None, PostIdFrom.URL, "2024-05-my-post"),
        ("https://blog.example/2024/05/my-post/", None, PostIdFrom.SLUG, "my-post"),
        ("https://blog.example/?p=12", None, PostIdFrom.URL, "p-12"),
        ("https://blog.example/", None, PostIdFrom.URL, "index"),
        ("https://blog.example/a%20b/_x.php", None, PostIdFrom.URL, "a-b-_x"),
        ("/over/there", "wp-slug", PostIdFrom.SLUG, "wp-slug"),
        ("https://blog.example/x", None, PostIdFrom.ID, "77"),
        ("https://blog.example/" + "a" * 300, None, PostIdFrom.URL, "a" * 128),
        ("https://blog.example/%E2%9C%93/", None, PostIdFrom.SLUG, None),
    ],
)
def test_post_ids_follow_the_documented_rule(
    url: str, slug: str | None, rule: PostIdFrom, expected: str | None
) -> None:
    assert post_id(rule, SourcePost("77", url, "T", slug=slug)) == expected


def comment(source_id: str, post: str = "1", parent: str | None = None) -> SourceComment:
    return SourceComment(source_id, post, parent, "A", None, WRITTEN, "b", "<p>b</p>")


async def dry_run(*items: SourceItem) -> Summary:
    return await core.import_items(None, items, form="test", site="s")


async def test_a_reply_without_its_parent_goes_to_the_top_level() -> None:
    summary = await dry_run(SourcePost("1", "/one", "One"), comment("c1", parent="gone"))
    assert summary.comments == 1
    assert summary.notes == {"replies whose parent is not in the source: at the top level": 1}


async def test_replies_in_a_circle_and_comments_without_a_post_are_skipped() -> None:
    summary = await dry_run(
        SourcePost("1", "/one", "One"),
        comment("a", parent="b"),
        comment("b", parent="a"),
        comment("c", post="nowhere"),
        comment("d"),
    )
    assert summary.comments == 1
    assert summary.skipped == {
        "replies that go round in a circle": 2,
        "their post is not in the source": 1,
    }


async def test_the_second_post_with_an_id_is_skipped_with_its_comments() -> None:
    summary = await dry_run(
        SourcePost("1", "https://a.example/same", "One"),
        SourcePost("2", "https://b.example/same", "Two"),
        comment("c1", post="1"),
        comment("c2", post="2"),
        comment("c2", post="1"),
    )
    assert (summary.posts, summary.comments) == (1, 1)
    assert summary.skipped == {
        "another post has its id or post id (same)": 1,
        "their post was skipped": 1,
        "a comment with the same id came before": 1,
    }


def test_a_comment_named_as_the_post_of_a_reply_is_its_parent() -> None:
    """Blogger's `thr:in-reply-to` may name the comment replied to, not the post."""
    summary = Summary()
    with staging() as staged:
        items = [SourcePost("1", "/one", "One"), comment("r", post="c"), comment("c")]
        staged.add(items, PostIdFrom.URL, summary)
        staged.thread(summary)
        found = [(c.source_id, c.post_id, c.parent_source_id) for c in staged.comments()]
    assert found == [("c", "one", None), ("r", "one", "c")]
