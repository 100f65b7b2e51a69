"""threadlog's command line: serve, migrate, adopt-cluster, rebuild, sites, keys, relay,
webhooks.

Settings are read here, once, from the environment; each subcommand is a thin wrapper around a
function that tests call directly.
"""

import argparse
import asyncio
import contextlib
import getpass
import signal
import sys
from collections.abc import AsyncIterator, Coroutine, Sequence
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import uvloop
from pydantic import ValidationError
from tqdm import tqdm

from service import logs, server
from service.access import credentials
from service.access.credentials import Role
from service.access.site_settings import SettingsChange
from service.app import create_app
from service.db import Pool, create_pool
from service.domain.commands import ChangeSiteSettings
from service.domain.policy import Premoderation, SiteSettings
from service.ops import migrate
from service.ops.demo import DEMO_POST, DEMO_SITE, seed_demo
from service.ops.embedded import start_embedded
from service.ops.moves import ClusterMoved, NotMigrated, adopt_cluster, check_cluster
from service.ops.operator_errors import explain
from service.ops.rebuild import count_events, rebuild
from service.read import moderation as moderation_reads
from service.settings import DEFAULT_NATS_URL, Settings
from service.subscriptions.dispatcher import run_dispatcher
from service.subscriptions.nats_relay import run_relay
from service.write.application import Application


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="threadlog", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the HTTP API")
    serve.add_argument("--host", help="listen address (THREADLOG_HOST)")
    serve.add_argument("--port", type=int, help="listen port (THREADLOG_PORT)")

    commands.add_parser("migrate", help="migrate the database schema to the latest revision")
    adopt = commands.add_parser(
        "adopt-cluster",
        help="write the log on this PostgreSQL cluster, after a restore, a move or an upgrade",
    )
    adopt.add_argument(
        "--new-epoch",
        action="store_true",
        help="start a new epoch on the same cluster (after a point-in-time recovery or a "
        "failover that lost transactions)",
    )
    commands.add_parser("rebuild", help="rebuild every read model from the event log")

    sites = commands.add_parser("sites", help="manage sites").add_subparsers(
        dest="action", required=True
    )
    create_site = sites.add_parser("create", help="register a site")
    create_site.add_argument("site")
    create_site.add_argument("--title")
    create_site.add_argument("--origin", action="append", default=[], dest="origins")
    add_settings_parser(sites)

    keys = commands.add_parser("keys", help="manage API keys").add_subparsers(
        dest="action", required=True
    )
    create_key = keys.add_parser("create", help="create an API key; printed once, last line")
    create_key.add_argument("--site", required=True)
    create_key.add_argument("--role", required=True, choices=[role.value for role in Role])

    relay = commands.add_parser("relay", help="publish the event log elsewhere").add_subparsers(
        dest="target", required=True
    )
    relay_nats = relay.add_parser("nats", help="to a NATS JetStream stream, in commit order")
    relay_nats.add_argument(
        "--url", help=f"NATS server (THREADLOG_NATS_URL, else {DEFAULT_NATS_URL})"
    )
    hooks = commands.add_parser("webhooks", help="deliver webhooks").add_subparsers(
        dest="action", required=True
    )
    hooks.add_parser("dispatch", help="deliver webhooks without serving HTTP (serve does too)")
    return root


def main(argv: Sequence[str] | None = None) -> None:
    arguments = parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        sys.exit(f"threadlog: a setting is invalid: {problems}")
    logs.configure(settings.log_level, settings.log_format)
    try:
        run(arguments, settings)
    except Exception as error:
        # A wrong DATABASE_URL, a missing database or role, an unmigrated database, a port in
        # use: one line saying what to do, no traceback.
        host = getattr(arguments, "host", None) or settings.host
        port = chosen_port(arguments, settings)
        line = explain(error, settings.database_url, f"{host}:{port}")
        if line is not None:
            sys.exit(f"threadlog: {line}")
        known = credentials.SiteExists | credentials.UnknownSite | ClusterMoved | NotMigrated
        if isinstance(error, known | ValueError):
            sys.exit(f"threadlog: {type(error).__name__}: {error}")
        raise


