"""Bad input is refused with a 4xx application/problem+json, and refusing it loses nothing.

Write cases re-read the post, its thread and its stored events before and after the bad
request: a refused request must neither change nor add anything.
"""

import base64
import gzip
import json
import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from enum import StrEnum
from html.parser import HTMLParser
from typing import Any

import pytest
from aiohttp import ClientResponse
from multidict import MultiDict

from service.db import Pool
from tests.builders import Client, SiteKeys, comment, new_id, publish, thread

JsonObject = dict[str, Any]
MISSING = object()
PROBLEM_FIELDS = {"type", "title", "status", "detail", "instance"}
SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-failed",
}


async def assert_problem(
    response: ClientResponse,
    status: int,
    slug: str | None = None,
    loc: tuple[str | int, ...] | None = None,
) -> JsonObject:
    """`response` is an RFC 9457 problem with `status`; a 422 lists its errors (one at `loc`)."""
    text = await response.text()
    assert response.status == status, text
    assert response.content_type == "application/problem+json", text
    assert response.headers.get("X-Request-Id")
    problem: JsonObject = json.loads(text)
    assert problem.keys() >= PROBLEM_FIELDS, problem
    assert problem["type"].endswith(f"/problems/{slug or SLUGS[status]}"), problem
    assert problem["status"] == status
    assert isinstance(problem["title"], str) and problem["title"]
    assert isinstance(problem["detail"], str) and len(problem["detail"]) >= 10, problem
    assert problem["instance"] == response.url.path
    if status == 422 and problem["type"].endswith("/problems/validation-failed"):
        errors = problem["errors"]
        assert errors and all({"loc", "msg", "type"} <= error.keys() for error in errors)
        if loc is not None:
            assert list(loc) in [error["loc"] for error in errors], errors
    if status == 401:
        assert response.headers.get("WWW-Authenticate") == 'Bearer realm="threadlog"'
    return problem


# --- a stored thread, and a snapshot of everything a bad request could disturb ---------------


@dataclass(frozen=True)
class World:
    site: SiteKeys
    post_id: str
    comment: JsonObject  # top-level, with one reply


@pytest.fixture
async def world(client: Client, site: SiteKeys) -> World:
    post_id = await publish(client, site, title="Original title", labels=["kept"])
    first = await comment(client, site, post_id, "first *comment*")
    await comment(client, site, post_id, "a reply", parent_id=first["id"])
    return World(site, post_id, first)


async def snapshot(client: Client, pool: Pool, world: World) -> JsonObject:
    """The post and thread as served, and the post's events as stored (the HTTP feed would
    show a new event only once every older transaction on the cluster has ended)."""
    post = await client.get(f"/v1/sites/{world.site.site}/posts/{world.post_id}")
    assert post.status == 200, await post.text()
    events = await pool.fetch(
        "SELECT event_id, type, data::text FROM events "
        "WHERE site = $1 AND data->>'post_id' = $2 ORDER BY position",
        world.site.site,
        world.post_id,
    )
    return {
        "post": await post.json(),
        "thread": await thread(client, world.site, world.post_id),
        "events": [tuple(row) for row in events],
    }


@pytest.fixture
async def unchanged(client: Client, pool: Pool, world: World) -> AsyncIterator[World]:
    """The world; after the test, it must read exactly as it did before."""
    before = await snapshot(client, pool, world)
    assert before["thread"]["total"] == 2 and len(before["events"]) == 3
    yield world
    assert await snapshot(client, pool, world) == before


# --- request bodies ----------------------------------------------------------------------------


class Endpoint(StrEnum):
    PUT_POST = "put_post"
    POST_COMMENT = "post_comment"
    DELETE_COMMENT = "delete_comment"


# A valid body of each endpoint, with one text field (`%s`) to inject raw JSON string content.
TEMPLATES = {
    Endpoint.PUT_POST: b'{"title": "%s", "url": "https://blog.example/p", "labels": ["kept"]}',
    Endpoint.POST_COMMENT: b'{"author": {"name": "Ann"}, "body": "%s"}',
    Endpoint.DELETE_COMMENT: b'{"reason": "%s"}',
}


def with_text(endpoint: Endpoint, raw: bytes) -> bytes:
    return TEMPLATES[endpoint] % raw


def with_extra(endpoint: Endpoint, raw_value: bytes) -> bytes:
    """The valid body plus an unknown field `extra` holding `raw_value`."""
    return with_text(endpoint, b"fine")[:-1] + b', "extra": ' + raw_value + b"}"


