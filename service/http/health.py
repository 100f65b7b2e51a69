"""Liveness and readiness."""

import asyncio

from aiohttp import web

from service.db import DatabaseUnavailable
from service.http.problems import Problem
from service.http.views import json_response
from service.keys import POOL, STOPPING
from service.ops import migrate
from service.ops.feed_watch import feed_lag


async def get_health(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def get_ready(request: web.Request) -> web.Response:
    if request.app[STOPPING].is_set():
        # A load balancer stops sending requests here while those in progress finish.
        raise Problem(
            503, "the service is shutting down", slug="shutting-down", title="Shutting down"
        )
    try:
        async with asyncio.timeout(2), request.app[POOL].acquire() as connection:
            revision = await migrate.current_revision(connection)
            head = migrate.head_revision()
            if revision != head:
                detail = f"the schema is at {revision}, not at {head}; run `threadlog migrate`"
                raise Problem(503, detail)
            lag = await feed_lag(connection)
    except TimeoutError as error:
        raise DatabaseUnavailable.because(error) from None
    # Ready even while held back: the service answers; only the feed's subscribers wait.
    return json_response({"status": "ready", "schema": revision, "feed": lag.view()})
