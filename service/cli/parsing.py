"""The `threadlog` command line's grammar: every command, its options, and its help (what it
does, the settings it reads, an example)."""

import argparse
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from service.access.credentials import Role
from service.cli import admin
from service.cli.groups import add_groups
from service.settings import DEFAULT_NATS_URL, worker_count

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


def workers_argument(value: str) -> int:
    """`--workers`: a number of processes, or `auto`."""
    count = worker_count(value)
    try:
        number = int(str(count))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number or `auto`") from None
    if not 1 <= number <= 128:
        raise argparse.ArgumentTypeError("from 1 to 128 workers")
    return number


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="threadlog",
        description="threadlog: an event-sourced comment and moderation service.",
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
        ["threadlog serve --host 0.0.0.0 --port 8080", "threadlog serve --workers auto"],
    )
    serve_command.add_argument("--host", help="listen address (THREADLOG_HOST)")
    serve_command.add_argument("--port", type=int, help="listen port (THREADLOG_PORT)")
    serve_command.add_argument(
        "--workers",
        type=workers_argument,
        help="processes serving the port, or `auto`: one per core (THREADLOG_WORKERS, default 1)",
    )

    demo = command(
        commands,
        "demo",
        "make the demo site and its posts on DATABASE_URL (the embedded server makes them by "
        "itself), and print a new moderator key for it",
        [DATABASE],
        ["threadlog demo --origin https://comments.example"],
    )
    demo.add_argument(
        "--origin",
        action="append",
        default=[],
        dest="origins",
        metavar="URL",
        help="where the service's /demo page is served from (for CORS); repeat for several",
    )

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
    add_groups(commands, DATABASE)
    add_keys(commands)
    add_privacy(commands)
    # Its grammar lives with it; imported here, since it builds on `command` above.
    from service.cli import transfer

    transfer.add_commands(commands)

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
        "create, list, show and configure sites (settings, allowed origins)",
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
        metavar="URL",
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
    origins = command(
        sites,
        "set-origins",
        "replace the origins a site's pages are served from (for CORS); running instances "
        "follow at once",
        [DATABASE],
        [
            "threadlog sites set-origins blog --origin https://blog.example --origin https://www.blog.example"
        ],
    )
    origins.add_argument("site")
    given = origins.add_mutually_exclusive_group(required=True)
    given.add_argument(
        "--origin",
        action="append",
        default=[],
        dest="origins",
        metavar="URL",
        help="scheme://host[:port], no path; repeat for several; replaces the list",
    )
    given.add_argument(
        "--no-origins", action="store_true", help="allow no browser origin (server-side calls only)"
    )


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


def add_privacy(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    erasing = command(
        commands,
        "erase",
        "erase everything of one person on a site: their comments' data keys are destroyed, "
        "`author.erased` is appended, each comment becomes a tombstone or goes",
        [DATABASE, "THREADLOG_KEK or THREADLOG_KEK_FILE, THREADLOG_ERASURE_LEDGER"],
        [
            "threadlog erase --site blog --email reader@mail.example",
            "threadlog erase --site blog --comment-id 6f1c…",
        ],
    )
    erasing.add_argument("--site", required=True)
    who = erasing.add_mutually_exclusive_group(required=True)
    who.add_argument("--email", help="every comment written with this email")
    who.add_argument("--comment-id", help="every comment of this comment's author")
    command(
        commands,
        "seal-legacy",
        "once after upgrading: seal the personal data of events written before sealing "
        "existed (so that erasure erases it), then rebuild the read models",
        [DATABASE, "THREADLOG_KEK or THREADLOG_KEK_FILE, THREADLOG_IP_RETENTION_DAYS"],
        ["threadlog seal-legacy"],
    )
    keks = command(
        commands,
        "kek",
        "make or rotate the key-encryption key that wraps the data keys",
        ["THREADLOG_KEK or THREADLOG_KEK_FILE, THREADLOG_PREVIOUS_KEKS"],
        [
            "threadlog kek new",
            "THREADLOG_PREVIOUS_KEKS=<old> THREADLOG_KEK=<new> threadlog kek rotate",
        ],
    ).add_subparsers(dest="action", required=True, metavar="action")
    command(keks, "new", "print a new random KEK (32 bytes, base64)", [], ["threadlog kek new"])
    command(
        keks,
        "rotate",
        "rewrap every data key with THREADLOG_KEK (the log is not touched); afterwards the "
        "keys in THREADLOG_PREVIOUS_KEKS are no longer needed",
        [DATABASE, "THREADLOG_KEK or THREADLOG_KEK_FILE, THREADLOG_PREVIOUS_KEKS"],
        ["THREADLOG_PREVIOUS_KEKS=<old> THREADLOG_KEK=<new> threadlog kek rotate"],
    )