def route(world: World, endpoint: Endpoint) -> tuple[str, str, dict[str, str]]:
    """The endpoint's method and path in `world`, and credentials that let a request through."""
    site = world.site
    match endpoint:
        case Endpoint.PUT_POST:
            return "PUT", f"/v1/sites/{site.site}/posts/{world.post_id}", site.auth("publisher")
        case Endpoint.POST_COMMENT:
            return "POST", f"/v1/sites/{site.site}/posts/{world.post_id}/comments", {}
        case Endpoint.DELETE_COMMENT:
            path = f"/v1/sites/{site.site}/comments/{world.comment['id']}"
            return "DELETE", path, site.auth("moderator")


async def send(
    client: Client,
    world: World,
    endpoint: Endpoint,
    body: bytes | None,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> ClientResponse:
    method, path, credentials = route(world, endpoint)
    sent = credentials | {"Content-Type": content_type} | (headers or {})
    return await client.request(method, path, data=body, headers=sent)


@dataclass(frozen=True)
class Bad:
    name: str
    body: bytes | None
    status: int
    slug: str | None = None
    loc: tuple[str | int, ...] | None = None
    content_type: str = "application/json"


def generic_cases(endpoint: Endpoint) -> list[Bad]:
    """Bad bodies that every JSON-accepting endpoint refuses the same way."""
    text = b"plain text"
    return [
        Bad("malformed-json", b'{"title": ', 400),
        Bad("trailing-garbage", with_text(endpoint, text) + b" x", 400),
        Bad("single-quotes", b"{'reason': 'x'}", 400),
        Bad("array", b"[]", 422),
        Bad("array-of-object", b"[{}]", 422),
        Bad("string", b'"text"', 422),
        Bad("number", b"42", 422),
        Bad("null", b"null", 422),
        Bad("boolean", b"true", 422),
        Bad("raw-nul-in-string", with_text(endpoint, b"a\x00b"), 400),
        Bad("escaped-nul", with_text(endpoint, b"a\\u0000b"), 400),
        Bad("raw-control-character", with_text(endpoint, b"a\x01b"), 400),
        Bad("raw-escape-character", with_text(endpoint, b"a\x1b[31mb"), 400),
        Bad("raw-delete-character", with_text(endpoint, b"a\x7fb"), 422),
        Bad("escaped-control-character", with_text(endpoint, b"a\\u0001b"), 422),
        Bad("escaped-escape-character", with_text(endpoint, b"a\\u001bb"), 422),
        Bad("escaped-backspace", with_text(endpoint, b"a\\bb"), 422),
        Bad("escaped-delete-character", with_text(endpoint, b"a\\u007fb"), 422),
        Bad("invalid-utf8-byte", with_text(endpoint, b"a\xffb"), 400),
        Bad("invalid-utf8-truncated", with_text(endpoint, b"a\xc3(b"), 400),
        Bad("invalid-utf8-overlong", with_text(endpoint, b"a\xc0\xafb"), 400),
        Bad("invalid-utf8-surrogate", with_text(endpoint, b"a\xed\xa0\x80b"), 400),
        Bad("latin1-body", with_text(endpoint, "café".encode("latin-1")), 400),
        Bad("lone-high-surrogate-escape", with_text(endpoint, b"a\\ud800b"), 400),
        Bad("lone-low-surrogate-escape", with_text(endpoint, b"a\\udfffb"), 400),
        Bad("deeply-nested-arrays", b"[" * 20_000, 400),
        Bad("deeply-nested-objects-in-unknown-field", with_extra(endpoint, b'{"a":' * 5_000), 400),
        Bad("nested-100000-arrays-over-limit", b"[" * 100_000, 413),
        Bad("body-over-64-kib", with_text(endpoint, b"a" * 70_000), 413),
        Bad("unknown-field", with_extra(endpoint, b"1"), 422, loc=("extra",)),
        Bad("unknown-nested-field", with_extra(endpoint, b'{"a": [1]}'), 422, loc=("extra",)),
        *[
            Bad(
                f"content-type-{media_type.split(';')[0]}",
                with_text(endpoint, text),
                415,
                content_type=media_type,
            )
            for media_type in (
                "text/plain",
                "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=x",
                "application/xml",
                "application/octet-stream",
                "application/vnd.api+json",
                "text/json",
            )
        ],
    ]


def changed(base: JsonObject, path: tuple[str, ...], value: object) -> bytes:
    """`base` as JSON, with the field at `path` set to `value` (or removed when MISSING)."""
    body = json.loads(json.dumps(base))
    target = body
    for key in path[:-1]:
        target = target[key]
    if value is MISSING:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return json.dumps(body).encode()


def field_cases(
    base: JsonObject, cases: Iterable[tuple[str, tuple[str, ...], object]]
) -> list[Bad]:
    """422s whose errors name the field they broke."""
    return [Bad(name, changed(base, path, value), 422, loc=path) for name, path, value in cases]


POST = {"title": "T", "url": "https://blog.example/p", "labels": ["kept"]}
PUT_POST_CASES = [
    Bad("no-body", None, 400),
    Bad("empty-object", b"{}", 422, loc=("title",)),
    *field_cases(
        POST,
        [
            ("title-number", ("title",), 42),
            ("title-null", ("title",), None),
            ("title-missing", ("title",), MISSING),
            ("title-empty", ("title",), ""),
            ("title-blank", ("title",), "   "),
            ("title-301-chars", ("title",), "t" * 301),
            ("title-two-lines", ("title",), "one\ntwo"),
            ("url-missing", ("url",), MISSING),
            ("url-number", ("url",), 1),
            ("url-javascript", ("url",), "javascript:alert(1)"),
            ("url-ftp", ("url",), "ftp://blog.example/p"),
            ("url-no-host", ("url",), "https://"),
            ("url-relative", ("url",), "/p"),
            ("url-2049-chars", ("url",), "https://blog.example/" + "p" * 2028),
            ("labels-string", ("labels",), "a,b"),
            ("labels-object", ("labels",), {"a": 1}),
            ("labels-21", ("labels",), [f"label-{n}" for n in range(21)]),
            ("published-at-naive", ("published_at",), "2024-05-01T12:00:00"),
            ("published-at-garbage", ("published_at",), "yesterday"),
            ("published-at-date-only", ("published_at",), "2024-05-01"),
            ("published-at-number", ("published_at",), 1_700_000_000),
            ("published-at-bad-offset", ("published_at",), "2024-05-01T12:00:00+25:00"),
            ("published-at-past-year-9999", ("published_at",), "9999-12-31T23:59:59-23:59"),
            ("published-at-before-year-1", ("published_at",), "0001-01-01T00:00:00+01:00"),
            ("published-at-first-instant", ("published_at",), "0001-01-01T00:00:00Z"),
            ("published-at-last-instant", ("published_at",), "9999-12-31T23:59:59.999999Z"),
        ],
    ),
    *[
        Bad(name, changed(POST, ("labels",), [label, "kept"]), 422, loc=("labels", 0))
        for name, label in [
            ("label-51-chars", "l" * 51),
            ("label-empty", ""),
            ("label-number", 7),
            ("label-two-lines", "a\nb"),
        ]
    ],
]

COMMENT = {"author": {"name": "Ann", "email": "ann@example.com"}, "body": "hi"}
POST_COMMENT_CASES = [
    Bad("no-body", None, 400),
    Bad("empty-object", b"{}", 422, loc=("author",)),
    *field_cases(
        COMMENT,
        [
            ("author-missing", ("author",), MISSING),
            ("author-null", ("author",), None),
            ("author-string", ("author",), "Ann"),
            ("author-array", ("author",), ["Ann"]),
            ("author-unknown-field", ("author", "is_admin"), True),
            ("name-number", ("author", "name"), 42),
            ("name-missing", ("author", "name"), MISSING),
            ("name-empty", ("author", "name"), ""),
            ("name-blank", ("author", "name"), " \t "),
            ("name-101-chars", ("author", "name"), "n" * 101),
            ("name-two-lines", ("author", "name"), "Ann\nAdmin"),
            ("body-missing", ("body",), MISSING),
            ("body-null", ("body",), None),
            ("body-empty", ("body",), ""),
            ("body-blank", ("body",), " \n\t "),
            ("body-object", ("body",), {"text": "hi"}),
            ("body-number", ("body",), 42),
            ("body-10001-chars", ("body",), "b" * 10_001),
            ("email-no-at", ("author", "email"), "not-an-email"),
            ("email-no-domain-dot", ("author", "email"), "ann@example"),
            ("email-space", ("author", "email"), "ann smith@example.com"),
            ("email-no-local-part", ("author", "email"), "@example.com"),
            ("email-255-chars", ("author", "email"), "a" * 243 + "@example.com"),
            ("email-number", ("author", "email"), 42),
            ("website-javascript", ("author", "website"), "javascript:alert(1)"),
            ("website-data", ("author", "website"), "data:text/html,<script>alert(1)</script>"),
            ("website-ftp", ("author", "website"), "ftp://example.com/"),
            ("website-no-host", ("author", "website"), "https://"),
            ("website-empty-host", ("author", "website"), "http:///path"),
            ("website-no-scheme", ("author", "website"), "example.com"),
            ("website-scheme-relative", ("author", "website"), "//evil.example/"),
            ("website-bad-port", ("author", "website"), "http://example.com:99999/"),
            ("website-2049-chars", ("author", "website"), "https://x.example/" + "w" * 2031),
            ("website-number", ("author", "website"), 42),
            ("parent-id-number", ("parent_id",), 42),
            ("parent-id-empty", ("parent_id",), ""),
            ("parent-id-65-chars", ("parent_id",), "p" * 65),
            ("parent-id-control", ("parent_id",), "a\u0007b"),
        ],
    ),
]

DELETE_COMMENT_CASES = field_cases(
    {"reason": "spam"},
    [
        ("reason-number", ("reason",), 42),
        ("reason-array", ("reason",), ["spam"]),
        ("reason-empty", ("reason",), ""),
        ("reason-blank", ("reason",), "   "),
        ("reason-501-chars", ("reason",), "r" * 501),
        ("reason-two-lines", ("reason",), "spam\nand more"),
    ],
)

BODY_CASES = [
    pytest.param(endpoint, case, id=f"{endpoint}-{case.name}")
    for endpoint, specific in (
        (Endpoint.PUT_POST, PUT_POST_CASES),
        (Endpoint.POST_COMMENT, POST_COMMENT_CASES),
        (Endpoint.DELETE_COMMENT, DELETE_COMMENT_CASES),
    )
    for case in [*generic_cases(endpoint), *specific]
]


@pytest.mark.parametrize(("endpoint", "case"), BODY_CASES)
async def test_a_bad_body_is_a_problem_and_changes_nothing(
    client: Client, unchanged: World, endpoint: Endpoint, case: Bad
) -> None:
    response = await send(client, unchanged, endpoint, case.body, case.content_type)
    await assert_problem(response, case.status, case.slug, case.loc)


@pytest.mark.parametrize("endpoint", list(Endpoint))
async def test_a_chunked_body_over_64_kib_is_413(
    client: Client, unchanged: World, endpoint: Endpoint
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"body": "'
        for _ in range(80):
            yield b"a" * 1024
        yield b'"}'

    method, path, credentials = route(unchanged, endpoint)
    headers = credentials | {"Content-Type": "application/json"}
    response = await client.request(method, path, data=chunks(), headers=headers)
    await assert_problem(response, 413)


GZIP_BOMB = gzip.compress(with_text(Endpoint.POST_COMMENT, b"a" * 200_000))


@pytest.mark.parametrize(
    ("encoded", "status"),
    [
        pytest.param(with_text(Endpoint.POST_COMMENT, b"not gzip"), 400, id="not-gzip"),
        pytest.param(GZIP_BOMB, 413, id="over-64-kib-once-inflated"),
    ],
)
async def test_a_gzip_body_is_checked_once_inflated(
    client: Client, unchanged: World, encoded: bytes, status: int
) -> None:
    headers = {"Content-Encoding": "gzip"}
    response = await send(client, unchanged, Endpoint.POST_COMMENT, encoded, headers=headers)
    await assert_problem(response, status)
    # The refused body leaves the service able to answer the next request.
    assert (await client.get("/healthz")).status == 200


async def test_an_escaped_backslash_before_u0000_is_text_not_nul(
    client: Client, world: World
) -> None:
    # JSON "\\u0000" is a backslash followed by "u0000": harmless text, kept as written.
    body = b'{"author": {"name": "Ann"}, "body": "C strings end at \\\\u0000"}'
    response = await send(client, world, Endpoint.POST_COMMENT, body)
    assert response.status == 201, await response.text()
    created = await response.json()
    assert "C strings end at \\u0000" in created["body_html"]


# --- unknown resources -------------------------------------------------------------------------


UNKNOWN_COMMENT = "7d3f0c52-0000-4000-8000-000000000000"
NOT_FOUND = [
    ("comment-unknown-site", "POST", "/v1/sites/nowhere/posts/{post}/comments", None),
    ("comment-unknown-post", "POST", "/v1/sites/{site}/posts/nothing/comments", None),
    ("get-post-unknown-site", "GET", "/v1/sites/nowhere/posts/{post}", None),
    ("get-post-unknown-post", "GET", "/v1/sites/{site}/posts/nothing", None),
    ("thread-unknown-site", "GET", "/v1/sites/nowhere/posts/{post}/comments", None),
    ("thread-unknown-post", "GET", "/v1/sites/{site}/posts/nothing/comments", None),
    ("delete-unknown-post", "DELETE", "/v1/sites/{site}/posts/nothing", "moderator"),
    (
        "delete-unknown-comment",
        "DELETE",
        f"/v1/sites/{{site}}/comments/{UNKNOWN_COMMENT}",
        "moderator",
    ),
    ("delete-malformed-comment-id", "DELETE", "/v1/sites/{site}/comments/no_such!", "moderator"),
    ("delete-comment-unknown-site", "DELETE", "/v1/sites/nowhere/comments/{comment}", "token"),
    ("labels-unknown-site", "GET", "/v1/sites/nowhere/labels", None),
    ("counts-unknown-site", "GET", "/v1/sites/nowhere/counts?post=a", None),
    ("unknown-route", "GET", "/v1/nothing", None),
]


@pytest.mark.parametrize(
    ("method", "path", "credential"),
    [pytest.param(*case, id=name) for name, *case in NOT_FOUND],
)
async def test_an_unknown_resource_is_404(
    client: Client, unchanged: World, method: str, path: str, credential: str | None
) -> None:
    site = unchanged.site
    headers: dict[str, str] = {}
    if credential == "token":
        headers = {"X-Delete-Token": unchanged.comment["delete_token"]}
    elif credential is not None:
        headers = site.auth(credential)
    url = path.format(site=site.site, post=unchanged.post_id, comment=unchanged.comment["id"])
    body = {"author": {"name": "Ann"}, "body": "hi"} if method == "POST" else None
    response = await client.request(method, url, json=body, headers=headers)
    await assert_problem(response, 404)


async def test_a_comment_of_another_site_is_404(
    client: Client, unchanged: World, other_site: SiteKeys
) -> None:
    foreign = await comment(client, other_site, await publish(client, other_site))
    path = f"/v1/sites/{unchanged.site.site}/comments/{foreign['id']}"
    response = await client.delete(path, headers=unchanged.site.auth("moderator"))
    await assert_problem(response, 404)
    by_token = await client.delete(path, headers={"X-Delete-Token": foreign["delete_token"]})
    await assert_problem(by_token, 404)


# --- parents -----------------------------------------------------------------------------------


async def reply_to(client: Client, world: World, parent_id: str) -> ClientResponse:
    path = f"/v1/sites/{world.site.site}/posts/{world.post_id}/comments"
    return await client.post(
        path, json={"author": {"name": "Bob"}, "body": "re", "parent_id": parent_id}
    )


async def test_a_parent_on_another_post_is_parent_not_found(
    client: Client, unchanged: World
) -> None:
    elsewhere = await comment(client, unchanged.site, await publish(client, unchanged.site))
    response = await reply_to(client, unchanged, elsewhere["id"])
    await assert_problem(response, 422, "parent-not-found")


async def test_a_parent_on_another_site_is_parent_not_found(
    client: Client, unchanged: World, other_site: SiteKeys
) -> None:
    foreign = await comment(
        client, other_site, await publish(client, other_site, unchanged.post_id)
    )
    response = await reply_to(client, unchanged, foreign["id"])
    await assert_problem(response, 422, "parent-not-found")


async def test_an_unknown_parent_is_parent_not_found(client: Client, unchanged: World) -> None:
    response = await reply_to(client, unchanged, UNKNOWN_COMMENT)
    await assert_problem(response, 422, "parent-not-found")


async def test_a_deleted_parent_is_parent_not_found(
    client: Client, pool: Pool, world: World
) -> None:
    deleted = await comment(client, world.site, world.post_id, "soon gone")
    path = f"/v1/sites/{world.site.site}/comments/{deleted['id']}"
    removed = await client.delete(path, headers={"X-Delete-Token": deleted["delete_token"]})
    assert removed.status == 204, await removed.text()
    before = await snapshot(client, pool, world)
    response = await reply_to(client, world, deleted["id"])
    await assert_problem(response, 422, "parent-not-found")
    assert await snapshot(client, pool, world) == before


async def test_replies_nest_32_levels_and_no_deeper(
    client: Client, pool: Pool, site: SiteKeys
) -> None:
    post_id = await publish(client, site)
    parent = await comment(client, site, post_id, "level 1")
    for level in range(2, 33):
        parent = await comment(client, site, post_id, f"level {level}", parent_id=parent["id"])
    world = World(site, post_id, parent)
    before = await snapshot(client, pool, world)
    assert before["thread"]["total"] == 32
    response = await reply_to(client, world, parent["id"])
    await assert_problem(response, 422, "reply-too-deep")
    assert await snapshot(client, pool, world) == before


# --- query strings -----------------------------------------------------------------------------


THREAD = "/v1/sites/{site}/posts/{post}/comments"
LABEL_POSTS = "/v1/sites/{site}/labels/kept/posts"
EVENTS = "/v1/events"
HUGE = "9" * 30


def b64(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


BAD_LIMITS = {
    "0": "0",
    "negative": "-1",
    "abc": "abc",
    "huge": HUGE,
    "float": "1.5",
    "exponent": "1e2",
    "plus-sign": "+5",
    "space": " 5",
    "empty": "",
    "arabic-digit": "\u0663",
}
BAD_THREAD_CURSORS = {
    "abc": "abc",
    "negative": "-1",
    # `<root>.<reply>` is a cursor (inside a root's replies); these are not.
    "three-parts": "1.5.5",
    "trailing-dot": "1.",
    "exponent": "1e5",
    "huge": HUGE,
    "huge-reply": f"1.{HUGE}",
    "empty": "",
    "nul": "1\x00",
}
BAD_LABEL_CURSORS = {
    "not-base64": "!!!",
    "not-json": b64("hello"),
    "json-number": b64(1),
    "naive-time": b64(["2024-01-01T00:00:00", "a"]),
    "post-id-number": b64(["2024-01-01T00:00:00+00:00", 1]),
    "empty": "",
}
BAD_EVENT_CURSORS = {
    "abc": "abc",
    "no-position": "1-",
    "no-transaction": "-1",
    "three-parts": "1-2-3",
    "transaction-too-big": f"{2**63}-0",
    "position-too-big": f"0-{2**63}",
    "huge": f"{HUGE}-1",
    "negative": "-1-1",
    "empty": "",
}


def query_cases() -> list[Any]:
    cases: list[tuple[str, str, list[tuple[str, str]]]] = []
    for path, name, high in ((THREAD, "thread", 200), (LABEL_POSTS, "label-posts", 100)):
        cases.append((f"{name}-limit-{high + 1}", path, [("limit", str(high + 1))]))
    cases.append(("events-limit-1001", EVENTS, [("limit", "1001")]))
    for path, name in ((THREAD, "thread"), (LABEL_POSTS, "label-posts"), (EVENTS, "events")):
        cases += [
            (f"{name}-limit-{label}", path, [("limit", v)]) for label, v in BAD_LIMITS.items()
        ]
        cases.append((f"{name}-limit-twice", path, [("limit", "5"), ("limit", "6")]))
    for label, value in BAD_THREAD_CURSORS.items():
        cases.append((f"thread-cursor-{label}", THREAD, [("cursor", value)]))
    cases.append(("thread-cursor-twice", THREAD, [("cursor", "1"), ("cursor", "2")]))
    for label, value in [("bogus", "random"), ("empty", ""), ("upper-case", "NEWEST")]:
        cases.append((f"thread-sort-{label}", THREAD, [("sort", value)]))
    cases.append(("thread-sort-twice", THREAD, [("sort", "oldest"), ("sort", "newest")]))
    for label, value in BAD_LABEL_CURSORS.items():
        cases.append((f"label-posts-cursor-{label}", LABEL_POSTS, [("cursor", value)]))
    cases.append(("labels-sort-bogus", "/v1/sites/{site}/labels", [("sort", "popular")]))
    for label, value in BAD_EVENT_CURSORS.items():
        cases.append((f"events-after-{label}", EVENTS, [("after", value)]))
    cases.append(("events-after-twice", EVENTS, [("after", "0-0"), ("after", "0-1")]))
    counts = "/v1/sites/{site}/counts"
    cases.append(("counts-no-post", counts, []))
    cases.append(("counts-101-posts", counts, [("post", f"p{n}") for n in range(101)]))
    cases.append(("counts-empty-post", counts, [("post", "")]))
    cases.append(("counts-129-char-post", counts, [("post", "p" * 129)]))
    return [pytest.param(path, query, id=name) for name, path, query in cases]


@pytest.mark.parametrize(("path", "query"), query_cases())
async def test_a_malformed_query_is_400(
    client: Client, world: World, path: str, query: list[tuple[str, str]]
) -> None:
    url = path.format(site=world.site.site, post=world.post_id)
    headers = world.site.auth("subscriber") if path == EVENTS else {}
    response = await client.get(url, params=MultiDict(query), headers=headers)
    await assert_problem(response, 400)


# --- headers -----------------------------------------------------------------------------------


def authorization_cases() -> list[Any]:
    key = "tl_" + "0" * 12 + "_" + "A" * 43
    values = [
        ("over-200-chars", "Bearer " + "tl_" + "a" * 200),
        ("basic-scheme", "Basic dXNlcjpwYXNz"),
        ("scheme-only", "Bearer"),
        ("scheme-and-spaces", "Bearer    "),
        ("no-scheme", key),
        ("short-key", "Bearer tl_abc"),
        ("key-and-more", f"Bearer {key} extra"),
        ("non-ascii", "Bearer tl_ünïcödé"),
        ("empty", ""),
    ]
    return [
        pytest.param(endpoint, value, id=f"{endpoint}-{name}")
        for endpoint in (Endpoint.PUT_POST, Endpoint.DELETE_COMMENT)
        for name, value in values
    ]


@pytest.mark.parametrize(("endpoint", "authorization"), authorization_cases())
async def test_a_malformed_authorization_header_is_401(
    client: Client, unchanged: World, endpoint: Endpoint, authorization: str
) -> None:
    body = with_text(endpoint, b"new title")
    response = await send(
        client, unchanged, endpoint, body, headers={"Authorization": authorization}
    )
    await assert_problem(response, 401)


async def test_a_valid_key_padded_past_200_chars_is_401(client: Client, unchanged: World) -> None:
    # Inner spaces: aiohttp's client strips a header value's trailing ones.
    padded = "Bearer" + " " * 160 + unchanged.site.publisher
    body = with_text(Endpoint.PUT_POST, b"new title")
    response = await send(
        client, unchanged, Endpoint.PUT_POST, body, headers={"Authorization": padded}
    )
    await assert_problem(response, 401)


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("A" * 201, id="over-200-chars"),
        pytest.param("A" * 300, id="300-chars"),
        pytest.param("abc", id="short"),
        pytest.param("A" * 42, id="42-chars"),
        pytest.param("A" * 44, id="44-chars"),
        pytest.param("A" * 42 + "=", id="padded"),
        pytest.param("A" * 20 + " " + "A" * 22, id="space"),
        pytest.param("A" * 42 + "/", id="standard-base64"),
        pytest.param("", id="empty"),
    ],
)
async def test_a_malformed_delete_token_is_401(
    client: Client, unchanged: World, token: str
) -> None:
    path = f"/v1/sites/{unchanged.site.site}/comments/{unchanged.comment['id']}"
    response = await client.delete(path, headers={"X-Delete-Token": token})
    await assert_problem(response, 401)


async def test_the_real_delete_token_with_junk_appended_is_401(
    client: Client, unchanged: World
) -> None:
    path = f"/v1/sites/{unchanged.site.site}/comments/{unchanged.comment['id']}"
    token = unchanged.comment["delete_token"] + "x" * 200
    response = await client.delete(path, headers={"X-Delete-Token": token})
    await assert_problem(response, 401)


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("k" * 256, id="256-chars"),
        pytest.param("two words", id="space"),
        pytest.param("tab\tinside", id="tab"),
        pytest.param("", id="empty"),
    ],
)
async def test_a_malformed_idempotency_key_is_400(
    client: Client, unchanged: World, key: str
) -> None:
    body = with_text(Endpoint.POST_COMMENT, b"hello")
    response = await send(
        client, unchanged, Endpoint.POST_COMMENT, body, headers={"Idempotency-Key": key}
    )
    await assert_problem(response, 400)


