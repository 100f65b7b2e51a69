"""A throwaway PostgreSQL database per run: created at start, dropped at the end."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit, urlunsplit

import asyncpg


def with_database(url: str, dbname: str) -> str:
    """The same server URL with another database name (keeps user, password, host, query)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


def check_loopback(url: str) -> None:
    # The bench only ever talks to this machine.
    host = urlsplit(url).hostname or ""
    if host not in {"127.0.0.1", "localhost", "::1"} and not host.startswith("/"):
        raise SystemExit(f"refusing non-loopback database host {host!r}")


async def create_database(admin_url: str) -> str:
    name = f"threadlog_bench_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(admin_url)
    try:
        # Identifiers cannot be bind parameters; the name is generated here, so quoting is safe.
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


async def drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        # FORCE (PostgreSQL 13+) ends connections a killed child may have left behind.
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
