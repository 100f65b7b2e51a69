"""What sealing personal data costs a comment, in CPU, apart from the database round trip:
encoding a new comment's event with and without its keys, and decoding it back.

.venv/bin/python -P bench/sealing.py [N]
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime

from service.domain.events import Author, CommentPosted
from service.eventstore.codec import SealingKeys, decode, encode, with_private


def comment() -> CommentPosted:
    return CommentPosted(
        site="blog", post_id="p1", comment_id=str(uuid.uuid4()),
        author=Author(name="Ann Reader", website="https://ann.example"),
        body="A comment of a usual length, *with* some Markdown and a [link](https://x.example).",
        body_html='<p>A comment of a usual length, <em>with</em> some Markdown and a '
                  '<a href="https://x.example" rel="nofollow ugc">link</a>.</p>',
        created_at=datetime.now(UTC), delete_token_sha256=os.urandom(32),
        author_email_hash="e" * 43, author_ip_hash="i" * 43, author_name_ip_hash="n" * 43,
    )  # fmt: skip


def unsealed(event: CommentPosted) -> tuple[dict[str, object], dict[str, object]]:
    """The stored form before sealing: public fields as data, private ones in the metadata."""
    private = event.model_dump(mode="json", include=set(event.private_fields), exclude_none=True)
    return event.model_dump(mode="json", exclude=set(event.private_fields)), {"private": private}


def timed(n: int, keys: SealingKeys | None) -> tuple[float, float]:
    """(µs to encode, µs to decode) one comment, best of three rounds of `n`."""
    events = [comment() for _ in range(n)]
    opened = {} if keys is None else dict([keys.author, keys.day])  # type: ignore[list-item]
    best_encode = best_decode = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        stored = []
        for event in events:
            if keys is None:
                data, metadata = unsealed(event)
            else:
                coded = encode(event, keys)
                data, metadata = coded.stored_data, with_private({}, coded)
            stored.append((json.loads(json.dumps(data)), json.loads(json.dumps(metadata))))
        best_encode = min(best_encode, (time.perf_counter() - started) / n * 1e6)
        started = time.perf_counter()
        for data, metadata in stored:
            decode("comment.posted", 1, data, metadata, opened)
        best_decode = min(best_decode, (time.perf_counter() - started) / n * 1e6)
    return best_encode, best_decode


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    keys = SealingKeys(("k", os.urandom(32)), ("day:2026-11-30", os.urandom(32)))
    for name, chosen in (("in the clear", None), ("sealed", keys)):
        encoded, decoded = timed(n, chosen)
        print(f"{name:>12}: encode {encoded:6.1f} µs, decode {decoded:6.1f} µs per comment")


if __name__ == "__main__":
    main()
