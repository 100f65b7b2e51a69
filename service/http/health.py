"""Liveness and readiness."""

from aiohttp import web

from service import migrate
from service.http.problems import Problem
from service.http.views import json_response
from service.keys import POOL


async def get_health(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def get_ready(request: web.Request) -> web.Response:
    try:
        async with request.app[POOL].acquire(timeout=2) as connection:
            revision = await connection.fetchval(
                "SELECT version_num FROM alembic_version", timeout=2
            )
    except Exception as error:
        raise Problem(503, f"the database is not reachable: {type(error).__name__}") from None
    head = migrate.head_revision()
    if revision != head:
        raise Problem(503, f"the schema is at {revision}, not at {head}; run `threadlog migrate`")
    return json_response({"status": "ready", "schema": revision})
