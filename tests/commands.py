"""Commands for tests that drive the application directly, below HTTP."""

import uuid
from datetime import UTC, datetime

from service.domain.commands import PostComment, PublishPost
from service.domain.events import Author

META = {"actor": {"kind": "author"}, "request_id": "test", "ip_hash": "x"}


def publish_post(site: str, post_id: str) -> PublishPost:
    return PublishPost(
        site=site,
        post_id=post_id,
        title="T",
        url="https://b.example/",
        labels=(),
        published_at=None,
        at=datetime.now(UTC),
    )


def post_comment(site: str, post_id: str, parent_id: str | None = None) -> PostComment:
    return PostComment(
        site=site,
        post_id=post_id,
        comment_id=str(uuid.uuid4()),
        parent_id=parent_id,
        author=Author(name="w"),
        body="b",
        body_html="<p>b</p>",
        at=datetime.now(UTC),
        delete_token_sha256=b"t" * 32,
    )
