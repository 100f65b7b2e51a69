"""Moderation and erasure, as a property: for any sequence of comments and moderator, reader and
author actions and erasures, every accept/refuse matches a small independent model of comment
statuses; the read models equal a replay of the log and are unchanged by any event applied
again; no count, thread view or label index ever includes a held, rejected, deleted or erased
comment; and nothing an erased comment said is left in any of the site's rows."""

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hypothesis import event, given, settings
from hypothesis import strategies as st

from service.db import Connection, Pool
from service.domain import commands
from service.domain.errors import DomainError
from service.domain.events import (
    BanMatch,
    DeletedBy,
    ErasureRequester,
    RejectReason,
    ReportReason,
)
from service.eventstore import cursors, store
from service.eventstore.streams import post_stream_id, site_stream_id
from service.projections import INLINE
from service.read import threads
from service.read.threads import thread_body
from service.write.application import Application
from tests.builders import MODERATOR_META, TOKEN, make_site, post_comment, publish_post
from tests.properties.test_projections import examples, replayed, rolled_back, site_rows

START = datetime(2026, 3, 1, tzinfo=UTC)
POSTS = ("p0", "p1")
THRESHOLD = 2


@dataclass(frozen=True)
class Step:
    kind: str
    target: int = 0
    post: int = 0
    flag: bool = False
    author: int = 0


new_comment = st.builds(
    Step, st.just("comment"), post=st.integers(0, 1), flag=st.booleans(), author=st.integers(0, 1)
)
reply = st.builds(
    Step, st.just("reply"), st.integers(0, 30), flag=st.booleans(), author=st.integers(0, 1)
)
# flag: any comment, else one whose status the action applies to
actions = [
    st.builds(Step, st.just(kind), st.integers(0, 30), flag=st.booleans())
    for kind in ("approve", "reject", "restore", "delete", "edit")
]
steps = st.lists(
    st.one_of(
        # Comments come often, so that the actions have something to act on.
        new_comment,
        new_comment,
        new_comment,
        reply,
        reply,
        *actions,
        *actions,
        st.builds(Step, st.just("report"), st.integers(0, 30), flag=st.booleans()),
        # A ban of the target's author (flag: removing their comments), and lifting one.
        st.builds(Step, st.just("ban"), st.integers(0, 30), flag=st.booleans()),
        st.builds(Step, st.just("unban"), st.integers(0, 30)),
        st.builds(Step, st.just("close"), post=st.integers(0, 1), flag=st.booleans()),
        # Everything of the target's author erased.
        st.builds(Step, st.just("erase"), st.integers(0, 30)),
    ),
    min_size=10,
    max_size=40,
)


@dataclass
class Model:
    """Comment statuses by the rules of the issue, nothing else."""

    status: dict[str, str] = field(default_factory=dict)
    post_of: dict[str, str] = field(default_factory=dict)
    reporters: dict[str, set[str]] = field(default_factory=dict)
    closed: set[str] = field(default_factory=set)
    author_of: dict[str, str] = field(default_factory=dict)
    # ban id -> the banned author, while the ban holds
    bans: dict[str, str] = field(default_factory=dict)
    lifted: set[str] = field(default_factory=set)

    def banned(self, author: str | None) -> bool:
        return any(a == author and b not in self.lifted for b, a in self.bans.items())

    def allows(self, command: commands.Command) -> bool:
        match command:
            case commands.PostComment():
                if command.post_id in self.closed or self.banned(command.author_name_ip_hash):
                    return False
                parent = command.parent_id
                return parent is None or self.status.get(parent) == "published"
            case commands.ApproveComment():
                status = self.status.get(command.comment_id)
                reported = bool(self.reporters.get(command.comment_id))
                return status == "held" or (status == "published" and reported)
            case commands.RejectComment():
                return self.status.get(command.comment_id) in ("held", "published")
            case commands.RestoreComment():
                return self.status.get(command.comment_id) in ("deleted", "rejected")
            case commands.DeleteComment():
                return self.status.get(command.comment_id) not in (None, "deleted", "erased")
            case commands.ReportComment() | commands.EditComment():
                status = self.status.get(command.comment_id)
                return status == "published" or (
                    isinstance(command, commands.EditComment) and status == "held"
                )
            case commands.CloseThread() | commands.ReopenThread():
                return True
            case commands.BanAuthor() | commands.EraseAuthor():
                return self.status.get(command.comment_id, "erased") != "erased"
            case commands.UnbanAuthor():
                return command.ban_id in self.bans and command.ban_id not in self.lifted
        raise TypeError(command)

    def apply(self, command: commands.Command) -> None:
        match command:
            case commands.PostComment():
                self.status[command.comment_id] = "held" if command.honeypot else "published"
                self.post_of[command.comment_id] = command.post_id
                self.author_of[command.comment_id] = command.author_name_ip_hash or ""
            case commands.ApproveComment():
                self.status[command.comment_id] = "published"
                self.reporters.pop(command.comment_id, None)
            case commands.RestoreComment():
                self.status[command.comment_id] = "published"
            case commands.RejectComment():
                self.status[command.comment_id] = "rejected"
            case commands.DeleteComment():
                self.status[command.comment_id] = "deleted"
            case commands.ReportComment():
                seen = self.reporters.setdefault(command.comment_id, set())
                seen.add(command.reporter_hash)
                if len(seen) >= THRESHOLD:
                    self.status[command.comment_id] = "held"
            case commands.CloseThread():
                self.closed.add(command.post_id)
            case commands.ReopenThread():
                self.closed.discard(command.post_id)
            case commands.BanAuthor():
                author = self.author_of[command.comment_id]
                self.bans[command.ban_id] = author
                for comment_id, status in list(self.status.items()):
                    mine = self.author_of[comment_id] == author
                    if command.remove_comments and mine and status in ("published", "held"):
                        self.status[comment_id] = "rejected"
            case commands.UnbanAuthor():
                self.lifted.add(command.ban_id)
            case commands.EraseAuthor():
                author = self.author_of[str(command.comment_id)]
                for comment_id, status in list(self.status.items()):
                    if self.author_of[comment_id] == author and status != "erased":
                        self.status[comment_id] = "erased"


