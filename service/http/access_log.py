"""One access line per request, written once the response has been sent (so its size is
known): method, route template, status, duration, bytes and request id. Never the path's ids,
the query, the client's address or any header: those can carry tokens and personal data."""

import logging

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

from service.http.keys import REQUEST_ID, ROUTE

MESSAGE = "%s %s %d %.1f ms"


class AccessLines(AbstractAccessLogger):
    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        logger = self.logger
        if not logger.isEnabledFor(logging.INFO):
            return
        # A request refused before routing (malformed, say) matched no route.
        route = request.get(ROUTE, "unmatched")
        method, status, milliseconds = request.method, response.status, time * 1000
        extra = {
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(milliseconds, 3),
            "bytes": response.body_length,
            "request_id": request.get(REQUEST_ID),
        }
        # What logger.info would make, without looking up the caller's file and line (a walk
        # up the stack per request; no line shows them).
        record = logger.makeRecord(
            logger.name,
            logging.INFO,
            "(unknown file)",
            0,
            MESSAGE,
            (method, route, status, milliseconds),
            None,
            extra=extra,
        )
        logger.handle(record)
