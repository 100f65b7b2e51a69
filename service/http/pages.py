"""The widget's scripts, the moderator console and the demo blog, served by the service."""

from html import escape
from urllib.parse import quote

from aiohttp import web

from service.db import DatabaseUnavailable
from service.http.keys import ASSETS
from service.http.parsing import query_choice, query_text
from service.http.problems import Problem
from service.keys import SITES
from service.ops.demo import DEMO_POSTS, DEMO_SITE, DemoPost, find_post

PAGE_CACHE = "no-cache"
ICON_CACHE = "public, max-age=86400"
# The console holds a moderator key: nothing but its own files may run or be fetched.
CONSOLE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "connect-src 'self'; img-src 'self'; form-action 'none'; frame-ancestors 'none'; "
    "base-uri 'none'"
)


async def get_embed_script(request: web.Request) -> web.Response:
    return request.app[ASSETS]["embed.js"].response(request)


async def get_labels_script(request: web.Request) -> web.Response:
    return request.app[ASSETS]["labels.js"].response(request)


async def get_count_script(request: web.Request) -> web.Response:
    return request.app[ASSETS]["count.js"].response(request)


async def get_recent_script(request: web.Request) -> web.Response:
    return request.app[ASSETS]["recent.js"].response(request)


async def get_admin_script(request: web.Request) -> web.Response:
    return request.app[ASSETS]["admin.js"].response(request)


async def get_favicon(request: web.Request) -> web.Response:
    return request.app[ASSETS]["favicon.ico"].response(request, cache=ICON_CACHE)


async def get_admin_page(request: web.Request) -> web.Response:
    response = request.app[ASSETS]["admin.html"].response(request, cache=PAGE_CACHE)
    response.headers["Content-Security-Policy"] = CONSOLE_POLICY
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


async def get_demo_page(request: web.Request) -> web.Response:
    post_id = query_text(request, "post", 128)
    label = query_text(request, "label", 50)
    lang = query_choice(request, "lang", ("auto", "en", "nl"))
    assets = request.app[ASSETS]
    post = find_post(post_id or DEMO_POSTS[0].post_id)
    if post is None:
        raise Problem(404, f"the demo blog has no post {post_id!r}")
    # Only the embedded server makes the demo site by itself; elsewhere, say how to make it.
    # With the database away the page is served all the same: its widget says so.
    try:
        missing = await request.app[SITES].get(DEMO_SITE) is None
    except DatabaseUnavailable:
        missing = False
    if missing:
        return no_demo_page(request)
    main = label_listing(label) if label is not None else article(post, lang)
    page_lang = post.lang if lang == "auto" and label is None else lang.replace("auto", "en")
    scripts = "".join(
        f'<script src="{path}?v={assets[name].version}" async></script>\n'
        for path, name in (
            ("/embed.js", "embed.js"),
            ("/embed/labels.js", "labels.js"),
            ("/embed/count.js", "count.js"),
            ("/embed/recent.js", "recent.js"),
        )
    )
    body = (
        assets["demo.html"]
        .body.decode()
        .replace("{{lang}}", page_lang)
        .replace("{{main}}", main)
        .replace("{{posts}}", post_list())
        .replace("{{site}}", DEMO_SITE)
        .replace("{{scripts}}", scripts)
    )
    return web.Response(text=body, content_type="text/html", headers={"Cache-Control": PAGE_CACHE})


def article(post: DemoPost, lang: str) -> str:
    lang_attribute = f' data-lang="{lang}"' if lang != "auto" else ""
    paragraphs = "".join(f"<p>{escape(text)}</p>" for text in post.paragraphs)
    return (
        f'<article lang="{post.lang}"><h1>{escape(post.title)}</h1>'
        f'<p class="labels">{label_links(post)}</p>{paragraphs}</article>'
        f'<section aria-label="Comments"><div id="threadlog" data-site="{DEMO_SITE}" '
        f'data-post="{escape(post.post_id)}"{lang_attribute}></div></section>'
    )


def label_listing(label: str) -> str:
    wanted = label.strip().casefold()
    posts = [p for p in DEMO_POSTS if wanted in (name.casefold() for name in p.labels)]
    items = "".join(
        f'<li><a href="/demo?post={escape(p.post_id)}">{escape(p.title)}</a> '
        f'<span data-site="{DEMO_SITE}" data-threadlog-count="{escape(p.post_id)}"></span></li>'
        for p in posts
    )
    return f"<h1>Posts labelled “{escape(label)}”</h1><ul>{items or '<li>None.</li>'}</ul>"


def label_links(post: DemoPost) -> str:
    return " ".join(
        f'<a href="/demo?label={escape(quote(name))}">{escape(name)}</a>' for name in post.labels
    )


def post_list() -> str:
    return "".join(
        f'<li><a href="/demo?post={escape(p.post_id)}">{escape(p.title)}</a> '
        f'<span data-site="{DEMO_SITE}" data-threadlog-count="{escape(p.post_id)}"></span></li>'
        for p in DEMO_POSTS
    )


def no_demo_page(request: web.Request) -> web.Response:
    origin = f"{request.scheme}://{request.host}"
    page = request.app[ASSETS]["no-demo.html"].body.decode().replace("{{origin}}", escape(origin))
    return web.Response(text=page, content_type="text/html", headers={"Cache-Control": PAGE_CACHE})
