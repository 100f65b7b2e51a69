"""`threadlog erase` and `threadlog kek`: erasure by an operator, and the key-encryption key."""

import argparse
import asyncio
import json

from service.access.sites import SiteDirectory
from service.cli.common import command_application, database_url
from service.cli.subcommands import DATABASE, command
from service.domain.events import ErasureRequester
from service.eventstore import data_keys
from service.eventstore.vault import new_kek_text
from service.ops import kek, ledger
from service.ops.seal_legacy import seal_legacy
from service.settings import Settings
from service.write.erasure_requests import erase, erase_author


def add_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
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


def run(arguments: argparse.Namespace, settings: Settings) -> None:
    match arguments.command, getattr(arguments, "action", None):
        case "erase", _:
            url = database_url(settings)
            answer = asyncio.run(erase_as_operator(url, settings, arguments))
            print(json.dumps(answer, indent=2))
        case "seal-legacy", _:
            url = database_url(settings)
            sealed = asyncio.run(seal_log(url, settings.ip_retention_days))
            print(f"sealed {sealed} events written before sealing; the read models are rebuilt")
        case "kek", "new":
            print(new_kek_text())
        case "kek", "rotate":
            rewrapped = asyncio.run(rotate(database_url(settings)))
            print(f"rewrapped {rewrapped} data keys with KEK {data_keys.current().kek_id}")


async def erase_as_operator(
    url: str, settings: Settings, arguments: argparse.Namespace
) -> dict[str, object]:
    async with command_application(url) as (pool, application):
        await kek.check_kek(pool, data_keys.current())
        site = await SiteDirectory(pool).get(arguments.site)
        if site is None:
            raise ValueError(f"no site {arguments.site!r}; `threadlog sites list` shows them")
        command = erase_author(
            site,
            ErasureRequester.OPERATOR,
            email=arguments.email,
            comment_id=arguments.comment_id,
        )
        metadata = {"actor": {"kind": "operator"}, "request_id": "cli"}
        answer = await erase(application, command, metadata)
        await ledger.record(pool, settings.ledger_path())
        return answer


async def seal_log(url: str, retention_days: int) -> int:
    async with command_application(url) as (pool, _):
        await kek.check_kek(pool, data_keys.current())
        return await seal_legacy(pool, retention_days)


async def rotate(url: str) -> int:
    async with command_application(url) as (pool, _):
        return await kek.rotate(pool, data_keys.current())
