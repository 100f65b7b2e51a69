"""Any tree of comments, listed in any order, imports into the thread the source shows: the
same nesting, siblings in the order written, hidden comments as tombstones exactly while a
visible reply hangs below them. And replies deeper than the service nests hang next to their
parent."""

from datetime import timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.domain.state import MAX_DEPTH
from service.write.application import Application
from tests.builders import Client, make_site, thread
from tests.imports import samples
from tests.imports.conftest import run_import

POST = samples.POSTS[0]
POST_ID = "2024-05-first-post"
STATUSES = st.sampled_from(["published", "published", "published", "spam", "deleted"])


@st.composite
def forests(draw: st.DrawFn) -> tuple[list[samples.Comment], list[int]]:
    """Comments (each one's parent an earlier one, or none), and the order a file lists them."""
    size = draw(st.integers(1, 14))
    comments = []
    for number in range(size):
        parent = draw(st.none() | st.integers(0, number - 1)) if number else None
        comments.append(
            samples.Comment(
                key=str(1000 + number),
                post=POST.key,
                parent=None if parent is None else str(1000 + parent),
                name=f"n{number}",
                website=None,
                # Distinct times, in no relation to the tree.
                written=samples.at(2)
                + timedelta(minutes=draw(st.integers(0, 10_000)) * 20 + number),
                text=f"comment {number}",
                status=draw(STATUSES),
            )
        )
    return comments, draw(st.permutations(range(size)))


def expected(comments: list[samples.Comment], parent: str | None) -> list[Any]:
    shown = []
    for comment in sorted(comments, key=lambda c: c.written):
        if comment.parent != parent:
            continue
        replies = expected(comments, comment.key)
        if comment.status == "published":
            shown.append((comment.name, replies))
        elif replies:
            shown.append(("tombstone", replies))
    return shown


def shape(views: list[dict[str, Any]]) -> list[Any]:
    return [
        (v["author"]["name"] if v["deleted"] is None else "tombstone", shape(v["replies"]))
        for v in views
    ]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(forest=forests())
async def test_any_tree_in_any_order_imports_into_the_same_thread(
    forest: tuple[list[samples.Comment], list[int]],
    pool: asyncpg.Pool,
    application: Application,
    client: Client,
) -> None:
    comments, order = forest
    site = await make_site(pool)
    with TemporaryDirectory() as folder:
        path = samples.disqus(Path(folder), [comments[n] for n in order])
        await run_import(application, "disqus", path, site.site)
    shown = await thread(client, site, POST_ID, limit=200)
    assert shape(shown["comments"]) == expected(comments, None)


async def test_replies_deeper_than_the_service_nests_hang_next_to_their_parent(
    tmp_path: Path, pool: asyncpg.Pool, application: Application, client: Client
) -> None:
    chain = [
        samples.Comment(
            str(1000 + n),
            POST.key,
            str(999 + n) if n else None,
            f"n{n}",
            None,
            samples.at(2) + timedelta(minutes=n),
            f"comment {n}",
        )
        for n in range(MAX_DEPTH + 4)
    ]
    site = await make_site(pool)
    summary = await run_import(application, "disqus", samples.disqus(tmp_path, chain), site.site)
    assert summary.comments == len(chain)
    assert summary.notes == {f"replies deeper than {MAX_DEPTH} levels: next to their parent": 4}
    views = (await thread(client, site, POST_ID, limit=200))["comments"]
    for _ in range(MAX_DEPTH - 2):
        assert len(views) == 1
        views = views[0]["replies"]
    # The comment at depth 30 has its reply and the four deeper ones, in the order written.
    assert [v["author"]["name"] for v in views[0]["replies"]] == [
        f"n{n}" for n in range(MAX_DEPTH - 1, MAX_DEPTH + 4)
    ]
