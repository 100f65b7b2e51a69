"""The erasure ledger: every destroyed key's id, in a file outside the database. A backup taken
before an erasure still holds the key; restored, it would bring the person back. So each
instance writes every destroyed key it learns of to its ledger, and at startup destroys again
(erasing their comments anew) the keys of its ledger that the database has alive. Key ids are
random: the ledger holds nothing personal."""

import logging
import os
from datetime import UTC, datetime
from pathlib import Path

from service.access.sites import SiteDirectory
from service.db import Pool
from service.domain.errors import DomainError
from service.domain.events import ErasureRequester
from service.eventstore import data_keys
from service.write.application import Application
from service.write.erasure_requests import erase, erase_author

log = logging.getLogger("threadlog.privacy")

DESTROYED = "SELECT key_id FROM data_keys WHERE destroyed_at IS NOT NULL"

ALIVE = "SELECT key_id, site FROM data_keys WHERE key_id = ANY($1::text[]) AND wrapped IS NOT NULL"

# A scan, once after a restore: which comments the keys to destroy again had sealed.
SEALED_BY = """
SELECT site, comment_id FROM stream_comments
WHERE data_key = ANY($1::text[]) AND status <> 'erased'
ORDER BY site, comment_id
"""


def listed(path: Path) -> set[str]:
    if not path.exists():
        return set()
    return {line.strip() for line in path.read_text().splitlines() if line.strip()}


async def record(pool: Pool, path: Path) -> int:
    """Append to the ledger the destroyed keys it lacks; how many."""
    destroyed = {row["key_id"] for row in await pool.fetch(DESTROYED)}
    missing = sorted(destroyed - listed(path))
    if missing:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(descriptor, "".join(f"{key_id}\n" for key_id in missing).encode())
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    return len(missing)


async def reapply(pool: Pool, application: Application, sites: SiteDirectory, path: Path) -> int:
    """Destroy again the ledger's keys that the database has alive; how many."""
    wanted = sorted(listed(path))
    if not wanted:
        return 0
    alive = await pool.fetch(ALIVE, wanted)
    if not alive:
        return 0
    ids = [row["key_id"] for row in alive]
    log.warning("%d keys the erasure ledger says were destroyed are alive: erasing again", len(ids))
    for row in await pool.fetch(SEALED_BY, ids):
        site = await sites.get(row["site"])
        if site is None:
            continue
        command = erase_author(site, ErasureRequester.OPERATOR, comment_id=row["comment_id"])
        try:
            await erase(application, command, {"actor": {"kind": "system"}, "request_id": "ledger"})
        except DomainError:
            continue  # erased already, with an earlier comment of the same author
    async with pool.acquire() as connection:
        await data_keys.destroy(connection, ids, datetime.now(UTC))
    return len(ids)
