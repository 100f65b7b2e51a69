"""One access line per request, written once the response has been sent (so its size is
known): method, route template, status, duration, bytes and request id. Never the path's ids,
the query, the client's address or any header: those can carry tokens and personal data."""

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

from service.http.keys import REQUEST_ID, ROUTE


class AccessLines(AbstractAccessLogger):
    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        # A request refused before routing (malformed, say) matched no route.
        route = request.get(ROUTE, "unmatched")
        request_id = request.get(REQUEST_ID)
        self.logger.info(
            "%s %s %d %.1f ms",
            request.method,
            route,
            response.status,
            time * 1000,
            extra={
                "method": request.method,
                "route": route,
                "status": response.status,
                "duration_ms": round(time * 1000, 3),
                "bytes": response.body_length,
                "request_id": request_id,
            },
        )
