"""Hello-world aiohttp server: the HTTP ceiling the real service is compared against.

Run by run.py in its own process: `python bench/hello.py --port 8099`.
One process, no middleware, no access log, a small JSON body: what aiohttp can do at best.
With `--body FILE` (bench/floor.py) every path answers that file's bytes, gzipped and with the
headers of a cached thread read, on uvloop as `serve` runs: the floor of that read.
"""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path

import uvloop
from aiohttp import web

_BODY = b'{"status":"ok","hello":"world"}'


async def hello(_: web.Request) -> web.Response:
    return web.Response(body=_BODY, content_type="application/json")


def thread_read(body: bytes) -> web.Handler:
    gzipped = gzip.compress(body, compresslevel=6, mtime=0)
    headers = {
        "ETag": '"0123456789abcdef0123456789abcdef-gzip"',
        "Cache-Control": "no-cache",
        "Vary": "Accept-Encoding",
        "Content-Encoding": "gzip",
        "X-Request-Id": "00000000-0000-4000-8000-000000000000",
    }

    async def read(_: web.Request) -> web.Response:
        return web.Response(body=gzipped, content_type="application/json", headers=headers)

    return read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--body", type=Path, help="answer this file, as a cached thread read")
    args = parser.parse_args()

    app = web.Application()
    if args.body is None:
        app.router.add_get("/", hello)
    else:
        app.router.add_get("/{path:.*}", thread_read(args.body.read_bytes()))
        uvloop.install()
    # access_log=None: logging every request would measure the logger, not aiohttp.
    web.run_app(app, host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
