"""`serve`'s demo: the site allows the service's own origins, seeding is idempotent, and its
moderator key is kept from one start to the next."""

import asyncpg

from service.access import credentials
from service.cli.serving import own_origins, prepare_demo
from service.ops.demo import DEMO_POSTS, DEMO_SETTINGS, DEMO_SITE
from service.read import moderation as moderation_reads


def test_the_service_knows_its_own_origins() -> None:
    assert own_origins("127.0.0.1", 8080, None) == [
        "http://127.0.0.1:8080",
        "http://localhost:8080",
    ]
    assert own_origins("::", 8080, None)[0] == "http://[::]:8080"
    assert own_origins("0.0.0.0", 9000, "https://comments.example/base") == [
        "http://0.0.0.0:9000",
        "http://127.0.0.1:9000",
        "http://localhost:9000",
        "https://comments.example",
    ]


async def test_preparing_the_demo_twice_allows_origins_and_appends_nothing_new(
    database_url: str, pool: asyncpg.Pool
) -> None:
    await prepare_demo(database_url, ["http://127.0.0.1:1"], None)
    before = await pool.fetchval("SELECT count(*) FROM events WHERE site = $1", DEMO_SITE)
    await prepare_demo(database_url, ["http://127.0.0.1:1", "http://localhost:1"], None)
    after = await pool.fetchval("SELECT count(*) FROM events WHERE site = $1", DEMO_SITE)
    assert before == after
    origins = await pool.fetchval("SELECT origins FROM sites WHERE site = $1", DEMO_SITE)
    assert origins.count("http://127.0.0.1:1") == 1 and "http://localhost:1" in origins
    posts = await pool.fetch("SELECT post_id FROM posts WHERE site = $1", DEMO_SITE)
    assert {row["post_id"] for row in posts} >= {post.post_id for post in DEMO_POSTS}
    # Trying the page and then the README's curl lines from one address is not rate-limited.
    settings = await moderation_reads.settings(pool, DEMO_SITE)
    assert settings.rate_limit_per_minute == DEMO_SETTINGS["rate_limit_per_minute"]


async def test_the_demo_keeps_its_moderator_key_until_it_is_revoked(
    database_url: str, pool: asyncpg.Pool
) -> None:
    first = await prepare_demo(database_url, [], None)
    assert await prepare_demo(database_url, [], first) == first
    keys = await pool.fetchval("SELECT count(*) FROM api_keys WHERE site = $1", DEMO_SITE)
    await credentials.revoke_key(pool, first.split("_")[1])
    replaced = await prepare_demo(database_url, [], first)
    assert replaced != first
    assert await pool.fetchval("SELECT count(*) FROM api_keys WHERE site = $1", DEMO_SITE) == (
        keys + 1
    )
    # Not the demo's moderator key (another site's, or malformed): a new one.
    other = await credentials.create_key(pool, DEMO_SITE, credentials.Role.PUBLISHER)
    assert await prepare_demo(database_url, [], other) not in (other, replaced)
    assert await prepare_demo(database_url, [], "garbage") != "garbage"
