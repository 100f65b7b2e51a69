"""How fast `threadlog import` is, and in how much memory: a generated Blogger export (posts,
comments newest first, half of them replies) imported into a throwaway database.

    .venv/bin/python bench/imports.py --posts 2000 --comments 100000

Prints the file's size, the import's wall time, comments a second and the import process's
peak RSS (and the same for a second run, which finds everything and appends nothing).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

from db import check_loopback, create_database, drop_database, with_database

HEAD = """<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns='http://www.w3.org/2005/Atom' xmlns:thr='http://purl.org/syndication/thread/1.0'>
"""
KIND = "<category scheme='http://schemas.google.com/g/2005#kind' term='http://schemas.google.com/blogger/2008/kind#{}'/>"
LABELS = ["LinkedIn", "Course", "Week 1", "Week 2", "Reflection", "Tools"]


def tag(key: int) -> str:
    return f"tag:blogger.com,1999:blog-1.post-{key}"


def generate(path: Path, posts: int, comments: int, seed: int = 1) -> None:
    """Posts, then comments newest first; each comment on a random post, half of them replies
    to an earlier comment of that post."""
    rng = random.Random(seed)
    start = datetime(2015, 1, 1, tzinfo=UTC)
    entries: list[tuple[int, int, int | None, datetime]] = []
    on_post: dict[int, list[int]] = {}
    for number in range(comments):
        post = rng.randrange(posts)
        earlier = on_post.setdefault(post, [])
        parent = rng.choice(earlier) if earlier and rng.random() < 0.5 else None
        key = 10_000_000 + number
        earlier.append(key)
        entries.append((key, post, parent, start + timedelta(minutes=number)))
    with path.open("w", encoding="utf-8") as out:
        out.write(HEAD)
        for post in range(posts):
            labels = "".join(
                f"<category scheme='http://www.blogger.com/atom/ns#' term='{label}'/>"
                for label in rng.sample(LABELS, 2)
            )
            out.write(
                f"<entry><id>{tag(post)}</id><published>{start.isoformat()}</published>"
                f"{KIND.format('post')}{labels}<title type='text'>Post {post}</title>"
                f"<link rel='alternate' href='https://blog.example/2015/01/post-{post}.html'/>"
                "<content type='html'>&lt;p&gt;A post&lt;/p&gt;</content></entry>\n"
            )
        for key, post, parent, written in reversed(entries):
            related = (
                f"<link rel='related' href='https://www.blogger.com/feeds/1/{post}/comments/default/{parent}'/>"
                if parent
                else ""
            )
            body = escape(
                f"<p>Comment {key}: " + "words and more words " * rng.randint(5, 40) + "</p>"
            )
            out.write(
                f"<entry><id>{tag(key)}</id><published>{written.isoformat()}</published>"
                f"{KIND.format('comment')}<content type='html'>{body}</content>{related}"
                f"<author><name>Reader {key % 997}</name></author>"
                f"<thr:in-reply-to ref='{tag(post)}'/></entry>\n"
            )
        out.write("</feed>\n")


def threadlog(url: str, environment: dict[str, str], *arguments: str) -> tuple[float, int, str]:
    """(wall seconds, peak RSS in MB, stdout) of one `threadlog` run in a child process."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [shutil.which("threadlog") or str(Path(sys.executable).parent / "threadlog"), *arguments],
        env=environment | {"DATABASE_URL": url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    assert child.stdout is not None and child.stderr is not None
    out, err = child.stdout.read(), child.stderr.read()
    if status != 0:
        raise SystemExit(f"threadlog {' '.join(arguments)} failed: {err}")
    return seconds, usage.ru_maxrss // 1024, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--comments", type=int, default=100_000)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    arguments = parser.parse_args()
    check_loopback(arguments.database_url)
    kek = subprocess.run(["threadlog", "kek", "new"], capture_output=True, text=True, check=True)
    environment = os.environ | {"THREADLOG_KEK": kek.stdout.strip()}
    name = asyncio.run(create_database(arguments.database_url))
    url = with_database(arguments.database_url, name)
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "blogger.xml"
            generate(path, arguments.posts, arguments.comments)
            size = path.stat().st_size / 2**20
            counts = f"{arguments.posts} posts, {arguments.comments} comments"
            print(f"{path.name}: {size:.0f} MB, {counts}")
            threadlog(url, environment, "migrate")
            threadlog(url, environment, "sites", "create", "bench")
            for run in ("first", "second"):
                seconds, peak, out = threadlog(
                    url, environment, "import", "blogger", str(path), "--site", "bench"
                )
                rate = arguments.comments / seconds
                print(f"{run} run: {seconds:.1f} s, {rate:.0f} comments/s, peak RSS {peak} MB")
                print("  " + out.strip().replace("\n", "\n  "))
    finally:
        asyncio.run(drop_database(arguments.database_url, name))


if __name__ == "__main__":
    main()
