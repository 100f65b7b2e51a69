"""Looking for planted personal data everywhere in the database: every row of every table,
cast to text (the events' JSON, the keys, the read models and their caches included)."""

import asyncpg

TABLES = """
SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) AS name
FROM information_schema.tables
WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE'
"""


async def tables_holding(pool: asyncpg.Pool, *planted: str) -> dict[str, list[str]]:
    """table -> the planted strings found in it."""
    found: dict[str, list[str]] = {}
    for row in await pool.fetch(TABLES):
        for value in planted:
            hit = await pool.fetchval(
                f"SELECT EXISTS (SELECT 1 FROM {row['name']} t WHERE t::text LIKE $1)",
                f"%{value}%",
            )
            if hit:
                found.setdefault(row["name"], []).append(value)
    return found
