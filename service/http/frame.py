"""The one middleware every request goes through.

In order, from the outside in: the request's id (X-Request-Id, and the log's context), its
measuring (the Prometheus histogram, and the start its access line is timed from), every failure
as a problem (problems.py), the body's deadline (limits.py), CORS (cors.py), and a write's
position (positions.py). These were six middlewares; a cached read is short enough that each
layer (aiohttp's call through a partial, a coroutine, a try) was a measurable part of it, and
most of them have nothing to do for most requests.
"""

import time

from aiohttp import web

from service.http.cors import add_cors_headers, preflight
from service.http.keys import REQUEST_ID, ROUTE, STARTED
from service.http.limits import body_pending, read_body_in_time
from service.http.metrics import STATUS_CLASSES, route_template
from service.http.positions import WRITES, add_position
from service.http.problems import Handler, problem_response, request_id
from service.keys import METRICS
from service.logs import RequestContext


@web.middleware
async def frame(request: web.Request, handler: Handler) -> web.StreamResponse:
    identity = request[REQUEST_ID] = request_id(request)
    started = request[STARTED] = time.perf_counter()
    route = request[ROUTE] = route_template(request)
    origin = request.headers.get("Origin")
    status = 500  # unless something answers
    streamed = False
    try:
        with RequestContext(identity):
            try:
                if body_pending(request):
                    await read_body_in_time(request)
                preflight_answer = None if origin is None else await preflight(request, origin)
                if preflight_answer is not None:
                    response: web.StreamResponse = preflight_answer
                else:
                    response = await handler(request)
                    if request.method in WRITES:
                        await add_position(request, response)
            except web.HTTPException as exception:
                if exception.status < 400:
                    raise  # a redirect: aiohttp answers it
                response = problem_response(request, exception)
            except Exception as error:
                response = problem_response(request, error)
        status = response.status
        # A live stream's handler ends when its client leaves: counted while open, not timed.
        streamed = not isinstance(response, web.Response)
    except web.HTTPException as exception:
        status = exception.status
        exception.headers["X-Request-Id"] = identity
        raise
    finally:
        if not streamed:
            request.app[METRICS].request_answered(
                route, request.method, STATUS_CLASSES[status // 100], time.perf_counter() - started
            )
    response.headers["X-Request-Id"] = identity
    if origin is not None and not response.prepared:  # a live stream's were set as it began
        add_cors_headers(request, response)
    return response
