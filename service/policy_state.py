"""The write side's view of a site's policy: its settings, the bans and the known authors that
the comments being decided match. Kept by the site stream's appends (see site_writes.py)."""

from collections.abc import Sequence
from dataclasses import dataclass, field

from service.db import Connection
from service.domain.commands import Command, EditComment, PostComment, ReportComment
from service.domain.events import BanMatch
from service.domain.policy import SiteSettings
from service.domain.state import BanState

SETTINGS = "SELECT site, settings FROM site_streams WHERE site = ANY($1::text[])"

BANS = """
SELECT site, ban_id, match, hash, expires_at, hold FROM site_bans
WHERE NOT lifted AND (site, hash) IN (SELECT * FROM unnest($1::text[], $2::text[]))
"""

KNOWN = """
SELECT site, author_key FROM site_known_authors
WHERE (site, author_key) IN (SELECT * FROM unnest($1::text[], $2::text[]))
"""


@dataclass(frozen=True, slots=True)
class Policy:
    settings: SiteSettings = field(default_factory=SiteSettings)
    bans: tuple[BanState, ...] = ()
    known_authors: frozenset[str] = frozenset()


def site_stream_id(site: str) -> str:
    return f"site:{site}"


async def load_settings(connection: Connection, sites: list[str]) -> dict[str, SiteSettings]:
    rows = await connection.fetch(SETTINGS, sites)
    return {row["site"]: SiteSettings.model_validate_json(row["settings"]) for row in rows}


async def load_policies(connection: Connection, commands: Sequence[Command]) -> dict[str, Policy]:
    """Only commands that the policy decides cost a query."""
    wanted = [c for c in commands if isinstance(c, PostComment | ReportComment | EditComment)]
    if not wanted:
        return {}
    sites = sorted({command.site for command in wanted})
    settings = await load_settings(connection, sites)
    hashes = sorted(
        {
            (command.site, value)
            for command in wanted
            if isinstance(command, PostComment)
            for value in (
                command.author_email_hash,
                command.author_ip_hash,
                command.author_name_ip_hash,
            )
            if value
        }
    )
    bans: dict[str, list[BanState]] = {}
    known: dict[str, set[str]] = {}
    if hashes:
        sites_of, values = [site for site, _ in hashes], [value for _, value in hashes]
        for row in await connection.fetch(BANS, sites_of, values):
            bans.setdefault(row["site"], []).append(
                BanState(
                    ban_id=row["ban_id"],
                    match=BanMatch(row["match"]),
                    author_hash=row["hash"],
                    expires_at=row["expires_at"],
                    hold=row["hold"],
                )
            )
        for row in await connection.fetch(KNOWN, sites_of, values):
            known.setdefault(row["site"], set()).add(row["author_key"])
    return {
        site: Policy(
            settings.get(site, SiteSettings()),
            tuple(bans.get(site, ())),
            frozenset(known.get(site, ())),
        )
        for site in sites
    }
