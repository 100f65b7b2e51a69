"""threadlog's command line: serve, migrate, adopt-cluster, rebuild, status, sites, keys,
relay, webhooks.

Settings are read here, once, from the environment; each subcommand is a thin wrapper around a
function that tests call directly (service/cli/*.py, over access/ and ops/).
"""

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from pydantic import ValidationError
from tqdm import tqdm

from service.access import credentials
from service.access.credentials import Role
from service.access.origins import InvalidOrigin
from service.cli import admin
from service.cli import status as status_command
from service.cli.common import connected, database_url, until_signalled
from service.cli.errors import option_problem, setting_problem
from service.cli.serving import serve
from service.ops import migrate
from service.ops.moves import ClusterMoved, NotMigrated, adopt_cluster
from service.ops.operator_errors import explain
from service.ops.rebuild import count_events, rebuild
from service.settings import DEFAULT_NATS_URL, Settings
from service.subscriptions.dispatcher import run_dispatcher
from service.subscriptions.nats_relay import run_relay

DATABASE = (
    "DATABASE_URL: the PostgreSQL to use (unset: an embedded one under THREADLOG_DATA_DIR, "
    "default .threadlog)"
)


def threadlog_version() -> str:
    try:
        return version("threadlog")
    except PackageNotFoundError:  # run from a source tree that is not installed
        return "unknown"


def command(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]",
    name: str,
    what: str,
    reads: Sequence[str],
    examples: Sequence[str],
) -> argparse.ArgumentParser:
    """A subcommand whose --help says what it does, the settings it reads and an example."""
    epilog = "reads:\n" + "\n".join(f"  {setting}" for setting in reads)
    epilog += "\nexample:\n" + "\n".join(f"  {example}" for example in examples)
    return commands.add_parser(
        name,
        help=what,
        description=what,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="threadlog",
        description=__doc__,
        epilog="Run `threadlog <command> --help` for what each command reads and an example.",
    )
    root.add_argument("--version", action="version", version=f"threadlog {threadlog_version()}")
    commands = root.add_subparsers(dest="command", required=True, metavar="command")

    serve_command = command(
        commands,
        "serve",
        "serve the HTTP API (and deliver webhooks); with no DATABASE_URL, on an embedded "
        "PostgreSQL with a demo site, whose moderator key it prints",
        [
            DATABASE,
            "THREADLOG_HOST, THREADLOG_PORT, THREADLOG_PUBLIC_URL, and every other "
            "THREADLOG_* setting (README, Operating)",
        ],
        ["threadlog serve --host 0.0.0.0 --port 8080"],
    )
    serve_command.add_argument("--host", help="listen address (THREADLOG_HOST)")
    serve_command.add_argument("--port", type=int, help="listen port (THREADLOG_PORT)")

    command(
        commands,
        "migrate",
        "migrate the database schema to this version's latest revision",
        [DATABASE],
        ["DATABASE_URL=postgresql://user@db.example/threadlog threadlog migrate"],
    )
    adopt = command(
        commands,
        "adopt-cluster",
        "write the log on this PostgreSQL cluster, after a restore, a move or an upgrade",
        [DATABASE],
        ["threadlog adopt-cluster", "threadlog adopt-cluster --new-epoch"],
    )
    adopt.add_argument(
        "--new-epoch",
        action="store_true",
        help="start a new epoch on the same cluster (after a point-in-time recovery or a "
        "failover that lost transactions)",
    )
    command(
        commands,
        "rebuild",
        "rebuild every read model from the event log, while the service keeps serving",
        [DATABASE],
        ["threadlog rebuild"],
    )
    status = command(
        commands,
        "status",
        "say how the deployment is: database, schema, events and posts, feed hold-back, "
        "webhooks and their backlog, relay checkpoints, pending rebuilds; exits 1 when the "
        "schema is not migrated",
        [DATABASE],
        ["threadlog status", "threadlog status --json | jq .webhooks"],
    )
    status.add_argument("--json", action="store_true", help="print JSON instead of text")

    add_sites(commands)
    add_keys(commands)

    relay = command(
        commands,
        "relay",
        "publish the event log elsewhere",
        [DATABASE, "THREADLOG_NATS_URL, THREADLOG_NATS_STREAM, THREADLOG_NATS_SUBJECT_PREFIX"],
        ["threadlog relay nats --url nats://nats.example:4222"],
    ).add_subparsers(dest="target", required=True, metavar="target")
    relay_nats = command(
        relay,
        "nats",
        "publish the log to a NATS JetStream stream, in commit order, until stopped",
        [DATABASE, "THREADLOG_NATS_URL, THREADLOG_NATS_STREAM, THREADLOG_NATS_SUBJECT_PREFIX"],
        ["threadlog relay nats --url nats://nats.example:4222"],
    )
    relay_nats.add_argument(
        "--url", help=f"NATS server (THREADLOG_NATS_URL, else {DEFAULT_NATS_URL})"
    )
    webhook_reads = [DATABASE, "THREADLOG_TOKEN_KEY, THREADLOG_WEBHOOK_* settings"]
    hooks = command(
        commands, "webhooks", "deliver webhooks", webhook_reads, ["threadlog webhooks dispatch"]
    ).add_subparsers(dest="action", required=True, metavar="action")
    command(
        hooks,
        "dispatch",
        "deliver webhooks without serving HTTP, until stopped (serve does too)",
        webhook_reads,
        ["THREADLOG_WEBHOOKS_DISPATCH=false threadlog serve & threadlog webhooks dispatch"],
    )
    return root


