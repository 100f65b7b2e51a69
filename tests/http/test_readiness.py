"""A service started before `threadlog migrate` is alive but not ready, and says why."""

from aiohttp.test_utils import TestClient, TestServer

from service.app import create_app
from service.ops.migrate import head_revision
from service.settings import Settings


async def test_an_unmigrated_database_is_not_ready(empty_database: str) -> None:
    app = create_app(Settings(database_url=empty_database, pool_min_size=1, pool_max_size=2))
    async with TestClient(TestServer(app)) as client:
        assert (await client.get("/healthz")).status == 200
        ready = await client.get("/readyz")
        assert ready.status == 503
        assert ready.headers["Content-Type"] == "application/problem+json"
        problem = await ready.json()
        assert f"the schema is at None, not at {head_revision()}" in problem["detail"]
