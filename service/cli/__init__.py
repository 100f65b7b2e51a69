"""threadlog's command line: serve, demo, migrate, adopt-cluster, rebuild, status, sites,
groups, keys, erase, kek, relay, webhooks, import, export.

Settings are read here, once, from the environment; each subcommand is a thin wrapper around a
function that tests call directly (service/cli/*.py, over access/ and ops/).
"""

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from service import logs
from service.access import credentials
from service.access.origins import InvalidOrigin
from service.cli import admin
from service.cli.common import connected, database_url, until_signalled
from service.cli.errors import option_problem, setting_problem
from service.cli.parsing import parser
from service.eventstore import data_keys
from service.ops.kek import load_vault
from service.ops.moves import ClusterMoved, NotMigrated, adopt_cluster
from service.ops.operator_errors import explain
from service.settings import DEFAULT_NATS_URL, Settings

# Each command imports what it runs when it runs (below, in `run`): the server, alembic and
# NATS take about a second to import, which a short command like `rebuild` should not pay.


def main(argv: Sequence[str] | None = None) -> None:
    arguments = parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as error:
        # One line in the operator's words, exit 2 like any other usage error.
        print(f"threadlog: {setting_problem(error)}", file=sys.stderr)
        sys.exit(2)
    try:
        logs.configure(settings.log_level, settings.log_format)
    except ValueError:
        levels = "DEBUG, INFO, WARNING or ERROR"
        print(
            f"threadlog: THREADLOG_LOG_LEVEL={settings.log_level} is not {levels}", file=sys.stderr
        )
        sys.exit(2)
    # Every command that reads or writes the log needs the KEK; it is loaded when first needed.
    data_keys.install(lambda: load_vault(settings))
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


def chosen_port(arguments: argparse.Namespace, settings: Settings) -> int:
    # `--port 0` asks for any free port: 0 is a choice, not a missing value.
    port = getattr(arguments, "port", None)
    return settings.port if port is None else int(port)


def run(arguments: argparse.Namespace, settings: Settings) -> None:
    match arguments.command, getattr(arguments, "action", None):
        case "serve", _:
            from service.cli.serving import serve

            if arguments.workers is not None:
                settings = settings.model_copy(update={"workers": arguments.workers})
            host = arguments.host or settings.host
            if code := serve(settings, host, chosen_port(arguments, settings)):
                sys.exit(code)
        case "demo", _:
            from service.cli.serving import prepare_demo
            from service.ops.demo import DEMO_SITE

            key = asyncio.run(prepare_demo(database_url(settings), arguments.origins, None))
            print(f"the demo site {DEMO_SITE!r} is ready; a new moderator key for it:")
            print(key)
        case "migrate", _:
            from service.ops import migrate

            migrate.upgrade(database_url(settings))
            print(f"migrated to {migrate.head_revision()}")
        case "adopt-cluster", _:
            print(asyncio.run(adopt(database_url(settings), arguments.new_epoch)))
        case "rebuild", _:
            import uvloop

            # On uvloop, as `serve` runs: a replay is mostly decoding and round trips.
            loop_factory = uvloop.new_event_loop if settings.uvloop else asyncio.new_event_loop
            with asyncio.Runner(loop_factory=loop_factory) as runner:
                replayed = runner.run(rebuild_with_progress(database_url(settings)))
            print(f"rebuilt every read model from {replayed} events")
        case "status", _:
            from service.cli import status as status_command

            url = database_url(settings)
            report = asyncio.run(status_command.gather(url, settings.ip_retention_days))
            text = status_command.as_json if arguments.json else status_command.as_text
            print(text(report))
            if not report["schema"]["at_head"]:
                sys.exit(1)
        case "sites", "create":
            url = database_url(settings)
            asyncio.run(admin.create_site(url, arguments.site, arguments.title, arguments.origins))
            print(f"created site {arguments.site}")
        case "sites", "set-origins":
            url = database_url(settings)
            allowed = asyncio.run(admin.set_origins(url, arguments.site, arguments.origins))
            listed = " ".join(allowed) or "no origin (browsers on other origins are refused)"
            print(f"site {arguments.site} allows {listed}")
        case "sites", "list":
            print(admin.sites_table(asyncio.run(admin.list_sites(database_url(settings)))))
        case "sites", "show":
            from service.cli.status import as_json

            shown = asyncio.run(admin.show_site(database_url(settings), arguments.site))
            print(as_json(shown))
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
        case "groups", _:
            from service.cli import groups

            groups.run(arguments, settings)
        case "erase" | "kek" | "seal-legacy", _:
            from service.cli import privacy

            privacy.run(arguments, settings)
        case "import" | "export", _:
            from service.cli import transfer

            transfer.run(arguments, settings)
        case "webhooks", _:
            from service.subscriptions.dispatcher import run_dispatcher

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
    from tqdm import tqdm

    from service.ops.rebuild import count_events, rebuild

    # A second connection reads and decodes the log ahead of the ones that apply it; two more
    # take their share of the models.
    async with (
        connected(url) as connection,
        connected(url) as reader,
        connected(url) as second,
        connected(url) as third,
    ):
        with tqdm(total=await count_events(connection), unit="event", desc="rebuild") as bar:

            def advance(done: int) -> None:
                bar.update(done)

            return await rebuild(connection, advance, reader, [second, third])


async def relay_until_signalled(url: str, nats_url: str, settings: Settings) -> None:
    """Relay until SIGINT or SIGTERM; a page cut short is sent again by the next relay."""
    from service.subscriptions.nats_relay import run_relay

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    await run_relay(url, nats_url, settings.nats_stream, settings.nats_subject_prefix, stop)