def add_sites(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    sites = command(
        commands,
        "sites",
        "create, list, show and configure sites",
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
    admin.add_settings_arguments(change)


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


def main(argv: Sequence[str] | None = None) -> None:
    arguments = parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as error:
        # One line in the operator's words, exit 2 like any other usage error.
        print(f"threadlog: {setting_problem(error)}", file=sys.stderr)
        sys.exit(2)
    try:
        logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s %(message)s")
    except ValueError:
        levels = "DEBUG, INFO, WARNING or ERROR"
        print(
            f"threadlog: THREADLOG_LOG_LEVEL={settings.log_level} is not {levels}", file=sys.stderr
        )
        sys.exit(2)
    try:
        run(arguments, settings)
    except Exception as error:
        # A wrong DATABASE_URL, a missing database or role, an unmigrated database, a port in
        # use: one line saying what to do, no traceback.
        host = getattr(arguments, "host", None) or settings.host
        port = getattr(arguments, "port", None) or settings.port
        line = explain(error, settings.database_url, f"{host}:{port}")
        if line is not None:
            sys.exit(f"threadlog: {line}")
        if isinstance(error, InvalidOrigin):
            sys.exit(f"threadlog: {error}")
        if isinstance(error, ValidationError):  # an option's value (`sites set`)
            sys.exit(f"threadlog: {option_problem(error)}")
        if isinstance(error, credentials.UnknownKey):
            sys.exit(f"threadlog: no key has the id {error}; `threadlog keys list` shows them")
        known = credentials.SiteExists | credentials.UnknownSite | ClusterMoved | NotMigrated
        if isinstance(error, known | ValueError):
            sys.exit(f"threadlog: {type(error).__name__}: {error}")
        raise


def run(arguments: argparse.Namespace, settings: Settings) -> None:
    match arguments.command, getattr(arguments, "action", None):
        case "serve", _:
            serve(settings, arguments.host or settings.host, arguments.port or settings.port)
        case "migrate", _:
            migrate.upgrade(database_url(settings))
            print(f"migrated to {migrate.head_revision()}")
        case "adopt-cluster", _:
            print(asyncio.run(adopt(database_url(settings), arguments.new_epoch)))
        case "rebuild", _:
            replayed = asyncio.run(rebuild_with_progress(database_url(settings)))
            print(f"rebuilt every read model from {replayed} events")
        case "status", _:
            report = asyncio.run(status_command.gather(database_url(settings)))
            text = status_command.as_json if arguments.json else status_command.as_text
            print(text(report))
            if not report["schema"]["at_head"]:
                sys.exit(1)
        case "sites", "create":
            url = database_url(settings)
            asyncio.run(admin.create_site(url, arguments.site, arguments.title, arguments.origins))
            print(f"created site {arguments.site}")
        case "sites", "list":
            print(admin.sites_table(asyncio.run(admin.list_sites(database_url(settings)))))
        case "sites", "show":
            shown = asyncio.run(admin.show_site(database_url(settings), arguments.site))
            print(status_command.as_json(shown))
        case "sites", "set":
            changes = admin.settings_changes(arguments)
            url = database_url(settings)
            now = asyncio.run(admin.change_site_settings(url, arguments.site, changes))
            print(f"site {arguments.site}: {now.model_dump_json()}")
        case "keys", "create":
            url = database_url(settings)
            key = asyncio.run(admin.create_key(url, arguments.site, arguments.role))
            print(f"created a {arguments.role} key for site {arguments.site}; it is shown once:")
            print(key)
        case "keys", "list":
            keys = asyncio.run(admin.list_keys(database_url(settings), arguments.site))
            print(admin.keys_json(keys) if arguments.json else admin.keys_table(keys))
        case "keys", "revoke":
            at = asyncio.run(admin.revoke_key(database_url(settings), arguments.key_id))
            print(f"key {arguments.key_id} is revoked (since {admin.moment(at)})")
        case "relay", _:
            url = arguments.url or settings.nats_url or DEFAULT_NATS_URL
            asyncio.run(relay_until_signalled(database_url(settings), url, settings))
        case "webhooks", _:
            configured = settings.model_copy(update={"database_url": database_url(settings)})
            asyncio.run(until_signalled(run_dispatcher(configured, settings.token_key_bytes())))


async def adopt(url: str, new_epoch: bool = False) -> str:
    """Adopt the cluster `url` is on; what was done, in a line."""
    async with connected(url) as connection:
        epoch = await adopt_cluster(connection, new_epoch=new_epoch)
    cluster = f"this PostgreSQL cluster (system identifier {epoch.system_identifier})"
    if not epoch.started:
        return f"nothing to do: {cluster} writes the log already, in epoch {epoch.epoch}"
    return f"{cluster} writes the log from now on, in epoch {epoch.epoch}, after every event before"


async def rebuild_with_progress(url: str) -> int:
    async with connected(url) as connection:
        with tqdm(total=await count_events(connection), unit="event", desc="rebuild") as bar:

            def advance(done: int) -> None:
                bar.update(done)

            return await rebuild(connection, advance)


async def relay_until_signalled(url: str, nats_url: str, settings: Settings) -> None:
    """Relay until SIGINT or SIGTERM; a page cut short is sent again by the next relay."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    await run_relay(url, nats_url, settings.nats_stream, settings.nats_subject_prefix, stop)
