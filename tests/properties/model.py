"""An independent model of a site: a plain Python fold over the commands, written from the
rules (not from the service's code), that says which commands must be rejected and what every
read must show."""

import copy
import hashlib
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from service.domain import commands
from service.domain.errors import (
    CommentAlreadyDeleted,
    CommentNotFound,
    DomainError,
    ParentNotFound,
    PostGone,
    PostIdRetired,
    PostNotFound,
    WrongDeleteToken,
)
from service.domain.events import Author, DeletedBy
from service.domain.labels import unique_labels
from tests.properties import strategies as s

START = datetime(2026, 3, 1, tzinfo=UTC)
MISSING_COMMENT = "c-missing"


def post_id(slot: int) -> str:
    return f"p{slot}"


def token(comment_id: str) -> bytes:
    return hashlib.sha256(f"token {comment_id}".encode()).digest()


def same_label(label: str) -> str:
    """Unicode canonical caseless matching (D145), after trimming surrounding space."""
    return unicodedata.normalize("NFD", unicodedata.normalize("NFD", label.strip()).casefold())


@dataclass
class Post:
    title: str
    url: str
    labels: tuple[str, ...]
    published_at: datetime
    deleted: bool = False


@dataclass
class Comment:
    post_id: str
    parent_id: str | None
    deleted_by: str | None = None


@dataclass
class Label:
    # The posts carrying the label, each with its own spelling of it.
    spellings: dict[str, str]


