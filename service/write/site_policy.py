"""The write side's view of a site's policy: its settings, the bans and the known authors that
the comments being decided match. Kept by the site stream's appends (see site_writes.py)."""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from service.db import Connection
from service.domain.commands import Command, EditComment, PostComment, ReportComment
from service.domain.policy import SiteSettings
from service.domain.state import BanState

SETTINGS = """
SELECT site, settings FROM site_streams WHERE site = ANY($1::text[]) AND settings IS NOT NULL
"""

# One round trip per batch: each site's settings, and of its bans and known authors those that
# the (site, hash) pairs of the batch's authors match.
POLICIES = """
WITH wanted AS (SELECT * FROM unnest($2::text[], $3::text[]) AS w(site, hash))
SELECT s.site,
       (SELECT settings FROM site_streams WHERE site = s.site) AS settings,
       (SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'ban_id', b.ban_id, 'match', b.match, 'author_hash', b.hash,
                   'expires_at', b.expires_at, 'hold', b.hold)), '[]')
        FROM site_bans b
        WHERE b.site = s.site AND NOT b.lifted
          AND (b.site, b.hash) IN (SELECT site, hash FROM wanted)) AS bans,
       (SELECT coalesce(array_agg(k.author_key), '{}')
        FROM wanted w
        CROSS JOIN LATERAL (
            SELECT author_key FROM site_known_authors
            WHERE site = w.site AND author_key = w.hash LIMIT 1
        ) AS k
        WHERE w.site = s.site) AS known
FROM unnest($1::text[]) AS s(site)
"""


@dataclass(frozen=True, slots=True)
class Policy:
    settings: SiteSettings = field(default_factory=SiteSettings)
    bans: tuple[BanState, ...] = ()
    known_authors: frozenset[str] = frozenset()


async def load_settings(connection: Connection, sites: list[str]) -> dict[str, SiteSettings]:
    rows = await connection.fetch(SETTINGS, sites)
    return {row["site"]: SiteSettings.model_validate_json(row["settings"]) for row in rows}


def policy_wanted(commands: Sequence[Command]) -> tuple[list[str], list[tuple[str, str]]]:
    """The sites whose policy decides some of `commands`, and the (site, hash) pairs of their
    authors: POLICIES' arguments. Only commands that the policy decides cost a lookup."""
    wanted = [c for c in commands if isinstance(c, PostComment | ReportComment | EditComment)]
    sites = sorted({command.site for command in wanted})
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
    return sites, hashes


def policies_of(rows: Iterable[Sequence[Any]]) -> dict[str, Policy]:
    """Site -> policy, from POLICIES' rows (site, settings, bans, known)."""
    return {
        site: Policy(
            SiteSettings() if settings is None else SiteSettings.model_validate_json(settings),
            tuple(BanState.model_validate(ban) for ban in json.loads(bans)),
            frozenset(known),
        )
        for site, settings, bans, known in rows
    }
