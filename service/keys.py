"""The typed keys of the services the application holds (the HTTP layer's own are in
service/http/keys.py)."""

import asyncio

from aiohttp import web

from service.access.clients import TrustedProxies
from service.access.credentials import KeyUse, ServerSecret
from service.access.sites import SiteDirectory
from service.db import Pool
from service.metrics import Metrics
from service.read.replica import Reads
from service.read.stamps import ThreadStamps
from service.settings import Settings
from service.subscriptions.tail import LogTail
from service.subscriptions.wakeup import Wakeup
from service.write.application import Application

SETTINGS = web.AppKey("settings", Settings)
POOL = web.AppKey("pool", Pool)
# Where reads go: the replica (THREADLOG_READ_DATABASE_URL) or the primary.
READS = web.AppKey("reads", Reads)
APPLICATION = web.AppKey("application", Application)
SITES = web.AppKey("sites", SiteDirectory)
STAMPS = web.AppKey("stamps", ThreadStamps)
WAKEUP = web.AppKey("wakeup", Wakeup)
# The one reader of the log that wakes every waiting live stream.
LOG_TAIL = web.AppKey("log_tail", LogTail)
SERVER_SECRET = web.AppKey("server_secret", ServerSecret)
METRICS = web.AppKey("metrics", Metrics)
# Whose forwarding headers name the client (see service/access/clients.py).
TRUSTED_PROXIES = web.AppKey("trusted_proxies", TrustedProxies)
KEY_USE = web.AppKey("key_use", KeyUse)
# Set when the service begins to shut down: live streams end, readiness fails.
STOPPING = web.AppKey("stopping", asyncio.Event)
