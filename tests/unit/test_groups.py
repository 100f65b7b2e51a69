"""Groups of sites, decided purely: given a group's events, when a command, then events."""

from datetime import UTC, datetime
from functools import reduce

import pytest

from service.domain.events import (
    Event,
    GroupCreated,
    GroupDeleted,
    GroupSiteAdded,
    GroupSiteRemoved,
)
from service.domain.groups import (
    MAX_MEMBERS,
    AddGroupSite,
    CreateGroup,
    DeleteGroup,
    GroupExists,
    GroupMemberNotFound,
    GroupNotFound,
    GroupState,
    GroupTooBig,
    RemoveGroupSite,
    decide_group,
    evolve_group,
)
from service.eventstore.cloudevents import source_of, subject_of

AT = datetime(2026, 11, 30, tzinfo=UTC)


def given(*events: Event) -> GroupState:
    return reduce(evolve_group, events, GroupState())


def created(*sites: str) -> GroupCreated:
    return GroupCreated(group="course", sites=sites, at=AT)


def test_creating_records_its_sites_once_in_order() -> None:
    command = CreateGroup(group="course", sites=("b", "a", "b"), at=AT)
    assert decide_group(command, given()) == [created("a", "b")]
    with pytest.raises(GroupExists):
        decide_group(command, given(created("a")))


def test_members_come_and_go() -> None:
    state = given(created("a"))
    added = decide_group(AddGroupSite(group="course", site="b", at=AT), state)
    assert added == [GroupSiteAdded(group="course", member="b", at=AT)]
    assert decide_group(AddGroupSite(group="course", site="a", at=AT), state) == []
    removed = decide_group(RemoveGroupSite(group="course", site="a", at=AT), state)
    assert removed == [GroupSiteRemoved(group="course", member="a", at=AT)]
    assert given(created("a"), *added, *removed).sites == {"b"}
    with pytest.raises(GroupMemberNotFound):
        decide_group(RemoveGroupSite(group="course", site="z", at=AT), state)


def test_a_deleted_group_is_gone_and_can_be_made_again() -> None:
    deleted = given(created("a"), GroupDeleted(group="course", at=AT))
    assert deleted == GroupState()
    for command in (
        AddGroupSite(group="course", site="b", at=AT),
        RemoveGroupSite(group="course", site="a", at=AT),
        DeleteGroup(group="course", at=AT),
    ):
        with pytest.raises(GroupNotFound):
            decide_group(command, deleted)
    assert decide_group(CreateGroup(group="course", sites=("c",), at=AT), deleted) == [created("c")]


def test_a_group_is_bounded() -> None:
    many = tuple(f"s{n}" for n in range(MAX_MEMBERS + 1))
    with pytest.raises(GroupTooBig):
        decide_group(CreateGroup(group="course", sites=many, at=AT), given())
    full = given(created(*many[:MAX_MEMBERS]))
    with pytest.raises(GroupTooBig):
        decide_group(AddGroupSite(group="course", site="new", at=AT), full)


def test_group_events_belong_to_no_site() -> None:
    assert created("a").site == ""


def test_group_events_are_cloud_events_of_the_group() -> None:
    added = GroupSiteAdded(group="course", member="anna", at=AT).model_dump(mode="json")
    assert source_of(added) == "/v1/groups/course" and subject_of(added) == "sites/anna"
    assert subject_of(created("a").model_dump(mode="json")) == "sites"
    assert source_of({"site": "anna", "post_id": "p"}) == "/v1/sites/anna"
