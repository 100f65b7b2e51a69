"""Groups of sites from a shell: `threadlog groups create|add|remove|delete|list|show`. Each
change is an event on the group's stream (service/ops/groups.py)."""

import argparse
import asyncio
import getpass
import json
import sys
from datetime import UTC, datetime
from typing import Any

from service.cli.common import connected, database_url
from service.cli.subcommands import DATABASE, command
from service.domain.errors import DomainError
from service.domain.groups import (
    AddGroupSite,
    CreateGroup,
    DeleteGroup,
    GroupCommand,
    RemoveGroupSite,
)
from service.ops import groups
from service.settings import Settings


def add_groups(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    def sub(name: str, what: str, example: str) -> argparse.ArgumentParser:
        parser = command(actions, name, what, [DATABASE], [example])
        if name != "list":
            parser.add_argument("group")
        return parser

    groups_command = commands.add_parser(
        "groups",
        help="groups of sites: their recent comments and labels read together",
        description="groups of sites (a course whose members comment on each other's blogs): "
        "their recent comments and labels read together; moderation stays per site",
    )
    actions = groups_command.add_subparsers(dest="action", required=True, metavar="action")
    create = sub("create", "create a group of sites", "threadlog groups create course --site a")
    create.add_argument("--site", action="append", default=[], dest="sites", metavar="SITE")
    add = sub("add", "add a site to a group", "threadlog groups add course --site c")
    add.add_argument("--site", required=True)
    remove = sub("remove", "remove a site from a group", "threadlog groups remove course --site c")
    remove.add_argument("--site", required=True)
    sub("delete", "delete a group (its sites stay as they are)", "threadlog groups delete course")
    sub("list", "list the groups and how many sites each has", "threadlog groups list")
    sub("show", "show a group and its sites, as JSON", "threadlog groups show course")


def command_of(arguments: argparse.Namespace, at: datetime) -> GroupCommand:
    group = arguments.group
    match arguments.action:
        case "create":
            return CreateGroup(group=group, sites=tuple(arguments.sites), at=at)
        case "add":
            return AddGroupSite(group=group, site=arguments.site, at=at)
        case "remove":
            return RemoveGroupSite(group=group, site=arguments.site, at=at)
    return DeleteGroup(group=group, at=at)


async def change(url: str, command: GroupCommand) -> bool:
    """True when the command changed the group (adding a member twice changes nothing)."""
    metadata = {"actor": {"kind": "operator", "user": getpass.getuser()}, "request_id": "cli"}
    async with connected(url) as connection:
        return bool(await groups.change_group(connection, command, metadata))


async def listing(url: str) -> list[dict[str, Any]]:
    async with connected(url) as connection:
        return await groups.list_groups(connection)


async def shown(url: str, group: str) -> dict[str, Any]:
    async with connected(url) as connection:
        return await groups.show_group(connection, group)


def run(arguments: argparse.Namespace, settings: Settings) -> None:
    url = database_url(settings)
    try:
        match arguments.action:
            case "list":
                rows = asyncio.run(listing(url))
                for row in rows:
                    print(
                        f"{row['group']}\t{row['sites']} sites\tsince {row['created_at']:%Y-%m-%d}"
                    )
                if not rows:
                    print("no groups yet: `threadlog groups create NAME --site SITE` makes one")
            case "show":
                print(json.dumps(asyncio.run(shown(url, arguments.group)), indent=2))
            case _:
                command = command_of(arguments, datetime.now(UTC))
                changed = asyncio.run(change(url, command))
                done = {"create": "created", "add": "added to", "remove": "removed from"}
                verb = done.get(arguments.action, "deleted")
                print(f"group {arguments.group}: {verb if changed else 'unchanged'}")
    except DomainError as error:
        sys.exit(f"threadlog: {error.detail}")