# --- idempotency -------------------------------------------------------------------------------


async def post_with_key(client: Client, world: World, key: str, text: str) -> ClientResponse:
    path = f"/v1/sites/{world.site.site}/posts/{world.post_id}/comments"
    body = {"author": {"name": "Ann"}, "body": text}
    return await client.post(path, json=body, headers={"Idempotency-Key": key})


def ids_in(view: JsonObject) -> list[str]:
    found: list[str] = []
    for item in view["comments"]:
        found += [item["id"], *ids_in({"comments": item["replies"]})]
    return found


async def test_a_reused_idempotency_key_with_another_body_is_422(
    client: Client, pool: Pool, world: World
) -> None:
    key = "~" + "k" * 254  # the longest key: 255 printable characters
    first = await post_with_key(client, world, key, "first")
    assert first.status == 201, await first.text()
    created = await first.json()
    before = await snapshot(client, pool, world)
    response = await post_with_key(client, world, key, "second")
    await assert_problem(response, 422, "idempotency-key-reused")
    after = await snapshot(client, pool, world)
    assert after == before
    assert ids_in(after["thread"]).count(created["id"]) == 1
    assert after["thread"]["total"] == 3


async def test_a_retry_with_the_same_idempotency_key_replays_the_first_response(
    client: Client, pool: Pool, world: World
) -> None:
    first = await post_with_key(client, world, "retry-1", "only once")
    assert first.status == 201, await first.text()
    assert "Idempotent-Replayed" not in first.headers
    before = await snapshot(client, pool, world)
    retry = await post_with_key(client, world, "retry-1", "only once")
    assert retry.status == 201, await retry.text()
    assert retry.headers.get("Idempotent-Replayed") == "true"
    assert retry.headers["Location"] == first.headers["Location"]
    assert await retry.json() == await first.json()
    after = await snapshot(client, pool, world)
    assert after == before
    assert ids_in(after["thread"]).count((await first.json())["id"]) == 1
    assert after["thread"]["total"] == 3


