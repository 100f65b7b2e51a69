"""Sites and keys from a shell: `threadlog sites ...` and `threadlog keys ...`, their grammar
and each a thin wrapper around a function of access/ or ops/, with its output shaped for a
terminal."""

import argparse
import getpass
import json
from datetime import datetime
from typing import Any

from service.access import credentials
from service.access.credentials import KeyListing, Role
from service.access.site_settings import SettingsChange
from service.cli.common import command_application, connected
from service.cli.subcommands import DATABASE, command
from service.domain.commands import ChangeSiteSettings
from service.domain.policy import Premoderation, SiteSettings
from service.ops import sites as site_reports
from service.read import moderation as moderation_reads


def add_sites(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    sites = command(
        commands,
        "sites",
        "create, list, show and configure sites (settings, allowed origins)",
        [DATABASE],
        ["threadlog sites list"],
    ).add_subparsers(dest="action", required=True, metavar="action")
    create = command(
        sites,
        "create",
        "register a site, with the origins its pages are served from (for CORS)",
        [DATABASE],
        ["threadlog sites create blog --title 'My blog' --origin https://blog.example"],
    )
    create.add_argument("site")
    create.add_argument("--title")
    create.add_argument(
        "--origin",
        action="append",
        default=[],
        dest="origins",
        metavar="URL",
        help="scheme://host[:port], no path; repeat for several",
    )
    command(
        sites,
        "list",
        "list the sites: title, created, active keys, origins",
        [DATABASE],
        ["threadlog sites list"],
    )
    show = command(
        sites,
        "show",
        "show one site as JSON: details, moderation settings, origins and counts",
        [DATABASE],
        ["threadlog sites show blog"],
    )
    show.add_argument("site")
    change = command(
        sites,
        "set",
        "change a site's moderation settings (recorded in its audit as the operator's)",
        [DATABASE],
        ["threadlog sites set blog --premoderation first-time --banned-word 'viagra*'"],
    )
    add_settings_arguments(change)
    origins = command(
        sites,
        "set-origins",
        "replace the origins a site's pages are served from (for CORS); running instances "
        "follow at once",
        [DATABASE],
        [
            "threadlog sites set-origins blog --origin https://blog.example --origin https://www.blog.example"
        ],
    )
    origins.add_argument("site")
    given = origins.add_mutually_exclusive_group(required=True)
    given.add_argument(
        "--origin",
        action="append",
        default=[],
        dest="origins",
        metavar="URL",
        help="scheme://host[:port], no path; repeat for several; replaces the list",
    )
    given.add_argument(
        "--no-origins", action="store_true", help="allow no browser origin (server-side calls only)"
    )


def add_keys(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    keys = command(
        commands,
        "keys",
        "create, list and revoke API keys",
        [DATABASE],
        ["threadlog keys list --site blog"],
    ).add_subparsers(dest="action", required=True, metavar="action")
    create = command(
        keys,
        "create",
        "create an API key; it is shown once, on the last line",
        [DATABASE],
        ["threadlog keys create --site blog --role moderator"],
    )
    create.add_argument("--site", required=True)
    create.add_argument("--role", required=True, choices=[role.value for role in Role])
    listing = command(
        keys,
        "list",
        "list keys (never their secrets): id, site, role, created, last used (to the minute), "
        "revoked",
        [DATABASE],
        ["threadlog keys list", "threadlog keys list --site blog --json"],
    )
    listing.add_argument("--site", help="only this site's keys")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    revoke = command(
        keys,
        "revoke",
        "revoke a key: every instance answers 401 to it from the next request on",
        [DATABASE],
        ["threadlog keys revoke 3f9a1c2b4d5e"],
    )
    revoke.add_argument("key_id", metavar="KEY_ID", help="the id: the hex after tl_ in the key")


async def create_site(url: str, site: str, title: str | None, origins: list[str]) -> None:
    async with connected(url) as connection:
        await credentials.create_site(connection, site, title, origins)


async def set_origins(url: str, site: str, origins: list[str]) -> list[str]:
    async with connected(url) as connection:
        return await credentials.set_origins(connection, site, origins)


async def create_key(url: str, site: str, role: str) -> str:
    async with connected(url) as connection:
        return await credentials.create_key(connection, site, Role(role))


async def list_keys(url: str, site: str | None) -> list[KeyListing]:
    async with connected(url) as connection:
        if site is not None and not await credentials.site_exists(connection, site):
            raise credentials.UnknownSite(site)
        return await credentials.list_keys(connection, site)


async def revoke_key(url: str, key_id: str) -> datetime:
    async with connected(url) as connection:
        return await credentials.revoke_key(connection, key_id)


async def list_sites(url: str) -> list[site_reports.SiteSummary]:
    async with connected(url) as connection:
        return await site_reports.list_sites(connection)


async def show_site(url: str, site: str) -> dict[str, Any]:
    async with connected(url) as connection:
        return await site_reports.show_site(connection, site)


def moment(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%SZ") if at else "-"


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )


def keys_table(keys: list[KeyListing]) -> str:
    header = ["id", "site", "role", "created", "last used", "revoked"]
    rows = [
        [key.key_id, key.site, key.role.value, moment(key.created_at),
         moment(key.last_used_at), moment(key.revoked_at)]
        for key in keys
    ]  # fmt: skip
    return table(header, rows)


def keys_json(keys: list[KeyListing]) -> str:
    return json.dumps(
        [
            {"id": key.key_id, "site": key.site, "role": key.role.value,
             "created_at": key.created_at.isoformat(),
             "last_used_at": key.last_used_at.isoformat() if key.last_used_at else None,
             "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None}
            for key in keys
        ],
        indent=2,
    )  # fmt: skip


def sites_table(found: list[site_reports.SiteSummary]) -> str:
    header = ["site", "title", "created", "active keys", "origins"]
    rows = [
        [site.site, site.title, moment(site.created_at), str(site.active_keys),
         " ".join(site.origins) or "-"]
        for site in found
    ]  # fmt: skip
    return table(header, rows)


# --- moderation settings ----------------------------------------------------------------------


def add_settings_arguments(change: argparse.ArgumentParser) -> None:
    change.add_argument("site")
    change.add_argument("--premoderation", choices=[p.value for p in Premoderation])
    change.add_argument(
        "--banned-word", action="append", dest="banned_words", help="repeat; replaces the list"
    )
    change.add_argument(
        "--suspect-word", action="append", dest="suspect_words", help="repeat; replaces the list"
    )
    change.add_argument("--no-banned-words", action="store_true")
    change.add_argument("--no-suspect-words", action="store_true")
    change.add_argument("--report-threshold", type=int)
    change.add_argument("--rate-limit", type=int, dest="rate_limit_per_minute", help="0: off")
    change.add_argument("--edit-window", type=int, dest="edit_window_minutes", help="minutes")
    change.add_argument("--close-after-days", type=int)


def settings_changes(arguments: argparse.Namespace) -> dict[str, Any]:
    """The options given, as a settings change; raises ValueError when one is out of range."""
    names = ("premoderation", "banned_words", "suspect_words", "report_threshold",
             "rate_limit_per_minute", "edit_window_minutes", "close_after_days")  # fmt: skip
    given = {name: getattr(arguments, name) for name in names}
    given = {name: value for name, value in given.items() if value is not None}
    given |= {"banned_words": []} if arguments.no_banned_words else {}
    given |= {"suspect_words": []} if arguments.no_suspect_words else {}
    return SettingsChange.model_validate(given).changes()


async def change_site_settings(url: str, site: str, changes: dict[str, Any]) -> SiteSettings:
    """Change a site's settings as an operator (recorded as such in the audit trail)."""
    async with connected(url) as connection:
        if not await credentials.site_exists(connection, site):
            raise credentials.UnknownSite(site)
    async with command_application(url) as (pool, application):
        meta = {"actor": {"kind": "operator", "user": getpass.getuser()},
                "request_id": "cli"}  # fmt: skip
        await application.execute(ChangeSiteSettings(site=site, changes=changes), meta)
        return await moderation_reads.settings(pool, site)
