"""Projections describe their writes as statements, so a batch of events costs few round trips."""

from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextvars import ContextVar
from itertools import groupby
from types import MappingProxyType
from typing import Any

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


# True while a rebuild replays the log into fresh tables, which nothing else writes (see
# ops/replay.py): a new row's key can be there already only where the log holds it twice, and
# then the replay applies that batch again with this false.
REPLAYING_FRESH: ContextVar[bool] = ContextVar("replaying_fresh", default=False)


def unguarded(sql: str, guard: str) -> str:
    """`sql` without `guard`, its ON CONFLICT clause."""
    if guard not in sql:
        raise ValueError(f"no {guard!r} in the statement")
    return sql.replace(guard, "")


async def insert_new(
    connection: Connection, guarded: str, fresh: str, *arguments: object
) -> list[Any]:
    """What `guarded`, an insert that skips the keys that exist (ON CONFLICT DO NOTHING),
    returns. Replaying into fresh tables, `fresh` (the same without the guard, whose check
    costs a fifth of the insert) runs instead: a key that came twice fails the batch with a
    UniqueViolationError, and the replay applies it again with `guarded`."""
    return await connection.fetch(fresh if REPLAYING_FRESH.get() else guarded, *arguments)
