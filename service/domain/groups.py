"""Groups of sites (a course whose members comment on each other's blogs): their commands, and
the decisions on a group's own stream. A group only gathers sites for reading; moderation stays
with each site."""

from datetime import datetime
from typing import Annotated

from pydantic import Field

from service.domain.errors import DomainError
from service.domain.events import (
    Event,
    Frozen,
    GroupCreated,
    GroupDeleted,
    GroupSiteAdded,
    GroupSiteRemoved,
)

# The same shape as a site's name: it goes in URLs (`/v1/groups/<name>`) as it is.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$"
GroupName = Annotated[str, Field(pattern=NAME_PATTERN)]
# A group's recent comments read each member's newest: this bounds what one read costs.
MAX_MEMBERS = 100


class GroupNotFound(DomainError):
    status, slug, title = 404, "not-found", "Group not found"


class GroupExists(DomainError):
    status, slug, title = 422, "validation-failed", "Group exists"


class GroupMemberNotFound(DomainError):
    status, slug, title = 404, "not-found", "Site not in the group"


class GroupTooBig(DomainError):
    status, slug, title = 422, "validation-failed", "Too many sites in the group"


class GroupState(Frozen):
    """What deciding needs: whether the group exists now, and its sites."""

    exists: bool = False
    sites: frozenset[str] = frozenset()


class GroupCommand(Frozen):
    group: GroupName
    at: datetime


class CreateGroup(GroupCommand):
    sites: tuple[str, ...]


class AddGroupSite(GroupCommand):
    site: str


class RemoveGroupSite(GroupCommand):
    site: str


class DeleteGroup(GroupCommand):
    pass


def decide_group(command: GroupCommand, state: GroupState) -> list[Event]:
    """Adding a member twice appends nothing; the sites themselves are checked by the caller
    (they live outside the log)."""
    match command:
        case CreateGroup() if state.exists:
            raise GroupExists(f"group {command.group!r} exists already")
        case CreateGroup():
            sites = tuple(sorted(set(command.sites)))
            if len(sites) > MAX_MEMBERS:
                raise GroupTooBig(f"a group gathers at most {MAX_MEMBERS} sites")
            return [GroupCreated(group=command.group, sites=sites, at=command.at)]
    if not state.exists:
        raise GroupNotFound(f"group {command.group!r} does not exist")
    match command:
        case AddGroupSite() if command.site in state.sites:
            return []
        case AddGroupSite() if len(state.sites) >= MAX_MEMBERS:
            raise GroupTooBig(f"a group gathers at most {MAX_MEMBERS} sites")
        case AddGroupSite():
            return [GroupSiteAdded(group=command.group, member=command.site, at=command.at)]
        case RemoveGroupSite() if command.site not in state.sites:
            raise GroupMemberNotFound(f"site {command.site!r} is not in group {command.group!r}")
        case RemoveGroupSite():
            return [GroupSiteRemoved(group=command.group, member=command.site, at=command.at)]
        case DeleteGroup():
            return [GroupDeleted(group=command.group, at=command.at)]
    raise TypeError(f"unknown command {type(command).__name__}")


def evolve_group(state: GroupState, event: Event) -> GroupState:
    match event:
        case GroupCreated():
            return GroupState(exists=True, sites=frozenset(event.sites))
        case GroupSiteAdded():
            return state.model_copy(update={"sites": state.sites | {event.member}})
        case GroupSiteRemoved():
            return state.model_copy(update={"sites": state.sites - {event.member}})
        case GroupDeleted():
            return GroupState()
    return state
