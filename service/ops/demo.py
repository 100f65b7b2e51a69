"""The demo blog behind `/demo`: its posts, and seeding them through the application.

Publishing a post again with the same content appends nothing, and sample comments are
written only in the same run that first published their post, so seeding is idempotent.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from service.domain.commands import ChangeSiteSettings, PostComment, PublishPost
from service.domain.events import Author
from service.write.application import Application
from service.write.rendering import render_markdown

DEMO_SITE = "demo"
DEMO_POST = "hello-world"
SEED_METADATA: dict[str, Any] = {"actor": {"kind": "system"}, "request_id": "demo"}
# Sample comments are the system's, not a reader's: nobody holds their delete token.
NO_TOKEN = b"\x00" * 32
# One person tries the demo from one address, in the page and then with curl (README, Try
# it): the server's default of 5 comments a minute would refuse them within a minute.
DEMO_SETTINGS: dict[str, Any] = {"rate_limit_per_minute": 60}


@dataclass(frozen=True, slots=True)
class DemoPost:
    post_id: str
    title: str
    labels: tuple[str, ...]
    published_at: datetime
    paragraphs: tuple[str, ...]
    lang: str = "en"
    comments: tuple[tuple[str, str], ...] = ()


DEMO_POSTS = (
    DemoPost(
        DEMO_POST,
        "Hello, world",
        ("Welcome", "threadlog"),
        datetime(2026, 1, 1, tzinfo=UTC),
        (
            "This is a sample blog page with threadlog embedded, exactly as a blogger would "
            "embed it: one element and one script tag.",
            "Post a comment below, reply to it, delete it again. Open this page in a second "
            "window to watch comments arrive live.",
        ),
    ),
    DemoPost(
        "event-sourcing",
        "Why the comments are an event log",
        ("Architecture", "PostgreSQL", "threadlog"),
        datetime(2026, 2, 3, tzinfo=UTC),
        (
            "Every comment, reply and deletion is an event appended to PostgreSQL; the thread "
            "you read is a projection of those events, rebuilt from the log whenever needed.",
        ),
        comments=(
            ("Grace", "So a deleted comment is just *another event*?"),
            ("Linus", "Yes: the log keeps what happened, the view shows what is left."),
        ),
    ),
    DemoPost(
        "sociale-netwerken",
        "Sociale netwerken",
        ("Nederlands", "Architecture"),
        datetime(2026, 3, 5, tzinfo=UTC),
        (
            "Dit bericht is in het Nederlands: de reacties hieronder spreken dan ook Nederlands, "
            'omdat de pagina lang="nl" meegeeft.',
        ),
        lang="nl",
        comments=(("Anne", "Mooi dat het in het *Nederlands* kan."),),
    ),
)


def find_post(post_id: str) -> DemoPost | None:
    return next((post for post in DEMO_POSTS if post.post_id == post_id), None)


async def seed_demo(application: Application, site: str = DEMO_SITE) -> None:
    """Publish the demo posts (and, the first time, the site's settings and the posts' sample
    comments)."""
    now = datetime.now(UTC)
    for number, post in enumerate(DEMO_POSTS):
        publish = PublishPost(
            site=site,
            post_id=post.post_id,
            title=post.title,
            url=f"https://demo.example/{post.post_id}",
            labels=post.labels,
            published_at=post.published_at,
            at=now,
        )
        outcome = await application.execute(publish, SEED_METADATA)
        if not any(recorded.type == "post.published" for recorded in outcome.events):
            continue
        if number == 0:
            change = ChangeSiteSettings(site=site, changes=DEMO_SETTINGS)
            await application.execute(change, SEED_METADATA)
        for index, (name, body) in enumerate(post.comments):
            comment = PostComment(
                site=site,
                post_id=post.post_id,
                comment_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{site}/{post.post_id}/{index}")),
                parent_id=None,
                author=Author(name=name),
                body=body,
                body_html=render_markdown(body),
                at=now,
                delete_token_sha256=NO_TOKEN,
            )
            await application.execute(comment, SEED_METADATA)
