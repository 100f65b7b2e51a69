"""The aiohttp application factory."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg
from aiohttp import web

from service.access import credentials
from service.access.clients import ForwardedHeader, TrustedProxies, parse_networks
from service.access.concurrency import Holdings
from service.access.sites import CHANNEL as SITES_CHANNEL
from service.access.sites import SiteDirectory
from service.db import create_pool
from service.eventstore import data_keys
from service.http.access_log import AccessLines
from service.http.assets import Assets
from service.http.frame import frame
from service.http.keys import ASSETS, LIVE_PAGES, REPRESENTATIONS, STREAM_SLOTS
from service.http.live_pages import SharedPages
from service.http.metrics import get_metrics, metrics_response
from service.http.representations import RepresentationCache
from service.http.routes import add_routes
from service.keys import (
    APPLICATION,
    KEY_USE,
    LOG_TAIL,
    METRICS,
    POOL,
    READS,
    SERVER_SECRET,
    SETTINGS,
    SITES,
    STAMPS,
    STOPPING,
    TRUSTED_PROXIES,
    WAKEUP,
)
from service.metrics import Metrics
from service.ops import ledger
from service.ops.feed_watch import watch_feed
from service.ops.kek import check_kek, load_vault
from service.ops.maintenance import upkeep
from service.ops.statistics import keep_statistics
from service.read.replica import Reads
from service.read.stamps import ThreadStamps
from service.settings import Settings
from service.subscriptions.dispatcher import Dispatcher
from service.subscriptions.mail.worker import MailWorker
from service.subscriptions.nats_relay import run_relay
from service.subscriptions.tail import LogTail
from service.subscriptions.wakeup import Wakeup
from service.write.application import Application

POOL_CLOSE_SECONDS = 2.0
# The access logger `serve` runs the app with (the CLI takes it from here, not from http/).
ACCESS_LINES = AccessLines


def create_app(settings: Settings) -> web.Application:
    """The service for `settings.database_url`, which must be set (the CLI starts an embedded
    PostgreSQL first when it is not)."""
    if settings.database_url is None:
        raise ValueError("create_app needs settings.database_url")
    app = web.Application(
        middlewares=[frame],
        client_max_size=settings.max_body_bytes,
    )
    app[SETTINGS] = settings
    data_keys.install(lambda: load_vault(settings))
    app[METRICS] = Metrics()
    app[STOPPING] = asyncio.Event()
    app[TRUSTED_PROXIES] = TrustedProxies(
        parse_networks(settings.trusted_proxies), ForwardedHeader(settings.forwarded_header)
    )
    app[STREAM_SLOTS] = Holdings(settings.max_streams, settings.max_streams_per_client)
    app.on_shutdown.append(end_streams)
    # The embed widget's files.
    app[ASSETS] = Assets.load()
    app.cleanup_ctx.append(database)
    app.cleanup_ctx.append(erasure_ledger)
    app.cleanup_ctx.append(upkeep)
    app.cleanup_ctx.append(keep_statistics)
    app.cleanup_ctx.append(watch_feed)
    if settings.nats_url is not None:
        app.cleanup_ctx.append(nats_relay)
    if settings.webhooks_dispatch:
        app.cleanup_ctx.append(webhook_dispatcher)
    if settings.mail_enabled():
        app.cleanup_ctx.append(mail_worker)
    add_routes(app)
    if settings.metrics_port is None:
        app.router.add_get("/metrics", get_metrics, name="get_metrics")
    else:
        app.cleanup_ctx.append(metrics_server)
    return app


async def database(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    assert settings.database_url is not None
    pool = await create_pool(settings, settings.database_url)
    app[POOL] = pool
    replica = None
    if settings.read_database_url is not None:
        replica = await create_pool(settings, settings.read_database_url)
    app[READS] = Reads(pool, replica, settings.replica_wait_seconds)
    # Not migrated: /readyz says so, and nothing is written until it is.
    with contextlib.suppress(asyncpg.UndefinedTableError):
        await check_kek(pool, data_keys.current())
    wakeup = app[WAKEUP] = Wakeup()
    sites = app[SITES] = SiteDirectory(pool)
    # Another process changed a site: read it again here at once, not after the cache's TTL.
    wakeup.listen(SITES_CHANNEL, sites.heard)
    await wakeup.start(settings.database_url)
    app[APPLICATION] = Application(
        pool, settings.writers, settings.batch_size, wakeup.committed, app[METRICS]
    )
    app[REPRESENTATIONS] = RepresentationCache(settings.cache_bytes)
    app[STAMPS] = ThreadStamps(pool, wakeup, settings.stamp_seconds)
    app[LIVE_PAGES] = SharedPages()
    tail = app[LOG_TAIL] = LogTail(pool, wakeup)
    await tail.start()
    app[SERVER_SECRET] = credentials.ServerSecret(pool, settings.token_key_bytes())
    app[KEY_USE] = credentials.KeyUse()
    yield
    await app[APPLICATION].close()
    await tail.close()
    await wakeup.stop()
    for each in (pool, replica):
        if each is None:
            continue
        try:
            # Every connection is back by now, unless something hangs: then it is cut.
            await asyncio.wait_for(each.close(), POOL_CLOSE_SECONDS)
        except TimeoutError:
            each.terminate()


async def erasure_ledger(app: web.Application) -> AsyncIterator[None]:
    """Before serving: erase again what a restored backup brought back (see ops/ledger.py)."""
    path = app[SETTINGS].ledger_path()
    with contextlib.suppress(asyncpg.UndefinedTableError):  # not migrated: nothing to erase
        await ledger.reapply(app[POOL], app[APPLICATION], app[SITES], path)
        await ledger.record(app[POOL], path)
    yield


async def end_streams(app: web.Application) -> None:
    """The first step of a shutdown, before aiohttp waits for the requests in progress: live
    streams end at once (with a reconnection hint), and /readyz fails."""
    app[STOPPING].set()
    if WAKEUP in app:
        app[WAKEUP].wake()
    if LOG_TAIL in app:
        app[LOG_TAIL].stop()


async def nats_relay(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    assert settings.database_url is not None and settings.nats_url is not None
    stop = asyncio.Event()
    relay = run_relay(
        settings.database_url,
        settings.nats_url,
        settings.nats_stream,
        settings.nats_subject_prefix,
        stop,
    )
    task = asyncio.create_task(relay)
    yield
    # At least once: a page cut short is published again by the next relay.
    stop.set()
    await asyncio.gather(task, return_exceptions=True)


async def webhook_dispatcher(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    assert settings.database_url is not None
    dispatcher = Dispatcher(app[POOL], settings.database_url, settings, app[WAKEUP], app[METRICS])
    task = asyncio.create_task(dispatcher.run(app[SERVER_SECRET]))
    yield
    # Each webhook stops at its checkpoint; a delivery cut short is sent again from it.
    await dispatcher.stop(task)


async def mail_worker(app: web.Application) -> AsyncIterator[None]:
    worker = MailWorker(app[SETTINGS], app[WAKEUP], app[SERVER_SECRET], app[METRICS])
    task = asyncio.create_task(worker.run())
    yield
    # Between two mails: the one in hand is recorded as sent before the worker ends.
    await worker.stop(task)


async def metrics_server(app: web.Application) -> AsyncIterator[None]:
    """/metrics alone on THREADLOG_METRICS_PORT, so that only the monitoring network reaches
    it; it reads the main app's numbers."""
    settings = app[SETTINGS]
    assert settings.metrics_port is not None
    metrics_app = web.Application()

    async def get_metrics_of_app(request: web.Request) -> web.Response:
        return await metrics_response(request, app)

    metrics_app.router.add_get("/metrics", get_metrics_of_app, name="get_metrics")
    runner = web.AppRunner(metrics_app, access_log=None, handle_signals=False)
    await runner.setup()
    # With `--workers`, each worker answers the scrapes that reach its socket (its own numbers).
    reuse_port = settings.workers > 1
    await web.TCPSite(runner, settings.host, settings.metrics_port, reuse_port=reuse_port).start()
    yield
    await runner.cleanup()
