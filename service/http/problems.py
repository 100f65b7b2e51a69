"""Every failure as RFC 9457 application/problem+json; never a stack trace to the client."""

import json
import logging
import random
import re
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from aiohttp import web

from service.db import DatabaseUnavailable, unavailable
from service.domain.errors import DomainError
from service.http.keys import REQUEST_ID
from service.keys import SETTINGS
from service.settings import Settings

log = logging.getLogger("threadlog.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")
# A database that went away usually answers again within seconds (a restart, a failover).
RETRY_AFTER_SECONDS = 1
# Adopting a moved database takes an operator: clients need not come back every second.
NOT_ADOPTED_RETRY_SECONDS = 30
MAX_ERRORS: int = Settings.model_fields["problem_max_errors"].default

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    410: "Gone",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Validation failed",
    500: "Internal server error",
    503: "Not ready",
}
SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-failed",
    500: "internal-error",
    503: "not-ready",
}


class Problem(Exception):
    def __init__(
        self,
        status: int,
        detail: str,
        *,
        slug: str | None = None,
        title: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.slug = slug or SLUGS.get(status, "error")
        self.title = title or TITLES.get(status, "Error")
        self.errors = errors
        self.headers = headers or {}


def unauthorized(detail: str) -> Problem:
    return Problem(401, detail, headers={"WWW-Authenticate": 'Bearer realm="threadlog"'})


def render(request: web.Request, problem: Problem) -> web.Response:
    body: dict[str, Any] = {
        "type": problem_type_uri(request, problem.slug),
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "instance": request.path,
    }
    if problem.errors is not None:
        # Thousands of unknown fields must not make a response thousands of times larger.
        settings = request.app.get(SETTINGS)
        most = settings.problem_max_errors if settings else MAX_ERRORS
        body["errors"] = problem.errors[:most]
        if len(problem.errors) > most:
            body["omitted_errors"] = len(problem.errors) - most
    return web.Response(
        status=problem.status,
        body=json.dumps(body, ensure_ascii=False).encode(),
        content_type="application/problem+json",
        headers=problem.headers,
    )


def problem_type_uri(request: web.Request, slug: str) -> str:
    """Absolute, as RFC 9457 asks, on THREADLOG_PUBLIC_URL when set (behind a proxy), else on
    the origin the request came to; the page it names is served at /problems/{slug}."""
    public_url = request.app[SETTINGS].public_url if SETTINGS in request.app else None
    base = public_url.rstrip("/") if public_url else str(request.url.origin())
    return f"{base}/problems/{slug}"


# A version 4 UUID's fixed bits: the version nibble (4) and the variant's two (10).
UUID4_KEEP = ~((0xF << 76) | (0x3 << 62)) & (2**128 - 1)
UUID4_SET = (0x4 << 76) | (0x2 << 62)


def new_id() -> str:
    """What str(uuid.uuid4()) gives, for less: a request id is no secret (clients may choose
    their own), so no os.urandom (a system call) and no UUID object per request."""
    digits = "%032x" % (random.getrandbits(128) & UUID4_KEEP | UUID4_SET)
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def request_id(request: web.Request) -> str:
    """The client's X-Request-Id when it is a sensible one, else a new id."""
    incoming = request.headers.get("X-Request-Id", "")
    return incoming if incoming and REQUEST_ID_PATTERN.fullmatch(incoming) else new_id()


def problem_response(request: web.Request, error: Exception) -> web.Response:
    """What a failure a handler raised answers: always a problem, never a stack trace. (An
    HTTPException below 400, a redirect, is no failure: the caller lets it through.)"""
    if isinstance(error, Problem):
        return render(request, error)
    if isinstance(error, DomainError):
        return render(
            request,
            Problem(
                error.status,
                error.detail,
                slug=error.slug,
                title=error.title,
                headers=error.headers,
            ),
        )
    if isinstance(error, web.HTTPException):
        detail = error.text if error.status != 404 else "no such resource"
        if error.status == 413:
            detail = "the request body is larger than the limit"
        headers = {"Allow": error.headers["Allow"]} if "Allow" in error.headers else {}
        return render(request, Problem(error.status, detail or error.reason, headers=headers))
    # Every query through the pool says DatabaseUnavailable (see db.py); an OSError here is
    # the client's (a body cut short), not the database's.
    if isinstance(error, DatabaseUnavailable) or (
        isinstance(error, asyncpg.PostgresError) and unavailable(error)
    ):
        return database_unavailable(request, error)
    if cluster_not_adopted(error):
        return not_adopted(request)
    log.exception("unhandled error in request %s", request.get(REQUEST_ID), exc_info=error)
    return render(
        request,
        Problem(500, f"unexpected error; request id {request.get(REQUEST_ID)}"),
    )


def cluster_not_adopted(error: Exception) -> bool:
    """The log was restored, moved or upgraded under a running service (see ops/moves.py):
    appends refuse until an operator adopts the cluster, so nothing is written out of order."""
    return isinstance(error, asyncpg.ObjectNotInPrerequisiteStateError) and (
        "another PostgreSQL cluster" in str(error)
    )


def not_adopted(request: web.Request) -> web.Response:
    log.warning(
        "%s %s refused: the event log was written on another PostgreSQL cluster; "
        "run `threadlog adopt-cluster`",
        request.method,
        request.path,
    )
    problem = Problem(
        503,
        "the database was restored, moved or upgraded; writes resume once an operator runs "
        "`threadlog adopt-cluster`",
        slug="cluster-not-adopted",
        title="Database moved",
        headers={"Retry-After": str(NOT_ADOPTED_RETRY_SECONDS)},
    )
    return render(request, problem)


def database_unavailable(request: web.Request, error: Exception) -> web.Response:
    """503 with Retry-After, for reads and writes alike, and one log line: an outage would
    otherwise write a traceback per request."""
    cause = error if isinstance(error, DatabaseUnavailable) else DatabaseUnavailable.because(error)
    log.warning(
        "database unavailable: %s %s (request id %s): %s",
        request.method,
        request.path,
        request.get(REQUEST_ID),
        cause,
    )
    detail = "the database is unavailable; try again shortly"
    if request.method not in ("GET", "HEAD"):
        detail += "; it may or may not have been stored: retry with the same Idempotency-Key"
    problem = Problem(
        503,
        detail,
        slug="database-unavailable",
        title="Database unavailable",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )
    return render(request, problem)


def invalid(field: str, message: str) -> Problem:
    """A 422 like the body's own validation errors, for rules that need more than the body."""
    errors = [{"loc": [field], "msg": message, "type": "value_error"}]
    return Problem(422, f"{field}: {message}", errors=errors)
