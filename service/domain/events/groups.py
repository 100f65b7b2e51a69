"""The events of groups of sites, each group on a stream of its own."""

from datetime import datetime

from service.domain.events.base import Event


class GroupEvent(Event):
    """An event of a group's own stream (`group:<name>`): which sites it gathers. It belongs to
    no one site, so its `site` is empty and only subscribers of every site see it."""

    site: str = ""
    group: str
    at: datetime


class GroupCreated(GroupEvent):
    event_type = "group.created"
    sites: tuple[str, ...]


class GroupSiteAdded(GroupEvent):
    event_type = "group.site_added"
    member: str


class GroupSiteRemoved(GroupEvent):
    event_type = "group.site_removed"
    member: str


class GroupDeleted(GroupEvent):
    event_type = "group.deleted"
