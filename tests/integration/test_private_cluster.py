"""The private clusters that failure tests use: their own server, restarted at will."""

import asyncpg

from tests.clusters import Cluster


async def test_a_private_cluster_survives_a_crash_and_keeps_committed_rows(
    private_cluster: Cluster,
) -> None:
    connection = await asyncpg.connect(private_cluster.url())
    await connection.execute("CREATE TABLE kept (n int); INSERT INTO kept VALUES (1)")
    await connection.close()
    private_cluster.restart("immediate")
    connection = await asyncpg.connect(private_cluster.url())
    try:
        assert await connection.fetchval("SELECT n FROM kept") == 1
        assert private_cluster.port != 5432
    finally:
        await connection.close()
