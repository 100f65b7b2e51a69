"""GET /metrics for Prometheus, and the route template every request is measured under.

The numbers that live in the database (the feed's hold-back, backlogs, the relay's lag) are read
when Prometheus scrapes, with a bound, so an idle service costs nothing between scrapes and a
scrape during an outage still answers (with `threadlog_database_up 0`).
"""

import asyncio
import hmac

from aiohttp import web
from prometheus_client.exposition import choose_encoder

from service.db import lost_connection
from service.http.problems import Problem
from service.keys import METRICS, POOL, SETTINGS
from service.metrics import Metrics
from service.ops.feed_watch import feed_lag
from service.subscriptions import backlogs

# A scrape's database reads give up after this long (Prometheus' default timeout is 10 s).
SCRAPE_DATABASE_SECONDS = 3.0
STATUS_CLASSES = {n: f"{n}xx" for n in range(10)}


def route_template(request: web.Request) -> str:
    """The route as declared (`/v1/sites/{site}/...`), never the path itself."""
    resource = request.match_info.route.resource
    if resource is None:
        return "unmatched"
    return resource.canonical


async def get_metrics(request: web.Request) -> web.Response:
    return await metrics_response(request, request.app)


async def metrics_response(request: web.Request, app: web.Application) -> web.Response:
    """The numbers of `app` (the main app, also when served on the metrics port)."""
    token = app[SETTINGS].metrics_token
    if token is not None:
        given = request.headers.get("Authorization", "")
        expected = f"Bearer {token.get_secret_value()}"
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise Problem(401, "GET /metrics needs Authorization: Bearer <THREADLOG_METRICS_TOKEN>")
    metrics = app[METRICS]
    await refresh(app, metrics)
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    return web.Response(body=encoder(metrics.registry), headers={"Content-Type": content_type})


async def refresh(app: web.Application, metrics: Metrics) -> None:
    pool = app[POOL]
    metrics.pool_size.set(pool.get_size())
    metrics.pool_in_use.set(pool.get_size() - pool.get_idle_size())
    try:
        async with asyncio.timeout(SCRAPE_DATABASE_SECONDS), pool.acquire() as connection:
            lag = await feed_lag(connection)
            webhook_backlogs = await backlogs.webhook_backlogs(connection)
            relay = await backlogs.relay_backlog(connection, app[SETTINGS].nats_stream)
    except Exception as error:
        if not (lost_connection(error) or isinstance(error, TimeoutError)):
            raise
        metrics.database_up.set(0)
        return
    metrics.database_up.set(1)
    metrics.feed_held_back.set(lag.held_back_seconds)
    metrics.set_webhook_backlogs(webhook_backlogs)
    metrics.relay_lag.clear()
    if relay is not None:
        metrics.relay_lag.labels(app[SETTINGS].nats_stream).set(relay)
