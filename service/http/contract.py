"""The contract, served: GET /openapi.yaml, and GET /problems/{slug}, the page each problem
`type` URI resolves to."""

import functools
import html
import sysconfig
from pathlib import Path

from aiohttp import web

from service.http.problem_types import PROBLEM_TYPES
from service.http.problems import Problem

# A checkout (or an editable install) has openapi.yaml beside the package; a plain install puts
# it under <prefix>/share/threadlog (pyproject's data-files).
OPENAPI_CANDIDATES = (
    Path(__file__).resolve().parents[2] / "openapi.yaml",
    Path(sysconfig.get_path("data")) / "share" / "threadlog" / "openapi.yaml",
)
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}}
code{{background:#f3f3f3;padding:0 .2em}}</style></head>
<body><h1>{title}</h1><p>HTTP {statuses} · <code>{slug}</code></p>
<h2>What it means</h2><p>{meaning}</p><h2>What to do</h2><p>{what_to_do}</p>
<p><a href="/openapi.yaml">The API contract (openapi.yaml)</a></p></body></html>
"""


@functools.cache
def openapi_document() -> bytes:
    for path in OPENAPI_CANDIDATES:
        if path.exists():
            return path.read_bytes()
    raise FileNotFoundError(f"openapi.yaml is in none of {OPENAPI_CANDIDATES}: reinstall")


async def get_openapi(request: web.Request) -> web.Response:
    return web.Response(
        body=openapi_document(),
        content_type="application/yaml",
        charset="utf-8",
        headers={"Cache-Control": "no-cache"},
    )


async def get_problem_type(request: web.Request) -> web.Response:
    slug = request.match_info["slug"]
    found = PROBLEM_TYPES.get(slug)
    if found is None:
        raise Problem(404, "no such problem type")
    page = PAGE.format(
        title=html.escape(found.title),
        statuses=", ".join(map(str, found.statuses)),
        slug=slug,
        meaning=code_spans(found.meaning),
        what_to_do=code_spans(found.what_to_do),
    )
    return web.Response(text=page, content_type="text/html")


def code_spans(text: str) -> str:
    """`name` -> <code>name</code>, the rest escaped."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{part}</code>" if i % 2 else part for i, part in enumerate(parts))
