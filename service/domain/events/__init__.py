"""Events: frozen facts. Their `event_type` names are stored and published and never change.

Each kind of stream's events live in a module of their own (posts, comments, sites, groups, over
base); they are all imported from here, and `EVENT_TYPES` below is the one registry of the names
the log may hold. A new event type is a class in its module, an entry in a tuple below, and its
name in `__all__`.
"""

from service.domain.events.base import Event, Frozen, PostEvent
from service.domain.events.comments import (
    Author,
    CommentApproved,
    CommentDeleted,
    CommentEdited,
    CommentErased,
    CommentEvent,
    CommentHeld,
    CommentPosted,
    CommentRejected,
    CommentReplied,
    CommentReported,
    CommentRestored,
    CommentStatus,
    DeletedBy,
    NewComment,
    RejectReason,
    ReportReason,
    author_key,
)
from service.domain.events.groups import (
    GroupCreated,
    GroupDeleted,
    GroupEvent,
    GroupSiteAdded,
    GroupSiteRemoved,
)
from service.domain.events.posts import (
    PostContent,
    PostDeleted,
    PostPublished,
    PostUpdated,
    ThreadClosed,
    ThreadReopened,
)
from service.domain.events.sites import (
    AuthorBanned,
    AuthorErased,
    AuthorUnbanned,
    BanMatch,
    ErasureRequester,
    SiteEvent,
    SiteSettingsChanged,
)

GROUP_TYPES: tuple[type[Event], ...] = (
    GroupCreated,
    GroupSiteAdded,
    GroupSiteRemoved,
    GroupDeleted,
)

MODERATION_TYPES: tuple[type[Event], ...] = (
    CommentHeld,
    CommentApproved,
    CommentRejected,
    CommentRestored,
    CommentReported,
    CommentEdited,
    ThreadClosed,
    ThreadReopened,
    SiteSettingsChanged,
    AuthorBanned,
    AuthorUnbanned,
)

PRIVACY_TYPES: tuple[type[Event], ...] = (AuthorErased, CommentErased)

CORE_TYPES: tuple[type[Event], ...] = (
    PostPublished,
    PostUpdated,
    PostDeleted,
    CommentPosted,
    CommentReplied,
    CommentDeleted,
)

EVENT_TYPES: dict[str, type[Event]] = {
    cls.event_type: cls for cls in (*CORE_TYPES, *MODERATION_TYPES, *PRIVACY_TYPES, *GROUP_TYPES)
}

__all__ = [
    "CORE_TYPES",
    "EVENT_TYPES",
    "GROUP_TYPES",
    "MODERATION_TYPES",
    "PRIVACY_TYPES",
    "Author",
    "AuthorBanned",
    "AuthorErased",
    "AuthorUnbanned",
    "BanMatch",
    "CommentApproved",
    "CommentDeleted",
    "CommentEdited",
    "CommentErased",
    "CommentEvent",
    "CommentHeld",
    "CommentPosted",
    "CommentRejected",
    "CommentReplied",
    "CommentReported",
    "CommentRestored",
    "CommentStatus",
    "DeletedBy",
    "ErasureRequester",
    "Event",
    "Frozen",
    "GroupCreated",
    "GroupDeleted",
    "GroupEvent",
    "GroupSiteAdded",
    "GroupSiteRemoved",
    "NewComment",
    "PostContent",
    "PostDeleted",
    "PostEvent",
    "PostPublished",
    "PostUpdated",
    "RejectReason",
    "ReportReason",
    "SiteEvent",
    "SiteSettingsChanged",
    "ThreadClosed",
    "ThreadReopened",
    "author_key",
]
