"""No statement of the write and rebuild paths scans a table whose size grows with the data.

Each statement is prepared on a database whose tables hold realistic row counts (analyzed),
and its plan is checked twice: the generic plan, which PostgreSQL caches for a prepared
statement after five executions (forced here: PostgreSQL 15 has no EXPLAIN (GENERIC_PLAN)),
and a custom plan for a batch-sized set of keys. Neither may hold a Seq Scan of a big table.
"""

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest

from service.eventstore import appends, store
from service.ops import migrate
from service.projections import labels, moderation, posts, stream_comments, threads, write_model
from service.write import decision_state, site_policy

ROWS = 60_000
# Tables whose size grows with the data.
BIG = {"events", "thread_comments", "stream_comments", "posts", "streams",
       "site_known_authors", "label_posts", "label_post_positions", "moderation_audit"}  # fmt: skip

FILL = f"""
INSERT INTO events (stream_id, version, event_id, site, type, schema_version, data, metadata)
SELECT 'post:big:' || (n % 5000), n / 5000 + 1, gen_random_uuid(), 'big', 'comment.posted', 1,
       '{{}}', '{{}}'
FROM generate_series(1, {ROWS}) AS n;
INSERT INTO thread_comments (site, comment_id, post_id, parent_id, root_id, ancestors, position,
                             created_at, row_position, status_at)
SELECT 'big', 'c' || n, 'p' || (n % 5000), NULL, 'c' || n, '{{}}', n, now(), n, now()
FROM generate_series(1, {ROWS}) AS n;
INSERT INTO stream_comments (site, comment_id, post_id, depth, created_at, name_ip_hash,
                             version, row_version)
SELECT 'big', 'c' || n, 'p' || (n % 5000), 0, now(), 'a' || n, 1, 1
FROM generate_series(1, {ROWS}) AS n;
INSERT INTO site_known_authors (site, author_key, comment_id)
SELECT 'big', 'a' || n, 'c' || n FROM generate_series(1, {ROWS}) AS n;
INSERT INTO posts (site, post_id, title, url, labels, published_at, position)
SELECT 'big', 'p' || n, 't', 'u', '{{x}}', now(), n FROM generate_series(1, {ROWS}) AS n;
INSERT INTO streams (stream_id, site, post_id, version, last_transaction_id, title, url, labels,
                     published_at, last_epoch)
SELECT 'post:big:p' || n, 'big', 'p' || n, 1, '1', 't', 'u', '{{x}}', now(), 1
FROM generate_series(1, {ROWS}) AS n;
INSERT INTO label_posts (site, label_key, post_id, label, published_at)
SELECT 'big', 'l' || (n % 50), 'p' || n, 'L', now() FROM generate_series(1, {ROWS}) AS n;
INSERT INTO label_post_positions (site, post_id, position)
SELECT 'big', 'p' || n, n FROM generate_series(1, {ROWS}) AS n;
INSERT INTO moderation_audit (site, position, event_id, type, actor, at, data)
SELECT 'big', n, gen_random_uuid(), 'comment.held', 'system', now(), '{{}}'
FROM generate_series(1, {ROWS}) AS n;
"""

STATEMENTS = {
    "write_model.PUBLISH": write_model.PUBLISH,
    "write_model.DELETE_POST": write_model.DELETE_POST,
    "write_model.SET_CLOSED": write_model.SET_CLOSED,
    "write_model.STREAM_VERSION": write_model.STREAM_VERSION,
    "stream_comments.NEW_COMMENTS": stream_comments.NEW_COMMENTS,
    "stream_comments.SET_STATUS": stream_comments.SET_STATUS,
    "stream_comments.REPORT": stream_comments.REPORT,
    "write_model.SET_SETTINGS": write_model.SET_SETTINGS,
    "write_model.SITE_VERSION": write_model.SITE_VERSION,
    "write_model.BAN": write_model.BAN,
    "write_model.LIFT": write_model.LIFT,
    "threads.PARENTS": threads.PARENTS,
    "threads.INSERT_COMMENTS": threads.INSERT_COMMENTS,
    "threads.COUNT_DESCENDANTS": threads.COUNT_DESCENDANTS,
    "threads.SET_STATUS": threads.SET_STATUS,
    "threads.EDIT": threads.EDIT,
    "threads.REPORT": threads.REPORT,
    "posts.UPSERT": posts.UPSERT,
    "posts.DELETE": posts.DELETE,
    "posts.ADJUST": posts.ADJUST,
    "posts.ADJUST_POST": posts.ADJUST_POST,
    "posts.POSITIONS": posts.POSITIONS,
    "posts.SET_CLOSED": posts.SET_CLOSED,
    "labels.SET_POST_LABELS": labels.SET_POST_LABELS,
    "labels.REFRESH": labels.REFRESH,
    "moderation.SET_SETTINGS": moderation.SET_SETTINGS,
    "moderation.BAN": moderation.BAN,
    "moderation.LIFT": moderation.LIFT,
    "moderation.AUDIT": moderation.AUDIT,
    "decision_state.LOAD_STREAMS": decision_state.LOAD_STREAMS,
    "decision_state.LOAD_COMMENTS": decision_state.LOAD_COMMENTS,
    "decision_state.POSTS_OF_COMMENTS": decision_state.POSTS_OF_COMMENTS,
    "decision_state.LOAD_ALL": decision_state.LOAD_ALL,
    "site_policy.SETTINGS": site_policy.SETTINGS,
    "site_policy.POLICIES": site_policy.POLICIES,
    "appends.APPEND": appends.APPEND,
    "store.READ_ALL": store.READ_ALL,
    "store.READ_ALL_LOCKED": store.READ_ALL_LOCKED,
}


