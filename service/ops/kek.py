"""The key-encryption key: loaded (or made, the first time) from the settings, checked against
the one the database's keys are wrapped with, and rotated."""

import logging
import os
from pathlib import Path

from service.db import Connection, Pool
from service.eventstore import vault
from service.eventstore.vault import Vault
from service.settings import Settings

log = logging.getLogger("threadlog.privacy")

CHECK_CONTEXT = b"threadlog kek check"


class KekMismatch(Exception):
    """This process's KEK is not the one the database's data keys are wrapped with."""


def load_vault(settings: Settings) -> Vault:
    previous = settings.previous_keks.get_secret_value() if settings.previous_keks else ""
    older = tuple(vault.parse_kek(text) for text in previous.split(",") if text.strip())
    configured = settings.kek.get_secret_value().strip() if settings.kek else ""
    if configured:  # empty: unset (docker-compose passes an unset variable as "")
        return Vault(vault.parse_kek(configured), older)
    return Vault(read_or_make(settings.kek_path()), older)


def read_or_make(path: Path) -> bytes:
    if path.exists():
        return vault.parse_kek(path.read_text())
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(vault.new_kek_text() + "\n")
    log.warning(
        "made a new key-encryption key in %s: back it up apart from the database; without it "
        "no comment's author, body or IP digest can be read",
        path,
    )
    return vault.parse_kek(path.read_text())


async def check_kek(pool: Pool | Connection, current: Vault) -> None:
    """Record the KEK the first time; refuse to run without every KEK that still wraps keys
    (the recorded ones: a rotation forgets those it replaced)."""
    rows = await pool.fetch("SELECT kek_id, sealed FROM kek_checks")
    mine = {vault.kek_id(kek): kek for kek in (current.kek, *current.previous)}
    missing = sorted(row["kek_id"] for row in rows if row["kek_id"] not in mine)
    if missing:
        raise KekMismatch(
            f"this database's data keys are wrapped with KEK {', '.join(missing)}, which is "
            f"neither THREADLOG_KEK ({current.kek_id}) nor in THREADLOG_PREVIOUS_KEKS"
        )
    for row in rows:
        vault.unseal(mine[row["kek_id"]], row["sealed"], CHECK_CONTEXT)  # InvalidTag: forged
    if current.kek_id not in {row["kek_id"] for row in rows}:
        await record(pool, current.kek)


async def record(pool: Pool | Connection, kek: bytes) -> None:
    await pool.execute(
        "INSERT INTO kek_checks (kek_id, sealed) VALUES ($1, $2) ON CONFLICT (kek_id) DO NOTHING",
        vault.kek_id(kek),
        vault.seal(kek, b"ok", CHECK_CONTEXT),
    )


OLD_WRAPPED = """
SELECT key_id, kek_id, wrapped FROM data_keys
WHERE wrapped IS NOT NULL AND kek_id <> $1
ORDER BY key_id LIMIT $2
"""

REWRAP = """
UPDATE data_keys SET wrapped = w.wrapped, kek_id = $3
FROM unnest($1::text[], $2::bytea[]) AS w(key_id, wrapped)
WHERE data_keys.key_id = w.key_id AND data_keys.wrapped IS NOT NULL
"""


async def rotate(pool: Pool, current: Vault, batch: int = 1000) -> int:
    """Rewrap every data key with the current KEK (the log is untouched); the number rewrapped.
    Afterwards the previous KEKs can be dropped from the settings."""
    await check_kek(pool, current)
    rewrapped = 0
    while True:
        async with pool.acquire() as connection, connection.transaction():
            rows = await connection.fetch(OLD_WRAPPED, current.kek_id, batch)
            if not rows:
                break
            keys = [current.unwrap(row["key_id"], row["kek_id"], row["wrapped"]) for row in rows]
            ids = [row["key_id"] for row in rows]
            wrapped = [current.wrap(key_id, key) for key_id, key in zip(ids, keys, strict=True)]
            await connection.execute(REWRAP, ids, wrapped, current.kek_id)
            rewrapped += len(rows)
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute("DELETE FROM kek_checks WHERE kek_id <> $1", current.kek_id)
    return rewrapped
