"""Projections describe their writes as statements, so a batch of events costs few round trips."""

from collections.abc import Awaitable, Callable, Iterable, Mapping
from itertools import groupby
from types import MappingProxyType

import orjson

from service.db import Connection

Statement = tuple[str, tuple[object, ...]]
# Applies a run of one statement's arguments at once, as set-based statements, with the same
# effect as running the statement once per arguments, in order.
Bulk = Callable[[Connection, list[tuple[object, ...]]], Awaitable[None]]

NO_BULK: Mapping[str, Bulk] = MappingProxyType({})


async def run(
    connection: Connection, statements: Iterable[Statement], bulk: Mapping[str, Bulk] = NO_BULK
) -> None:
    """Run statements in order; a run of the same SQL goes to the server as one pipeline, or to
    its bulk form when it has one."""
    for sql, group in groupby(statements, key=lambda statement: statement[0]):
        arguments = [args for _, args in group]
        if sql in bulk:
            await bulk[sql](connection, arguments)
        elif len(arguments) == 1:
            await connection.execute(sql, *arguments[0])
        else:
            await connection.executemany(sql, arguments)


def json_rows(rows: Iterable[tuple[object, ...]]) -> str:
    """Rows as one JSON array of arrays, read by `jsonb_array_elements($n::jsonb) WITH
    ORDINALITY`. Set-based statements take their rows this way, not as one array parameter per
    column: asyncpg checks every element of an array against `collections.abc`, which costs
    the client several times what the server spends on the rows. Bytes go as hex."""
    return orjson.dumps(list(rows)).decode()
