"""Sites, API keys and delete tokens. Secrets are stored only as SHA-256 digests and compared in
constant time; they are high-entropy random values, so a fast hash is enough."""

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import asyncpg

from service.access.origins import parse_origin
from service.access.sites import NOTIFY_CHANGED
from service.db import Connection, DatabaseUnavailable, Pool

KEY_PATTERN = re.compile(r"tl_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
SITE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~-]{0,127}")


class Role(StrEnum):
    PUBLISHER = "publisher"
    MODERATOR = "moderator"
    SUBSCRIBER = "subscriber"


@dataclass(frozen=True, slots=True)
class ApiKey:
    key_id: str
    site: str
    role: Role


@dataclass(frozen=True, slots=True)
class KeyListing:
    """What an operator sees of a key: never its secret."""

    key_id: str
    site: str
    role: Role
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class SiteExists(Exception):
    pass


class UnknownSite(Exception):
    pass


class UnknownKey(Exception):
    pass


def sha256(value: str | bytes) -> bytes:
    return hashlib.sha256(value.encode() if isinstance(value, str) else value).digest()


async def create_site(
    connection: Connection,
    site: str,
    title: str | None = None,
    origins: Sequence[str] = (),
) -> None:
    if not SITE_PATTERN.fullmatch(site):
        raise ValueError(f"site {site!r} must match {SITE_PATTERN.pattern}")
    origins = [parse_origin(origin) for origin in origins]
    status = await connection.execute(
        """INSERT INTO sites (site, title, origins, ip_salt) VALUES ($1, $2, $3, $4)
           ON CONFLICT (site) DO NOTHING""",
        site,
        title or site,
        list(dict.fromkeys(origins)),
        secrets.token_bytes(32),
    )
    if status.endswith(" 0"):
        raise SiteExists(site)


async def set_origins(connection: Connection, site: str, origins: Sequence[str]) -> list[str]:
    """Replace the origins `site` allows (each checked as `create_site` does); the stored list.
    Running instances are told (see access/sites.py)."""
    allowed = list(dict.fromkeys(parse_origin(origin) for origin in origins))
    stored: list[str] | None = await connection.fetchval(
        "UPDATE sites SET origins = $2 WHERE site = $1 RETURNING origins", site, allowed
    )
    if stored is None:
        raise UnknownSite(site)
    await connection.execute(NOTIFY_CHANGED, site)
    return stored


async def site_exists(connection: Connection | Pool, site: str) -> bool:
    return bool(await connection.fetchval("SELECT true FROM sites WHERE site = $1", site))


async def create_key(connection: Connection, site: str, role: Role) -> str:
    """Create a key and return it; only its digest is kept."""
    if not await site_exists(connection, site):
        raise UnknownSite(site)
    key_id = secrets.token_hex(6)
    secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    await connection.execute(
        "INSERT INTO api_keys (key_id, site, role, secret_sha256) VALUES ($1, $2, $3, $4)",
        key_id,
        site,
        role.value,
        sha256(secret),
    )
    return f"tl_{key_id}_{secret}"


async def verify_key(connection: Connection | Pool, presented: str) -> ApiKey | None:
    match = KEY_PATTERN.fullmatch(presented)
    if match is None:
        return None
    key_id, secret = match.groups()
    row = await connection.fetchrow(
        "SELECT site, role, secret_sha256 FROM api_keys WHERE key_id = $1 AND revoked_at IS NULL",
        key_id,
    )
    # Compare even when the key id is unknown, so timing does not tell which ids exist.
    stored = row["secret_sha256"] if row else sha256("")
    if not hmac.compare_digest(stored, sha256(secret)) or row is None:
        return None
    return ApiKey(key_id, row["site"], Role(row["role"]))


async def list_keys(connection: Connection | Pool, site: str | None = None) -> list[KeyListing]:
    rows = await connection.fetch(
        """SELECT key_id, site, role, created_at, last_used_at, revoked_at FROM api_keys
           WHERE $1::text IS NULL OR site = $1 ORDER BY site, created_at, key_id""",
        site,
    )
    return [
        KeyListing(
            row["key_id"],
            row["site"],
            Role(row["role"]),
            row["created_at"],
            row["last_used_at"],
            row["revoked_at"],
        )
        for row in rows
    ]


