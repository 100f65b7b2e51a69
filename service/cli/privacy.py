"""`threadlog erase` and `threadlog kek`: erasure by an operator, and the key-encryption key."""

import argparse
import asyncio
import json

from service.access.sites import SiteDirectory
from service.cli.common import command_application, database_url
from service.domain.events import ErasureRequester
from service.eventstore import data_keys
from service.eventstore.vault import new_kek_text
from service.ops import kek, ledger
from service.ops.seal_legacy import seal_legacy
from service.settings import Settings
from service.write.erasure_requests import erase, erase_author


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
