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
from service.logs import direct_handler

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
        method, status = request.method, response.status
        extra = {
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(milliseconds, 3),
            "bytes": response.body_length,
        }
        handler = direct_handler(logger)
        if handler is not None:
            message = MESSAGE % (method, route, status, milliseconds)
            handler.write_info(logger.name, message, request_id, extra)
            return
        record = new_record(logger.name, (method, route, status, milliseconds))
        record.__dict__.update(extra)
        record.request_id = request_id
        logger.handle(record)


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