def chosen_port(arguments: argparse.Namespace, settings: Settings) -> int:
    # `--port 0` asks for any free port: 0 is a choice, not a missing value.
    port = getattr(arguments, "port", None)
    return settings.port if port is None else int(port)


def run(arguments: argparse.Namespace, settings: Settings) -> None:
    match arguments.command:
        case "serve":
            serve(settings, arguments.host or settings.host, chosen_port(arguments, settings))
        case "migrate":
            migrate.upgrade(database_url(settings))
            print(f"migrated to {migrate.head_revision()}")
        case "adopt-cluster":
            print(asyncio.run(adopt(database_url(settings), arguments.new_epoch)))
        case "rebuild":
            replayed = asyncio.run(rebuild_with_progress(database_url(settings)))
            print(f"rebuilt every read model from {replayed} events")
        case "sites" if arguments.action == "set":
            changes = settings_changes(arguments)
            now = asyncio.run(change_site_settings(database_url(settings), arguments.site, changes))
            print(f"site {arguments.site}: {now.model_dump_json()}")
        case "sites":
            asyncio.run(create_site(database_url(settings), arguments))
            print(f"created site {arguments.site}")
        case "keys":
            key = asyncio.run(create_key(database_url(settings), arguments.site, arguments.role))
            print(f"created a {arguments.role} key for site {arguments.site}; it is shown once:")
            print(key)
        case "relay":
            url = arguments.url or settings.nats_url or DEFAULT_NATS_URL
            asyncio.run(relay_until_signalled(database_url(settings), url, settings))
        case "webhooks":
            configured = settings.model_copy(update={"database_url": database_url(settings)})
            asyncio.run(until_signalled(run_dispatcher(configured, settings.token_key_bytes())))


def database_url(settings: Settings) -> str:
    """The configured database, else the embedded one (started, and migrated for `serve`)."""
    return settings.database_url or start_embedded(settings.data_dir)


def serve(settings: Settings, host: str, port: int) -> None:
    # Listening first: a port in use is said before anything is started or printed.
    sockets = server.listen(host, port)
    port = sockets[0].getsockname()[1]
    embedded = settings.database_url is None
    url = database_url(settings)
    if not embedded:
        asyncio.run(require_migrated(url))
    if embedded:
        migrate.upgrade(url)
    asyncio.run(refuse_a_moved_log(url))
    if embedded:
        origins = own_origins(host, port, settings.public_url)
        key = asyncio.run(prepare_demo(url, origins))
        base = settings.public_url or f"http://{host}:{port}"
        print(f"threadlog on an embedded PostgreSQL in {settings.data_dir}/postgres")
        print(f"demo site: {DEMO_SITE}; moderator key (shown once): {key}")
        print(f"try: curl {base}/v1/sites/{DEMO_SITE}/posts/{DEMO_POST}/comments")
        print(f"the moderator console (sign in with that key): {base}/admin")
        print(f"a demo blog with the widget embedded, to try everything: {base}/demo")
    app = create_app(settings.model_copy(update={"database_url": url}))
    new_loop = uvloop.new_event_loop if settings.uvloop else asyncio.new_event_loop
    with asyncio.Runner(loop_factory=new_loop) as runner:
        runner.run(server.serve(app, sockets))


async def require_migrated(url: str) -> None:
    """Refuse to serve a database whose schema is not this version's: say what to run."""
    connection = await asyncpg.connect(url)
    try:
        await migrate.require_head(connection)
    finally:
        await connection.close()


async def refuse_a_moved_log(url: str) -> None:
    """Raise ClusterMoved rather than serve a log copied from another cluster, not adopted."""
    connection = await asyncpg.connect(url)
    try:
        await check_cluster(connection)
    finally:
        await connection.close()