async def revoke_key(connection: Connection | Pool, key_id: str) -> datetime:
    """Revoke a key; when it was revoked (the first time, if it already was).

    Every instance refuses it from the next request on: `verify_key` reads `revoked_at` in the
    same lookup that finds the key, and nothing caches a verified key.
    """
    revoked: datetime | None = await connection.fetchval(
        """UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE key_id = $1
           RETURNING revoked_at""",
        key_id,
    )
    if revoked is None:
        raise UnknownKey(key_id)
    return revoked


# How often a key's `last_used_at` is written: at most once a minute per key and process (and
# the statement skips the write when another process wrote it within the minute), so a busy
# key costs one small UPDATE a minute rather than one per request. "Last used" is therefore
# accurate to a minute.
LAST_USED_SECONDS = 60.0


class KeyUse:
    """Records when keys are used, at most once per LAST_USED_SECONDS per key.

    Only *when it last wrote* is kept here, never whether a key is valid: verification always
    asks the database, so a revoked key is refused at once by every process.
    """

    def __init__(self, every_seconds: float = LAST_USED_SECONDS) -> None:
        self.every_seconds = every_seconds
        self.written: dict[str, float] = {}

    async def record(self, connection: Connection | Pool, key_id: str) -> None:
        now = time.monotonic()
        if now < self.written.get(key_id, float("-inf")) + self.every_seconds:
            return
        self.written[key_id] = now
        if len(self.written) > 10_000:
            # Keys used long ago: writing for them again soon costs little.
            self.written = {
                key: at for key, at in self.written.items() if at > now - self.every_seconds
            }
        try:
            await connection.execute(
                """UPDATE api_keys SET last_used_at = now()
                   WHERE key_id = $1 AND (last_used_at IS NULL
                         OR last_used_at < now() - make_interval(secs => $2))""",
                key_id,
                self.every_seconds,
            )
        except (asyncpg.ReadOnlySQLTransactionError, DatabaseUnavailable) as error:
            # A standby left read-only still serves reads (the pool reports the refusal as
            # DatabaseUnavailable): "last used" waits for the primary; other failures count.
            cause = error.__cause__ if isinstance(error, DatabaseUnavailable) else error
            if not isinstance(cause, asyncpg.ReadOnlySQLTransactionError):
                raise


async def load_server_secret(connection: Connection, configured: bytes | None) -> bytes:
    """The secret that delete tokens and webhook signing secrets derive from: configured
    (THREADLOG_TOKEN_KEY), or made once and kept in the database."""
    if configured:
        return configured
    await connection.execute(
        """INSERT INTO server_secrets (name, secret) VALUES ('delete_tokens', $1)
           ON CONFLICT (name) DO NOTHING""",
        secrets.token_bytes(32),
    )
    secret: bytes = await connection.fetchval(
        "SELECT secret FROM server_secrets WHERE name = 'delete_tokens'"
    )
    return secret


class ServerSecret:
    """The server secret, loaded on first use: a service started before `threadlog migrate`
    serves /readyz (503) instead of failing to start."""

    def __init__(self, pool: Pool, configured: bytes | None) -> None:
        self.pool = pool
        self.value = configured

    async def get(self) -> bytes:
        if self.value is None:
            async with self.pool.acquire() as connection:
                self.value = await load_server_secret(connection, None)
        return self.value


def delete_token(server_secret: bytes, site: str, comment_id: str) -> str:
    """A comment's delete token. Derived, so a retried POST can hand out the same token again
    without the token ever being stored."""
    message = f"delete\n{site}\n{comment_id}".encode()
    digest = hmac.digest(server_secret, message, "sha256")
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def client_hash(salt: bytes, value: str) -> str:
    return hashlib.sha256(salt + value.encode()).hexdigest()
