"""Hypothesis strategies for histories: abstract steps that `model.Model` turns into commands.

A step names its targets by small indices (a post slot, the n-th comment so far), so that a
history shrinks well and stays meaningful whatever happened before it: a reply may land on a
deleted comment or on another post's comment, a delete may come twice, and those commands must
be rejected. Steps come in groups that are executed concurrently (one write batch); a step only
targets comments of earlier groups, as a client only learns a comment's id once it is stored.
"""

import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from hypothesis import strategies as st

POST_SLOTS = 3

UNICODE_NFC = unicodedata.normalize("NFC", "Ünïcode")
UNICODE_NFD = unicodedata.normalize("NFD", "Ünïcode")

# Spellings of a few labels: each group is one label to a reader (case, surrounding space,
# Unicode form and full case folding, e.g. "ß" ~ "SS", "ﬀ" ~ "FF", and Greek whose title case
# has no composed form: "ᾷσμα" ~ "ᾼ͂σμα").
LABEL_GROUPS: tuple[tuple[str, ...], ...] = (
    ("Python", " python ", "PYTHON", "python", "pYtHoN  "),
    (UNICODE_NFC, UNICODE_NFD, UNICODE_NFC.upper(), " " + UNICODE_NFD.lower()),
    ("Straße", "STRASSE", "strasse"),
    ("ﬀ", "FF", "ff "),
    ("Go", "go"),
    ("ᾳ", "ᾼ", "\u0391\u0399"),  # the last is capital alpha, capital iota
    ("ᾷσμα", "ᾷσμα".title(), "ᾷσμα".upper()),
)
LABELS = tuple(label for group in LABEL_GROUPS for label in group)

PUBLISHED_AT = (
    None,
    datetime(2026, 1, 1, tzinfo=UTC),
    datetime(2026, 6, 1, 12, 30, tzinfo=UTC),
)


class DeleteAs(StrEnum):
    AUTHOR = "author"  # with the comment's own token
    WRONG_TOKEN = "wrong-token"  # an author, with another comment's token
    NO_TOKEN = "no-token"  # an author without a token
    MODERATOR = "moderator"


@dataclass(frozen=True)
class Publish:
    post: int
    title: str
    labels: tuple[str, ...]
    # True: labels go through `unique_labels` as the HTTP layer does; False: as drawn.
    normalize: bool
    published_at: datetime | None


@dataclass(frozen=True)
class Comment:
    post: int
    # False: on the post-th live post (if any); True: on post slot `post`, maybe unpublished.
    anywhere: bool


@dataclass(frozen=True)
class Reply:
    # The n-th newest (else oldest) comment stored before this group, modulo their number.
    target: int
    newest: bool
    # None: on the target's post; else on this post slot (maybe another post: rejected).
    post: int | None


class Pick(StrEnum):
    OLDEST = "oldest"  # the n-th oldest comment: mostly top-level ones
    NEWEST = "newest"  # the n-th newest comment: mostly replies, without replies yet
    ABOVE = "above"  # the parent of the n-th newest reply: a tombstone to be


@dataclass(frozen=True)
class DeleteComment:
    # Among the comments stored before this group, modulo their number.
    target: int
    pick: Pick
    by: DeleteAs


@dataclass(frozen=True)
class DeletePost:
    post: int


Step = Publish | Comment | Reply | DeleteComment | DeletePost

post_slots = st.integers(0, POST_SLOTS - 1)
targets = st.integers(0, 24)

titles = st.text(alphabet=st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=12)

publishes = st.builds(
    Publish,
    post=post_slots,
    title=st.one_of(st.just("Title"), titles),
    labels=st.lists(st.sampled_from(LABELS), max_size=4).map(tuple),
    normalize=st.booleans(),
    published_at=st.sampled_from(PUBLISHED_AT),
)
# Mostly on a post that exists (the model picks among the live ones).
comments = st.builds(Comment, post=post_slots, anywhere=st.sampled_from([False] * 5 + [True]))
# Small targets half the time: replies to the newest comments build chains; deletes mostly
# hit comments with a reply below them (tombstones).
replies = st.builds(
    Reply,
    target=st.one_of(st.integers(0, 1), targets),
    newest=st.booleans(),
    post=st.sampled_from([None] * 8 + list(range(POST_SLOTS))),
)
comment_deletes = st.builds(
    DeleteComment,
    target=st.one_of(st.integers(0, 2), targets),
    pick=st.sampled_from([Pick.ABOVE, Pick.ABOVE, Pick.NEWEST, Pick.OLDEST]),
    by=st.sampled_from([DeleteAs.AUTHOR, DeleteAs.MODERATOR] * 2 + list(DeleteAs)),
)
post_deletes = st.builds(DeletePost, post=post_slots)

# Comments and replies are drawn more often than the rest: threads need some depth; a post
# delete ends a thread, so it is drawn least.
# (`one_of` draws its distinct branches evenly, whatever repeats, hence the weighted draw.)
WEIGHTED: tuple[tuple[st.SearchStrategy[Step], int], ...] = (
    (comments, 6),
    (replies, 8),
    (comment_deletes, 4),
    (publishes, 3),
    (post_deletes, 1),
)
steps: st.SearchStrategy[Step] = st.sampled_from(
    [strategy for strategy, weight in WEIGHTED for _ in range(weight)]
).flatmap(lambda strategy: strategy)


@st.composite
def histories(draw: st.DrawFn, min_steps: int = 12, max_steps: int = 25) -> list[list[Step]]:
    """A first publish (so that most histories have a thread), then anything, cut into groups:
    the commands of a group are executed concurrently, so that they commit as one batch."""
    first = draw(publishes)
    rest = draw(st.lists(steps, min_size=min_steps - 1, max_size=max_steps - 1))
    # Shrinks towards False: one command per group, unless batching matters.
    joins = draw(st.lists(st.booleans(), min_size=len(rest), max_size=len(rest)))
    groups: list[list[Step]] = [[first]]
    for step, joins_previous in zip(rest, joins, strict=True):
        if joins_previous:
            groups[-1].append(step)
        else:
            groups.append([step])
    return groups
