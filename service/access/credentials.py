"""Sites, API keys and delete tokens. Secrets are stored only as SHA-256 digests and compared in
constant time; they are high-entropy random values, so a fast hash is enough."""

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from service.db import Connection, Pool

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


class SiteExists(Exception):
    pass


class UnknownSite(Exception):
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
    status = await connection.execute(
        """INSERT INTO sites (site, title, origins, ip_salt) VALUES ($1, $2, $3, $4)
           ON CONFLICT (site) DO NOTHING""",
        site,
        title or site,
        list(origins),
        secrets.token_bytes(32),
    )
    if status.endswith(" 0"):
        raise SiteExists(site)


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
    digest = hmac.new(server_secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def client_hash(salt: bytes, value: str) -> str:
    return hashlib.sha256(salt + value.encode()).hexdigest()
