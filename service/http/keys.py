"""The typed keys of what only the HTTP layer keeps on the application and the request."""

from aiohttp import web

from service.access.concurrency import Holdings
from service.http.assets import Assets
from service.http.live_pages import SharedPages
from service.http.representations import RepresentationCache

REPRESENTATIONS = web.AppKey("representations", RepresentationCache)
REQUEST_ID = web.RequestKey("request_id", str)
# The route template a request matched (`/v1/sites/{site}/...`), for its access line.
ROUTE = web.RequestKey("route", str)
# When the middlewares took the request (time.perf_counter()): aiohttp's own start time comes
# from the event loop's clock, which on uvloop moves in whole milliseconds.
STARTED = web.RequestKey("started", float)
# The embed widget's static files, and the allowed cross-origin caller of a request.
ASSETS = web.AppKey("assets", Assets)
CORS_ORIGIN = web.RequestKey("cors_origin", str)
LIVE_PAGES = web.AppKey("live_pages", SharedPages)
# Live streams open now, per client address and in total.
STREAM_SLOTS = web.AppKey("stream_slots", Holdings)
