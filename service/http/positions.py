"""Read-your-writes with a replica (see service/read/replica.py): a write's answer says its
position in `Threadlog-Position`; a read passes it back in that header or in `position`."""

from aiohttp import web

from service.db import Pool
from service.http.problems import Problem
from service.keys import READS
from service.read.replica import valid_position

HEADER = "Threadlog-Position"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def add_position(request: web.Request, response: web.StreamResponse) -> None:
    """A write's answer says where the log is now: the handler answered after its write
    committed, so the position now is past it."""
    if response.status < 400 and not response.prepared:
        position = await request.app[READS].position()
        if position is not None:
            response.headers[HEADER] = position


def carries_position(request: web.Request) -> bool:
    """Whether the reader says where its last write is: it may have written through another
    instance, whose NOTIFY may not have reached this one yet, so nothing kept may answer it."""
    return HEADER in request.headers or "position" in request.query


async def read_pool(request: web.Request) -> Pool:
    """The pool this read goes to: the replica once it has the reader's last write."""
    position = request.headers.get(HEADER)
    if position is None:
        position = request.query.get("position")
    if position is not None and not valid_position(position):
        raise Problem(400, f"{HEADER} (or position) must be a position a write answered with")
    return await request.app[READS].pool(position)
