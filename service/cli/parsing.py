"""The `threadlog` command line's grammar: the root parser and the commands that stand alone.
Each command group's grammar lives with what runs it (admin, groups, privacy, transfer)."""

import argparse
from importlib.metadata import PackageNotFoundError, version

from service.cli import admin, groups, privacy, transfer
from service.cli.subcommands import DATABASE, command
from service.settings import DEFAULT_NATS_URL, worker_count


def threadlog_version() -> str:
    try:
        return version("threadlog")
    except PackageNotFoundError:  # run from a source tree that is not installed
        return "unknown"


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

    admin.add_sites(commands)
    groups.add_groups(commands)
    admin.add_keys(commands)
    privacy.add_commands(commands)
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
