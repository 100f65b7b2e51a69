"""Every typed key of the aiohttp application and request."""

import asyncio

from aiohttp import web

from service.access.credentials import ServerSecret
from service.access.sites import SiteDirectory
from service.db import Pool
from service.http.assets import Assets
from service.http.live_pages import SharedPages
from service.http.representations import RepresentationCache
from service.read.stamps import ThreadStamps
from service.settings import Settings
from service.subscriptions.wakeup import Wakeup
from service.write.application import Application

SETTINGS = web.AppKey("settings", Settings)
POOL = web.AppKey("pool", Pool)
APPLICATION = web.AppKey("application", Application)
SITES = web.AppKey("sites", SiteDirectory)
REPRESENTATIONS = web.AppKey("representations", RepresentationCache)
STAMPS = web.AppKey("stamps", ThreadStamps)
WAKEUP = web.AppKey("wakeup", Wakeup)
SERVER_SECRET = web.AppKey("server_secret", ServerSecret)
REQUEST_ID = web.RequestKey("request_id", str)
# The embed widget's static files, and the allowed cross-origin caller of a request.
ASSETS = web.AppKey("assets", Assets)
CORS_ORIGIN = web.RequestKey("cors_origin", str)
LIVE_PAGES = web.AppKey("live_pages", SharedPages)
# Set when the service begins to shut down: live streams end, readiness fails.
STOPPING = web.AppKey("stopping", asyncio.Event)
