"""What every import format reads into: the posts and comments of a source, in its own ids.

A reader yields these in the order its file holds them; the staging area (staging.py) puts
threads back together whatever that order was.
"""

from dataclasses import dataclass, field
from datetime import datetime

from service.domain.events import CommentStatus, DeletedBy


class BadSource(Exception):
    """The file is not what its format says, or is hostile (an XML bomb, external entities)."""


@dataclass(frozen=True, slots=True)
class SourcePost:
    source_id: str
    url: str
    title: str
    labels: tuple[str, ...] = ()
    published_at: datetime | None = None
    # The source's own short name of the post (WordPress `post_name`), when it has one.
    slug: str | None = None


@dataclass(frozen=True, slots=True)
class SourceComment:
    source_id: str
    # The post it is on; a reader that cannot tell a post from a comment here (Blogger's
    # `thr:in-reply-to`) gives the id it has, and staging finds which one it is.
    post_ref: str
    parent_ref: str | None
    author_name: str
    author_website: str | None
    written_at: datetime
    # The text, and the sanitised HTML shown (see sources.py: how each format's are made).
    body: str
    body_html: str
    status: CommentStatus = CommentStatus.PUBLISHED
    deleted_by: DeletedBy = DeletedBy.MODERATOR


@dataclass(frozen=True, slots=True)
class Skipped:
    """Something of the source that is not imported, and why (the summary counts reasons)."""

    reason: str
    source_id: str = ""


SourceItem = SourcePost | SourceComment | Skipped


@dataclass(slots=True)
class Summary:
    posts: int = 0
    comments: int = 0
    # Already there from an earlier run: nothing was appended for them.
    unchanged: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    # Imported, but not quite as the source had it (a reply without its parent).
    notes: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str, count: int = 1) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + count

    def note(self, what: str, count: int = 1) -> None:
        self.notes[what] = self.notes.get(what, 0) + count

    def lines(self, dry_run: bool) -> list[str]:
        verb = "would import" if dry_run else "imported"
        found = [f"{verb} {self.posts} posts and {self.comments} comments"]
        if self.unchanged:
            found.append(f"already imported (unchanged): {self.unchanged}")
        found += [f"note, {count}: {what}" for what, count in sorted(self.notes.items())]
        found += [f"skipped {count}: {reason}" for reason, count in sorted(self.skipped.items())]
        return found