async def adopt(url: str, new_epoch: bool = False) -> str:
    """Adopt the cluster `url` is on; what was done, in a line."""
    connection = await asyncpg.connect(url)
    try:
        epoch = await adopt_cluster(connection, new_epoch=new_epoch)
    finally:
        await connection.close()
    cluster = f"this PostgreSQL cluster (system identifier {epoch.system_identifier})"
    if not epoch.started:
        return f"nothing to do: {cluster} writes the log already, in epoch {epoch.epoch}"
    return f"{cluster} writes the log from now on, in epoch {epoch.epoch}, after every event before"


async def prepare_demo(url: str, origins: Sequence[str] = ()) -> str:
    """Make sure the demo site (allowing `origins`) and its posts exist; return a new
    moderator key."""
    connection = await asyncpg.connect(url)
    try:
        if not await credentials.site_exists(connection, DEMO_SITE):
            await credentials.create_site(connection, DEMO_SITE, "threadlog demo", origins)
        await allow_origins(connection, DEMO_SITE, origins)
        key = await credentials.create_key(connection, DEMO_SITE, Role.MODERATOR)
    finally:
        await connection.close()
    async with command_application(url) as (_, application):
        # Publishing again with the same content appends nothing, so restarts are quiet.
        await seed_demo(application)
    return key


@contextlib.asynccontextmanager
async def command_application(url: str) -> AsyncIterator[tuple[Pool, Application]]:
    """A small pool, and the write side on it, for one command's writes."""
    pool = await create_pool(Settings(pool_min_size=1, pool_max_size=2), url)
    application = Application(pool)
    try:
        yield pool, application
    finally:
        await application.close()
        await pool.close()


async def allow_origins(connection: asyncpg.Connection, site: str, origins: Sequence[str]) -> None:
    await connection.execute(
        """UPDATE sites SET origins = origins || ARRAY(
               SELECT DISTINCT o FROM unnest($2::text[]) AS o WHERE o <> ALL(origins))
           WHERE site = $1""",
        site,
        list(origins),
    )


def own_origins(host: str, port: int, public_url: str | None) -> list[str]:
    """The origins the service itself is reached at, for the demo page's widget."""
    origins = [f"http://{host}:{port}"]
    if host in ("127.0.0.1", "0.0.0.0", "::"):
        origins += [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]
    if public_url:
        parts = urlsplit(public_url)
        origins.append(f"{parts.scheme}://{parts.netloc}")
    return list(dict.fromkeys(origins))


async def create_site(url: str, arguments: argparse.Namespace) -> None:
    connection = await asyncpg.connect(url)
    try:
        await credentials.create_site(
            connection, arguments.site, arguments.title, arguments.origins
        )
    finally:
        await connection.close()


async def create_key(url: str, site: str, role: str) -> str:
    connection = await asyncpg.connect(url)
    try:
        return await credentials.create_key(connection, site, Role(role))
    finally:
        await connection.close()


async def rebuild_with_progress(url: str) -> int:
    connection = await asyncpg.connect(url)
    try:
        with tqdm(total=await count_events(connection), unit="event", desc="rebuild") as bar:

            def advance(done: int) -> None:
                bar.update(done)

            return await rebuild(connection, advance)
    finally:
        await connection.close()


async def until_signalled(work: Coroutine[Any, Any, None]) -> None:
    """Run `work` until SIGINT or SIGTERM cancels it."""
    task = asyncio.ensure_future(work)
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def relay_until_signalled(url: str, nats_url: str, settings: Settings) -> None:
    """Relay until SIGINT or SIGTERM; a page cut short is sent again by the next relay."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    await run_relay(url, nats_url, settings.nats_stream, settings.nats_subject_prefix, stop)


# --- moderation -------------------------------------------------------------------------------


def add_settings_parser(sites: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    change = sites.add_parser("set", help="change a site's moderation settings")
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
    connection = await asyncpg.connect(url)
    try:
        if not await credentials.site_exists(connection, site):
            raise credentials.UnknownSite(site)
    finally:
        await connection.close()
    async with command_application(url) as (pool, application):
        meta = {"actor": {"kind": "operator", "user": getpass.getuser()},
                "request_id": "cli", "ip_hash": ""}  # fmt: skip
        await application.execute(ChangeSiteSettings(site=site, changes=changes), meta)
        return await moderation_reads.settings(pool, site)
