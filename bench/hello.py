"""Hello-world aiohttp server: the HTTP ceiling the real service is compared against.

Run by run.py in its own process: `python bench/hello.py --port 8099`.
One process, no middleware, no access log, a small JSON body: what aiohttp can do at best.
"""

from __future__ import annotations

import argparse

from aiohttp import web

_BODY = b'{"status":"ok","hello":"world"}'


async def hello(_: web.Request) -> web.Response:
    return web.Response(body=_BODY, content_type="application/json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()

    app = web.Application()
    app.router.add_get("/", hello)
    # access_log=None: logging every request would measure the logger, not aiohttp.
    web.run_app(app, host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