def said(comment_id: str) -> str:
    """What a comment says: unique, so that it can be looked for once erased."""
    return f"words-of-{comment_id}"


def command_for(
    site: str, step: Step, index: int, comments: list[str], model: Model
) -> commands.Command:
    at = START + timedelta(seconds=index)
    fitting = {
        "approve": ("held",),
        "reject": ("held", "published"),
        "restore": ("deleted", "rejected"),
        "delete": ("held", "published", "rejected"),
        "edit": ("held", "published"),
    }.get(step.kind)
    if fitting and not step.flag:
        comments = [c for c in comments if model.status[c] in fitting] or comments
    target = comments[step.target % len(comments)] if comments else "missing"
    match step.kind:
        case "comment" | "reply":
            parent = target if step.kind == "reply" and comments else None
            comment_id = f"c{index}-{site}"
            return post_comment(
                comment_id,
                parent_id=parent,
                body=said(comment_id),
                site=site,
                post_id=model.post_of[parent] if parent else POSTS[step.post],
                at=at,
                honeypot=step.flag,
                # The model tells authors apart by the name+IP hash alone.
                author_email_hash=None,
                author_ip_hash=None,
                author_name_ip_hash=f"author-{step.author}",
            )
        case "ban":
            return commands.BanAuthor(
                site=site,
                ban_id=f"ban-{index}",
                comment_id=target,
                match=BanMatch.NAME_IP,
                expires_at=None,
                remove_comments=step.flag,
                at=at,
            )
        case "erase":
            return commands.EraseAuthor(
                site=site,
                erasure_id=f"erasure-{index}",
                requested_by=ErasureRequester.MODERATOR,
                at=at,
                comment_id=target,
            )
        case "unban":
            bans = [ban for ban in model.bans if ban not in model.lifted] or list(model.bans)
            ban_id = bans[step.target % len(bans)] if bans else "missing"
            return commands.UnbanAuthor(site=site, ban_id=ban_id, at=at)
        case "approve":
            return commands.ApproveComment(site=site, comment_id=target, at=at)
        case "reject":
            return commands.RejectComment(
                site=site, comment_id=target, reason=RejectReason.SPAM, at=at
            )
        case "restore":
            return commands.RestoreComment(site=site, comment_id=target, at=at)
        case "delete":
            return commands.DeleteComment(
                site=site,
                comment_id=target,
                by=DeletedBy.MODERATOR,
                reason=None,
                delete_token_sha256=None,
            )
        case "edit":
            return commands.EditComment(
                site=site, comment_id=target, body="e", body_html="<p>e</p>",
                delete_token_sha256=TOKEN, at=at,
            )  # fmt: skip
        case "report":
            return commands.ReportComment(
                site=site,
                comment_id=target,
                reason=ReportReason.OFFENSIVE,
                reporter_hash="a" if step.flag else "b",
                at=at,
            )
        case _:
            post = POSTS[step.post]
            if step.flag:
                return commands.CloseThread(site=site, post_id=post)
            return commands.ReopenThread(site=site, post_id=post)