@pytest.fixture
async def big(empty_database: str) -> AsyncIterator[asyncpg.Connection]:
    await asyncio.to_thread(migrate.upgrade, empty_database)
    connection = await asyncpg.connect(empty_database)
    try:
        # Autocommit statements, each short: nothing holds back the shared server's feeds.
        for statement in FILL.split(";\n"):
            if statement.strip():
                await connection.execute(statement)
        await connection.execute("ANALYZE")
        yield connection
    finally:
        await connection.close()


def scans(plan: dict[str, Any]) -> Iterator[tuple[str, str]]:
    yield plan["Node Type"], plan.get("Relation Name", "")
    for child in plan.get("Plans", []):
        yield from scans(child)


def parameter_count(sql: str) -> int:
    return max((int(n) for n in re.findall(r"\$(\d+)", sql)), default=0)


async def plan_of(connection: asyncpg.Connection, name: str, arguments: str) -> dict[str, Any]:
    found = await connection.fetchval(f"EXPLAIN (FORMAT JSON) EXECUTE {name}({arguments})")
    plan: dict[str, Any] = json.loads(found)[0]["Plan"]
    return plan


def big_scans(plan: dict[str, Any]) -> list[str]:
    return sorted({table for node, table in scans(plan) if node == "Seq Scan" and table in BIG})


async def test_generic_plans_never_scan_a_big_table(big: asyncpg.Connection) -> None:
    await big.execute("SET plan_cache_mode = force_generic_plan")
    scanned = {}
    for name, sql in STATEMENTS.items():
        prepared = name.replace(".", "_").lower()
        await big.execute(f"PREPARE {prepared} AS {sql}")
        nulls = ", ".join(["NULL"] * parameter_count(sql))
        plan = await plan_of(big, prepared, nulls)
        if big_scans(plan):
            scanned[name] = big_scans(plan)
    assert scanned == {}


def keys(prefix: str, count: int = 1000) -> str:
    return "ARRAY[" + ", ".join(f"'{prefix}{n}'" for n in range(1, count + 1)) + "]"


SITES = "ARRAY[" + ", ".join(["'big'"] * 1000) + "]"


# Custom plans, for a batch of 1,000 keys: a join the planner may cost as cheaper by scanning.
BATCHES = {
    "threads.PARENTS": f"'big', {keys('c')}",
    "posts.POSITIONS": f"{SITES}, {keys('p')}",
    "decision_state.LOAD_COMMENTS": f"{SITES}, {keys('c')}",
    "decision_state.POSTS_OF_COMMENTS": f"{SITES}, {keys('c')}",
    "decision_state.LOAD_ALL": (
        f"{keys('s')}, {SITES}, {keys('c')}, ARRAY['big'], {SITES}, {keys('a')}, NULL, 'day:x'"
    ),
    "site_policy.POLICIES": f"ARRAY['big'], {SITES}, {keys('a')}",
}


async def test_batch_plans_never_scan_a_big_table(big: asyncpg.Connection) -> None:
    await big.execute("SET plan_cache_mode = force_custom_plan")
    scanned = {}
    for name, arguments in BATCHES.items():
        prepared = name.replace(".", "_").lower()
        await big.execute(f"PREPARE {prepared} AS {STATEMENTS[name]}")
        # The arrays are constants: the planner sees their sizes.
        plan = await plan_of(big, prepared, arguments)
        if big_scans(plan):
            scanned[name] = big_scans(plan)
    assert scanned == {}
