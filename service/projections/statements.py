"""Projections describe their writes as statements, so a batch of events costs few round trips."""

from collections.abc import Iterable
from itertools import groupby

from service.db import Connection

Statement = tuple[str, tuple[object, ...]]


async def run(connection: Connection, statements: Iterable[Statement]) -> None:
    """Run statements in order; a run of the same SQL goes to the server as one pipeline."""
    for sql, group in groupby(statements, key=lambda statement: statement[0]):
        arguments = [args for _, args in group]
        if len(arguments) == 1:
            await connection.execute(sql, *arguments[0])
        else:
            await connection.executemany(sql, arguments)