async def run(pool: Pool, history: list[Step]) -> tuple[str, Model]:
    site = (await make_site(pool)).site
    application = Application(pool)
    model = Model()
    try:
        setup: list[commands.Command] = [
            commands.ChangeSiteSettings(site=site, changes={"report_threshold": THRESHOLD}),
            *[
                publish_post(post, site=site, labels=("News",), published_at=START, at=START)
                for post in POSTS
            ],
        ]
        for command in setup:
            await application.execute(command, MODERATOR_META)
        comments: list[str] = []
        for index, step in enumerate(history):
            command = command_for(site, step, index, comments, model)
            allowed = model.allows(command)
            event(f"{step.kind} {'accepted' if allowed else 'refused'}")
            try:
                await application.execute(command, MODERATOR_META)
            except DomainError as error:
                assert not allowed, (command, error)
                continue
            assert allowed, command
            model.apply(command)
            if isinstance(command, commands.PostComment):
                comments.append(command.comment_id)
    finally:
        await application.close()
    await settled(pool, site)
    return site, model


async def settled(pool: Pool, site: str) -> None:
    streams = [post_stream_id(site, post) for post in POSTS] + [site_stream_id(site)]
    async with pool.acquire() as connection:
        written = sum([len(await store.read_stream(connection, s)) for s in streams])
        for _ in range(3000):
            visible = await store.read_all(connection, cursors.START, 1_000_000, site=site)
            if len(visible) == written:
                return
            await asyncio.sleep(0.01)
    raise AssertionError(f"read_all still hides events of {site}")


async def assert_nothing_hidden_shows(connection: Connection, site: str, model: Model) -> None:
    rows = await connection.fetch("SELECT * FROM thread_comments WHERE site = $1", site)
    by_id = {row["comment_id"]: row for row in rows}
    assert {comment_id: row["status"] for comment_id, row in by_id.items()} == model.status
    for row in rows:
        published_below = sum(
            1
            for other in rows
            if row["comment_id"] in other["ancestors"] and other["status"] == "published"
        )
        # Only a hidden comment keeps its count (a published one is shown anyway).
        hidden = row["status"] != "published"
        assert row["live_descendants"] == (published_below if hidden else 0)
    posts = await connection.fetch("SELECT * FROM posts WHERE site = $1", site)
    for post in posts:
        published = [c for c, p in model.post_of.items() if p == post["post_id"]]
        live = [c for c in published if model.status[c] == "published"]
        assert post["comment_count"] == len(live)
        assert post["closed"] == (post["post_id"] in model.closed)
        page = await threads.thread_page(
            connection, site, post["post_id"], newest_first=False, after=None, limit=200
        )
        assert page is not None
        body = thread_body(post["post_id"], page).decode()
        for comment_id in published:
            shown_with_text = f'"id":"{comment_id}","parent_id"'
            if model.status[comment_id] != "published" and shown_with_text in body:
                # Only as a tombstone: no author, no body.
                view = body[body.index(shown_with_text) :]
                assert view.split('"author":', 1)[1].startswith("null")
    labels = await connection.fetch("SELECT label, post_count FROM labels WHERE site = $1", site)
    assert [(row["label"], row["post_count"]) for row in labels] == [("News", len(POSTS))]


SITE_TABLES = """
SELECT table_name FROM information_schema.columns
WHERE table_schema = 'public' AND column_name = 'site'
"""


async def assert_erased_words_are_gone(connection: Connection, site: str, model: Model) -> None:
    """In every row of the site, the log's included, nothing an erased comment said."""
    erased = [said(c) for c, status in model.status.items() if status == "erased"]
    event(f"{len(erased) // 3 * 3}+ comments erased")
    if not erased:
        return
    for row in await connection.fetch(SITE_TABLES):
        table = row["table_name"]
        found = await connection.fetchval(
            f"SELECT count(*) FROM {table} t WHERE site = $1 AND t::text ~ $2",
            site,
            "|".join(erased),
        )
        assert found == 0, (table, erased)


@settings(examples, max_examples=60)
@given(history=steps)
async def test_moderation_keeps_the_read_models_equal_to_a_replay(
    pool: Pool, history: list[Step]
) -> None:
    site, model = await run(pool, history)
    async with replayed(pool, site) as connection:
        inline = await site_rows(connection, "public", site)
        replay = await site_rows(connection, "replay_check", site)
        assert replay == inline
        await connection.execute("RESET search_path")
        await assert_nothing_hidden_shows(connection, site, model)
        await assert_erased_words_are_gone(connection, site, model)
        events = await store.read_all(connection, cursors.START, 1_000_000, site=site)
        for projection in INLINE:
            before = await site_rows(connection, "public", site, projection.TABLES)
            async with rolled_back(connection):
                for recorded in events:
                    await projection.apply(connection, [recorded])
                after = await site_rows(connection, "public", site, projection.TABLES)
            assert after == before, projection.NAME
