"""One access line per request, written once the response has been sent (so its size is
known): method, route template, status, duration, bytes and request id. Never the path's ids,
the query, the client's address or any header: those can carry tokens and personal data."""

import logging
import os
import threading
import time as clock
from typing import Any

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

from service.http.keys import REQUEST_ID, ROUTE, STARTED
from service.logs import REQUEST_ID as REQUEST_ID_CONTEXT
from service.logs import STRING, JsonLines, direct_handler, moment

MESSAGE = "%s %s %d %.1f ms"


class AccessLines(AbstractAccessLogger):
    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        logger = self.logger
        if not logger.isEnabledFor(logging.INFO):
            return
        # (A request's `get` goes through the Mapping ABC in Python: [] is a third the cost.)
        try:
            route = request[ROUTE]
        except KeyError:
            route = "unmatched"  # refused before routing (malformed, say)
        try:
            request_id = request[REQUEST_ID]
        except KeyError:
            request_id = None
        try:
            milliseconds = (clock.perf_counter() - request[STARTED]) * 1000
        except KeyError:
            milliseconds = time * 1000  # never reached the middlewares
        method, status, size = request.method, response.status, response.body_length
        duration = round(milliseconds, 3)
        handler = direct_handler(logger)
        if handler is not None and type(handler.formatter) is JsonLines and type(size) is int:
            if request_id is None:
                request_id = REQUEST_ID_CONTEXT.get()  # as WithRequestId does
            handler.write_made(
                json_line(
                    logger.name, method, route, status, milliseconds, duration, size, request_id
                )
            )
            return
        extra = {
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": duration,
            "bytes": size,
        }
        if handler is not None:
            message = MESSAGE % (method, route, status, milliseconds)
            handler.write_info(logger.name, message, request_id, extra)
            return
        record = new_record(logger.name, (method, route, status, milliseconds))
        record.__dict__.update(extra)
        record.request_id = request_id
        logger.handle(record)


# What stays the same in the JSON access lines of one logger, method, route and status: the
# line's head as far as its message's duration, and its fields from `method` to the duration.
# Written out per line, they were a third of the access line's cost, itself a sixth of a cached
# thread read's. (Methods are what clients send: past MAX_HEADS, the rest are made each time.)
HEADS: dict[tuple[str, str, str, int], tuple[str, str]] = {}
MAX_HEADS = 1024


def json_line(
    name: str,
    method: str,
    route: str,
    status: int,
    milliseconds: float,
    duration: float,
    size: int,
    request_id: str | None,
) -> str:
    """What JsonLines().info_line writes of an access record with these fields."""
    key = (name, method, route, status)
    head = HEADS.get(key)
    if head is None:
        # The message's duration is digits, a point and " ms": nothing to escape.
        message = STRING(f"{method} {route} {status} ")[:-1]
        before = f'", "level": "INFO", "logger": {STRING(name)}, "message": {message}'
        fields = f', "method": {STRING(method)}, "route": {STRING(route)}, "status": {status}'
        head = (before, f'{fields}, "duration_ms": ')
        if len(HEADS) < MAX_HEADS:
            HEADS[key] = head
    before, fields = head
    quoted_id = "null" if request_id is None else STRING(request_id)
    # repr is how json writes a float (a rounded duration is finite), and str an int.
    return (
        f'{{"timestamp": "{moment(clock.time())}{before}{milliseconds:.1f} ms", '
        f'"request_id": {quoted_id}{fields}{duration!r}, "bytes": {size}}}'
    )


# The attributes that stay the same from one access record to the next (the process, the
# thread, the logger), per thread: a LogRecord made afresh for every request costs more than
# the rest of its line (it asks for the thread's and the process's names, and parses a path).
TEMPLATES: dict[tuple[int, int, str], dict[str, Any]] = {}


def new_record(name: str, args: tuple[object, ...]) -> logging.LogRecord:
    """What logger.info(MESSAGE, *args) would make (the caller's file and line aside: no line
    shows them), for less."""
    key = (os.getpid(), threading.get_ident(), name)
    template = TEMPLATES.get(key)
    if template is None:
        made = logging.LogRecord(name, logging.INFO, "(unknown file)", 0, MESSAGE, (), None)
        template = TEMPLATES[key] = dict(made.__dict__)
    record = logging.LogRecord.__new__(logging.LogRecord)
    fields = record.__dict__
    fields.update(template)
    # As LogRecord.__init__ sets them.
    created = clock.time()
    fields["created"] = created
    fields["msecs"] = int((created - int(created)) * 1000) + 0.0
    fields["relativeCreated"] = (created - logging._startTime) * 1000  # type: ignore[attr-defined]
    fields["args"] = args
    return record
