"""`threadlog serve`: listen, check the database, prepare the demo when embedded, serve."""

import asyncio
import os
import socket
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import uvloop

from service import server, workers
from service.access import credentials
from service.access.credentials import Role
from service.access.origins import parse_origin
from service.app import ACCESS_LINES, create_app
from service.cli.common import command_application, connected, database_url
from service.ops import migrate
from service.ops.demo import DEMO_POST, DEMO_SITE, seed_demo
from service.ops.kek import load_vault
from service.ops.moves import check_cluster
from service.settings import Settings

# The embedded demo's moderator key, kept beside its PostgreSQL so that every start prints the
# same key (`threadlog keys create` makes new ones).
DEMO_KEY_FILE = "demo-moderator-key"


def serve(settings: Settings, host: str, port: int) -> int:
    """Serve until stopped; the exit code."""
    # Listening first: a port in use is said before anything is started or printed.
    if settings.workers > 1:
        socket_sets = workers.bind_workers(host, port, settings.workers)
    else:
        socket_sets = [server.listen(host, port)]
    port = socket_sets[0][0].getsockname()[1]
    embedded = settings.database_url is None
    url = database_url(settings)
    if not embedded:
        asyncio.run(require_migrated(url))
    if embedded:
        migrate.upgrade(url)
    asyncio.run(refuse_a_moved_log(url))
    announce: Callable[[str], None] = print
    if embedded:
        origins = own_origins(host, port, settings.public_url)
        key_file = settings.data_dir / DEMO_KEY_FILE
        kept = key_file.read_text().strip() if key_file.exists() else None
        key = asyncio.run(prepare_demo(url, origins, kept))
        if key != kept:
            keep_key(key_file, key)
        announce = demo_announcement(settings, host, port, key)
    configured = settings.model_copy(update={"database_url": url})
    if len(socket_sets) == 1:
        run_app(configured, socket_sets[0], announce)
        return 0
    # Made once before the workers start, or each would make a KEK of its own.
    load_vault(settings)

    def work(sockets: list[socket.socket], orders: int, listening: Callable[[], None]) -> None:
        run_app(configured, sockets, lambda _: listening(), orders)

    return workers.run_workers(socket_sets, settings.shutdown_seconds, work, announce)


def run_app(
    settings: Settings,
    sockets: list[socket.socket],
    announce: Callable[[str], None],
    orders: int | None = None,
) -> None:
    app = create_app(settings)
    new_loop = uvloop.new_event_loop if settings.uvloop else asyncio.new_event_loop
    with asyncio.Runner(loop_factory=new_loop) as runner:
        runner.run(server.serve(app, sockets, announce, ACCESS_LINES, orders))


def demo_announcement(settings: Settings, host: str, port: int, key: str) -> Callable[[str], None]:
    """What the embedded demo prints once it serves: the key and the URLs come last, after
    everything PostgreSQL and the migrations said."""
    base = settings.public_url or f"http://{host}:{port}"
    lines = [
        f"threadlog on an embedded PostgreSQL in {settings.data_dir}/postgres, serving {base}",
        f"demo site {DEMO_SITE!r}; its moderator key (the same on every start, kept in "
        f"{settings.data_dir / DEMO_KEY_FILE}):",
        key,
        f"the moderator console (sign in with that key): {base}/admin",
        f"a demo blog with the widget embedded, to try everything: {base}/demo",
        f"try: curl {base}/v1/sites/{DEMO_SITE}/posts/{DEMO_POST}/comments",
    ]

    def announce(running: str) -> None:
        if lines:
            print("\n".join(lines), flush=True)
            lines.clear()

    return announce


async def require_migrated(url: str) -> None:
    """Refuse to serve a database whose schema is not this version's: say what to run."""
    async with connected(url) as connection:
        await migrate.require_head(connection)


async def refuse_a_moved_log(url: str) -> None:
    """Raise ClusterMoved rather than serve a log copied from another cluster, not adopted."""
    async with connected(url) as connection:
        await check_cluster(connection)


async def prepare_demo(url: str, origins: Sequence[str], kept: str | None) -> str:
    """Make sure the demo site (allowing `origins`) and its posts exist; return its moderator
    key: `kept` (the one kept in the data folder) while it is still valid, else a new one."""
    async with connected(url) as connection:
        if not await credentials.site_exists(connection, DEMO_SITE):
            await credentials.create_site(connection, DEMO_SITE, "threadlog demo", origins)
        await allow_origins(connection, DEMO_SITE, origins)
        key = kept if kept and await still_valid(connection, kept) else None
        if key is None:
            key = await credentials.create_key(connection, DEMO_SITE, Role.MODERATOR)
    async with command_application(url) as (_, application):
        # Publishing again with the same content appends nothing, so restarts are quiet.
        await seed_demo(application)
    return key


async def still_valid(connection: asyncpg.Connection, key: str) -> bool:
    """Whether `key` is the demo's moderator key, and not revoked."""
    found = await credentials.verify_key(connection, key)
    return found is not None and found.site == DEMO_SITE and found.role is Role.MODERATOR


def keep_key(key_file: Path, key: str) -> None:
    key_file.parent.mkdir(parents=True, exist_ok=True)
    # Readable by its owner only, like any other credential file.
    descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(key + "\n")


async def allow_origins(connection: asyncpg.Connection, site: str, origins: Sequence[str]) -> None:
    await connection.execute(
        """UPDATE sites SET origins = origins || ARRAY(
               SELECT DISTINCT o FROM unnest($2::text[]) AS o WHERE o <> ALL(origins))
           WHERE site = $1""",
        site,
        [parse_origin(origin) for origin in origins],
    )


def own_origins(host: str, port: int, public_url: str | None) -> list[str]:
    """The origins the service itself is reached at, for the demo page's widget."""
    shown = f"[{host}]" if ":" in host else host  # an IPv6 address, as in a URL
    origins = [f"http://{shown}:{port}"]
    if host in ("127.0.0.1", "0.0.0.0", "::"):
        origins += [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]
    if public_url:
        parts = urlsplit(public_url)
        origins.append(f"{parts.scheme}://{parts.netloc}")
    return list(dict.fromkeys(origins))
