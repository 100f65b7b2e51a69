"""`threadlog import` and `threadlog export`: moving comments in and out (README, Moving
comments in and out)."""

import argparse
import asyncio
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from service.access import credentials
from service.cli.common import command_application, database_url
from service.cli.subcommands import DATABASE, command
from service.eventstore import data_keys
from service.eventstore.cursors import START, Cursor
from service.ops import kek, statistics
from service.ops.imports import blogger, core, disqus, isso, json_format, ndjson, wordpress
from service.ops.imports.post_ids import PostIdFrom
from service.ops.imports.records import BadSource, SourceItem, Summary
from service.settings import Settings

READERS: dict[str, Callable[[Path], Iterator[SourceItem]]] = {
    "blogger": blogger.read,
    "wordpress": wordpress.read,
    "disqus": disqus.read,
    "isso": isso.read,
    "json": json_format.read,
}
FORMATS = (*READERS, "ndjson")
KEYS = "THREADLOG_KEK or THREADLOG_KEK_FILE"
IMPORT_SETTINGS = (
    "THREADLOG_IMPORT_BATCH_SIZE (500), THREADLOG_IMPORT_WRITERS (2): comments a transaction, "
    "and transactions in parallel"
)
EXPORT_SETTINGS = (
    "THREADLOG_EXPORT_SETTLE_SECONDS (60): ndjson waits this long at most for running "
    "transactions to end"
)


def add_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    importing = command(
        commands,
        "import",
        "import the posts and comments of another comment system, or threadlog's own export; "
        "running it again adds nothing",
        [DATABASE, KEYS, IMPORT_SETTINGS],
        [
            "threadlog import blogger blog-export.xml --site blog --dry-run",
            "threadlog import wordpress wordpress.xml --site blog --post-id-from slug",
            "threadlog import ndjson events.ndjson",
        ],
    )
    importing.add_argument("format", choices=FORMATS)
    importing.add_argument("file", type=Path)
    importing.add_argument("--site", help="the site to import into (ndjson: only its events)")
    importing.add_argument(
        "--post-id-from",
        choices=[rule.value for rule in PostIdFrom],
        help="what a post's id is made of: url (default), slug or id (default for json)",
    )
    importing.add_argument("--dry-run", action="store_true", help="read and count, write nothing")
    exporting = command(
        commands,
        "export",
        "write the event log (ndjson) or a site's posts and comments (json) to stdout",
        [DATABASE, KEYS, EXPORT_SETTINGS],
        [
            "threadlog export ndjson > events.ndjson",
            "threadlog export ndjson --site blog --after 123-456",
            "threadlog export json --site blog --post my-post",
        ],
    )
    exporting.add_argument("format", choices=("ndjson", "json"))
    exporting.add_argument("--site", help="only this site's (json: required)")
    exporting.add_argument("--post", help="json: only this post")
    exporting.add_argument("--after", help="ndjson: only the events after this feed cursor")


def run(arguments: argparse.Namespace, settings: Settings) -> None:
    try:
        if arguments.command == "import":
            if not arguments.file.is_file():
                raise BadSource("no such file")
            lines = asyncio.run(run_import(database_url(settings), arguments, settings))
        else:
            asyncio.run(run_export(database_url(settings), arguments, settings))
            return
    except BadSource as error:
        sys.exit(f"threadlog: {arguments.file}: {error}; nothing more was imported")
    except credentials.UnknownSite as error:
        sys.exit(f"threadlog: no site {error}; create it first: `threadlog sites create {error}`")
    for line in lines:
        print(line)


async def run_import(url: str, arguments: argparse.Namespace, settings: Settings) -> list[str]:
    path: Path = arguments.file
    progress = sys.stderr.isatty()
    if arguments.format == "ndjson":
        return await import_ndjson(url, path, arguments.site, arguments.dry_run, progress, settings)
    if not arguments.site:
        raise ValueError(f"import {arguments.format} needs --site")
    default = PostIdFrom.ID if arguments.format == "json" else PostIdFrom.URL
    rule = PostIdFrom(arguments.post_id_from) if arguments.post_id_from else default
    items = READERS[arguments.format](path)
    options = {"form": arguments.format, "site": arguments.site, "post_id_from": rule}
    summary: Summary
    if arguments.dry_run:
        summary = await core.import_items(None, items, progress=progress, **options)
        return summary.lines(dry_run=True)
    # A connection for each writer.
    async with command_application(url, max(2, settings.import_writers)) as (pool, application):
        await kek.check_kek(pool, data_keys.current())
        async with pool.acquire() as connection:
            if not await credentials.site_exists(connection, arguments.site):
                raise credentials.UnknownSite(arguments.site)
        async with statistics.kept(pool, settings.analyze_seconds):
            summary = await core.import_items(
                application,
                items,
                progress=progress,
                batch_size=settings.import_batch_size,
                writers=settings.import_writers,
                **options,
            )
    return summary.lines(dry_run=False)


async def import_ndjson(
    url: str, path: Path, site: str | None, dry_run: bool, progress: bool, settings: Settings
) -> list[str]:
    lines = ndjson.read_lines(path)
    if dry_run:
        count = sum(1 for line in lines if site is None or line.event.site == site)
        return [f"would import {count} events"]
    async with command_application(url) as (pool, _):
        await kek.check_kek(pool, data_keys.current())
        async with statistics.kept(pool, settings.analyze_seconds):
            out = sys.stderr if progress else None
            appended = await ndjson.import_lines(pool, lines, site, out)
    if progress:
        sys.stderr.write("\n")
    found = [f"imported {appended.events} events; {appended.unchanged} were there already"]
    found += [
        f"created site {site}: give it origins and keys (`threadlog sites set-origins`, "
        "`threadlog keys create`)"
        for site in appended.sites
    ]
    return found


async def run_export(url: str, arguments: argparse.Namespace, settings: Settings) -> None:
    out = sys.stdout
    async with command_application(url) as (pool, _):
        await kek.check_kek(pool, data_keys.current())
        if arguments.format == "ndjson":
            after = START if arguments.after is None else Cursor.parse(arguments.after)
            wait = settings.export_settle_seconds
            async for line in ndjson.export_lines(pool, arguments.site, after, wait):
                out.write(line + "\n")
            return
        if not arguments.site:
            raise ValueError("export json needs --site")
        async with pool.acquire() as connection:
            if not await credentials.site_exists(connection, arguments.site):
                raise credentials.UnknownSite(arguments.site)
        async for chunk in json_format.export_chunks(pool, arguments.site, arguments.post):
            out.write(chunk)
