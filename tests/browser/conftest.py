"""Browser tests: Debian's chromium, driven by Playwright, against the real app on a real
PostgreSQL. A second small server plays the blog, on another origin, so the widget runs
embedded exactly as on a blogger's site (CORS included). Screenshots go to
.threadlog/artifacts/."""

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from tests.builders import Client, SiteKeys, make_site
from tests.conftest import ROOT

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / ".threadlog" / "artifacts"
# A busy CI machine may take longer than Playwright's 5 s default to show a live comment.
expect.set_options(timeout=20_000)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():  # noqa: ASYNC240 - once per run, before any I/O matters
        pytest.fail("the browser tests need Debian's chromium: apt-get install -y chromium")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        yield launched
        await launched.close()


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    made = await browser.new_context(locale="en-GB", viewport={"width": 1000, "height": 900})
    yield made
    await made.close()


@pytest.fixture
async def browser_contexts(
    browser: Browser,
) -> AsyncIterator[tuple[BrowserContext, BrowserContext]]:
    """Two readers, each with their own storage."""
    first = await browser.new_context(locale="en-GB")
    second = await browser.new_context(locale="en-GB")
    yield first, second
    await first.close()
    await second.close()


@dataclass
class Blog:
    """Pages of a blog on its own origin, each embedding the service's scripts."""

    origin: str
    service: str
    pages: dict[str, str] = field(default_factory=dict)

    def page(self, body: str, lang: str = "en", head: str = "") -> str:
        name = secrets.token_hex(4)
        scripts = "".join(
            f'<script src="{self.service}{path}" async></script>'
            for path in ("/embed.js", "/embed/labels.js", "/embed/count.js")
        )
        self.pages[name] = (
            f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
            f"<title>A blog</title>{head}</head><body>{body}{scripts}</body></html>"
        )
        return f"{self.origin}/{name}"


@pytest.fixture(scope="session")
async def blog(client: Client) -> AsyncIterator[Blog]:
    service = str(client.make_url("")).rstrip("/")
    pages: dict[str, str] = {}

    async def serve(request: web.Request) -> web.Response:
        html = pages.get(request.match_info["name"])
        if html is None:
            raise web.HTTPNotFound()
        return web.Response(text=html, content_type="text/html")

    app = web.Application()
    app.router.add_get("/{name}", serve)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield Blog(str(server.make_url("")).rstrip("/"), service, pages)
    await server.close()


@pytest.fixture
async def blog_site(pool: asyncpg.Pool, blog: Blog) -> SiteKeys:
    return await make_site(pool, blog.origin)


async def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