@dataclass
class Model:
    posts: dict[str, Post] = field(default_factory=dict)
    # In creation order (dicts keep insertion order).
    comments: dict[str, Comment] = field(default_factory=dict)
    labels: dict[str, Label] = field(default_factory=dict)
    accepted: list[commands.Command] = field(default_factory=list)
    # The comments stored before the current group: the only ones its steps can name.
    stored: list[str] = field(default_factory=list)

    # --- turning abstract steps into commands -------------------------------------------

    def begin_group(self) -> None:
        self.stored = list(self.comments)

    def command_for(self, site: str, index: int, step: s.Step) -> commands.Command:
        at = START + timedelta(minutes=index)
        match step:
            case s.Publish():
                labels = unique_labels(list(step.labels)) if step.normalize else step.labels
                return commands.PublishPost(
                    site=site,
                    post_id=post_id(step.post),
                    title=step.title,
                    url=f"https://blog.example/{step.post}",
                    labels=labels,
                    published_at=step.published_at,
                    at=at,
                )
            case s.Comment():
                live = self.live_posts()
                if step.anywhere or not live:
                    return self.new_comment(site, index, post_id(step.post), None, at)
                return self.new_comment(site, index, live[step.post % len(live)], None, at)
            case s.Reply():
                # From the newest, replies build chains; from the oldest, they fan out.
                parent_id = self.nth_comment(-1 - step.target if step.newest else step.target)
                parent = self.comments.get(parent_id)
                if step.post is not None:
                    on_post = post_id(step.post)
                elif parent is not None:
                    on_post = parent.post_id
                else:
                    on_post = next(iter(self.live_posts()), post_id(0))
                return self.new_comment(site, index, on_post, parent_id, at)
            case s.DeleteComment():
                parents = [p for c in self.stored if (p := self.comments[c].parent_id)]
                if step.pick is s.Pick.ABOVE and parents:
                    comment_id = parents[-1 - step.target % len(parents)]
                elif step.pick is s.Pick.NEWEST:
                    comment_id = self.nth_comment(-1 - step.target)
                else:
                    comment_id = self.nth_comment(step.target)
                by = DeletedBy.MODERATOR if step.by is s.DeleteAs.MODERATOR else DeletedBy.AUTHOR
                presented = {
                    s.DeleteAs.AUTHOR: token(comment_id),
                    s.DeleteAs.WRONG_TOKEN: token(comment_id + "-other"),
                    s.DeleteAs.NO_TOKEN: None,
                    s.DeleteAs.MODERATOR: None,
                }[step.by]
                return commands.DeleteComment(
                    site=site,
                    comment_id=comment_id,
                    by=by,
                    reason="spam" if by is DeletedBy.MODERATOR else None,
                    delete_token_sha256=presented,
                )
            case s.DeletePost():
                return commands.DeletePost(site=site, post_id=post_id(step.post))
        raise TypeError(step)

    def nth_comment(self, n: int) -> str:
        ids = self.stored
        return ids[n % len(ids)] if ids else MISSING_COMMENT

    @staticmethod
    def new_comment(
        site: str, index: int, post: str, parent_id: str | None, at: datetime
    ) -> commands.PostComment:
        comment_id = f"c{index}"
        body = f"comment {index} ünï"
        return commands.PostComment(
            site=site,
            post_id=post,
            comment_id=comment_id,
            parent_id=parent_id,
            author=Author(
                name=f"Author {index}", website=None if index % 2 else "https://a.example"
            ),
            body=body,
            body_html=f"<p>{body}</p>",
            at=at,
            delete_token_sha256=token(comment_id),
        )

    # --- the rules ------------------------------------------------------------------------

    def rejection(self, command: commands.Command) -> type[DomainError] | None:
        """The error the command must raise, or None when it must be accepted."""
        match command:
            case commands.PublishPost():
                post = self.posts.get(command.post_id)
                return PostIdRetired if post is not None and post.deleted else None
            case commands.DeletePost():
                return self.post_rejection(command.post_id)
            case commands.PostComment():
                if error := self.post_rejection(command.post_id):
                    return error
                if command.parent_id is None:
                    return None
                parent = self.comments.get(command.parent_id)
                if parent is None or parent.post_id != command.post_id or parent.deleted_by:
                    return ParentNotFound
                return None
            case commands.DeleteComment():
                comment = self.comments.get(command.comment_id)
                if comment is None or self.posts[comment.post_id].deleted:
                    return CommentNotFound
                if comment.deleted_by:
                    return CommentAlreadyDeleted
                if command.by is DeletedBy.AUTHOR and command.delete_token_sha256 != token(
                    command.comment_id
                ):
                    return WrongDeleteToken
                return None
        raise TypeError(command)

    def unchanged(self, command: commands.Command) -> bool:
        """An accepted command that changes nothing (a re-publish of the same content)."""
        if not isinstance(command, commands.PublishPost):
            return False
        post = self.posts.get(command.post_id)
        return post is not None and (post.title, post.url, post.labels, post.published_at) == (
            command.title,
            command.url,
            command.labels,
            command.published_at or post.published_at,
        )

    def post_rejection(self, post: str) -> type[DomainError] | None:
        if post not in self.posts:
            return PostNotFound
        return PostGone if self.posts[post].deleted else None

    def accept(self, command: commands.Command) -> None:
        self.accepted.append(command)
        match command:
            case commands.PublishPost():
                known = self.posts.get(command.post_id)
                published_at = command.published_at or (known.published_at if known else command.at)
                self.posts[command.post_id] = Post(
                    command.title, command.url, command.labels, published_at
                )
                self.set_labels(command.post_id, command.labels)
            case commands.DeletePost():
                self.posts[command.post_id].deleted = True
                self.set_labels(command.post_id, ())
            case commands.PostComment():
                self.comments[command.comment_id] = Comment(command.post_id, command.parent_id)
            case commands.DeleteComment():
                self.comments[command.comment_id].deleted_by = command.by.value

    def set_labels(self, post: str, labels: tuple[str, ...]) -> None:
        wanted: dict[str, str] = {}
        for label in labels:
            wanted.setdefault(same_label(label), label)
        for key, known in list(self.labels.items()):
            if key not in wanted:
                known.spellings.pop(post, None)
                if not known.spellings:
                    del self.labels[key]
        for key, spelling in wanted.items():
            self.labels.setdefault(key, Label({})).spellings[post] = spelling

    def linearized(
        self,
        logged: list[commands.Command],
        silent: list[commands.Command],
        rejected: list[tuple[commands.Command, type[DomainError]]],
    ) -> "Model":
        """The model after commands that ran concurrently: `logged` in the order of their events
        in the log, each accepted where it stands; each rejected one, and each accepted without
        events, must be so at some point of that order (any order of concurrent requests is
        right, as long as the log tells it)."""
        states = [self]
        for command in logged:
            state = copy.deepcopy(states[-1])
            due = state.rejection(command)
            assert due is None, f"{command!r} was accepted where {due.__name__} was due"
            assert not state.unchanged(command), f"{command!r} changed nothing, yet was logged"
            state.accept(command)
            states.append(state)
        for command, error in rejected:
            dues = [state.rejection(command) for state in states]
            assert error in dues, f"{command!r} raised {error.__name__}; due: {dues}"
        for command in silent:
            assert any(
                state.rejection(command) is None and state.unchanged(command) for state in states
            ), f"{command!r} was accepted without events"
        final = states[-1]
        final.accepted.extend(silent)
        return final

    # --- what reads must show -----------------------------------------------------------

    def live_posts(self) -> list[str]:
        return [p for p, post in self.posts.items() if not post.deleted]

    def live_count(self, post: str) -> int:
        if post not in self.posts or self.posts[post].deleted:
            return 0
        return sum(1 for c in self.comments.values() if c.post_id == post and c.deleted_by is None)

    def has_live_descendant(self, comment_id: str) -> bool:
        return any(
            c.deleted_by is None or self.has_live_descendant(child)
            for child, c in self.comments.items()
            if c.parent_id == comment_id
        )

    def ancestors(self, comment_id: str) -> list[str]:
        parent_id = self.comments[comment_id].parent_id
        return [*self.ancestors(parent_id), parent_id] if parent_id else []

    def live_descendants(self, comment_id: str) -> int:
        return sum(
            (c.deleted_by is None) + self.live_descendants(child)
            for child, c in self.comments.items()
            if c.parent_id == comment_id
        )

    def thread(self, post: str) -> list[dict[str, Any]]:
        """Shown comments, nested, oldest first: every live comment, and a deleted one (as a
        tombstone) iff some comment below it is live."""

        def shown(parent_id: str | None) -> list[dict[str, Any]]:
            return [
                {"id": comment_id, "deleted": c.deleted_by, "replies": shown(comment_id)}
                for comment_id, c in self.comments.items()
                if c.post_id == post
                and c.parent_id == parent_id
                and (c.deleted_by is None or self.has_live_descendant(comment_id))
            ]

        return shown(None)

    def shown(self, label: Label) -> str:
        """A label is shown as the earliest published post carrying it spells it (ties by post
        id): what posts carry it now decides, not the order concurrent writes committed in."""
        first = min(label.spellings, key=lambda post: (self.posts[post].published_at, post))
        return label.spellings[first]

    def label_index(self) -> dict[str, int]:
        return {self.shown(label): len(label.spellings) for label in self.labels.values()}

    def label_posts(self) -> dict[str, set[str]]:
        return {self.shown(label): set(label.spellings) for label in self.labels.values()}