# --- hostile markup ----------------------------------------------------------------------------


class Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def assert_harmless(html: str) -> None:
    """No script, frame or image; no event handler; no link outside http(s) and mailto.

    User text may mention `onerror=` or `javascript:`; it is harmless as escaped text, so those
    words are checked inside the markup (tags and attributes) only.
    """
    lowered = html.lower()
    assert "<script" not in lowered and "<iframe" not in lowered, html
    for tag in re.findall(r"<[^>]*>", lowered):
        assert "onerror" not in tag and "javascript:" not in tag, html
    markup = Markup()
    markup.feed(html)
    for tag, attributes in markup.tags:
        assert tag not in {"script", "iframe", "img", "object", "embed", "svg", "style"}, html
        for name, value in attributes:
            assert not name.startswith("on"), html
            if name in {"href", "src"}:
                # Browsers drop tabs and newlines from a URL before they read its scheme.
                url = re.sub(r"[\s\x00-\x1f]", "", value or "").lower()
                scheme = re.match(r"([a-z][a-z0-9+.-]*):", url)
                assert scheme is None or scheme[1] in {"http", "https", "mailto"}, html
        if tag == "a":
            assert ("rel", "nofollow ugc noopener") in attributes, html


HOSTILE = [
    pytest.param("<script>alert(1)</script>", id="script"),
    pytest.param("<SCRIPT SRC=//evil.example/x.js></SCRIPT>", id="script-upper-case"),
    pytest.param("<img src=x onerror=alert(1)>", id="img-onerror"),
    pytest.param("[x](javascript:alert(1))", id="markdown-javascript-link"),
    pytest.param("[x](JaVaScRiPt:alert(1))", id="markdown-mixed-case-javascript-link"),
    pytest.param("[x](java&#x09;script:alert(1))", id="markdown-entity-javascript-link"),
    pytest.param("<javascript:alert(1)>", id="autolink-javascript"),
    pytest.param("[x](data:text/html;base64,PHNjcmlwdD4=)", id="markdown-data-link"),
    pytest.param('<iframe src="https://evil.example"></iframe>', id="iframe"),
    pytest.param('<a href="javascript:alert(1)">x</a>', id="raw-anchor"),
    pytest.param("![x](https://evil.example/x.png)", id="markdown-image"),
    pytest.param('<div onmouseover="alert(1)">x</div>', id="event-handler"),
    pytest.param("[safe](https://example.com)", id="plain-link"),
]


@pytest.mark.parametrize("markdown", HOSTILE)
async def test_hostile_markup_is_stored_harmless(
    client: Client, world: World, markdown: str
) -> None:
    created = await comment(client, world.site, world.post_id, markdown)
    assert_harmless(created["body_html"])
    stored = await thread(client, world.site, world.post_id)
    [view] = [item for item in stored["comments"] if item["id"] == created["id"]]
    assert view["body_html"] == created["body_html"]


async def test_links_are_nofollow_ugc_noopener(client: Client, world: World) -> None:
    created = await comment(client, world.site, world.post_id, "[site](https://example.com/a)")
    assert (
        '<a href="https://example.com/a" rel="nofollow ugc noopener">site</a>'
        in (created["body_html"])
    )


async def test_a_new_post_id_is_not_created_by_a_bad_put(client: Client, site: SiteKeys) -> None:
    post_id = new_id()
    path = f"/v1/sites/{site.site}/posts/{post_id}"
    response = await client.put(
        path, json={"title": "", "url": "x"}, headers=site.auth("publisher")
    )
    await assert_problem(response, 422, loc=("title",))
    await assert_problem(await client.get(path), 404)
