"""What the import tests share: the write side over the run's database, and importing a
sample through it."""

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest

from service.ops.imports import blogger, core, disqus, isso, json_format, wordpress
from service.ops.imports.post_ids import PostIdFrom
from service.ops.imports.records import SourceItem, Summary
from service.write.application import Application

READERS: dict[str, Callable[[Path], Iterator[SourceItem]]] = {
    "blogger": blogger.read,
    "wordpress": wordpress.read,
    "disqus": disqus.read,
    "isso": isso.read,
    "json": json_format.read,
}


@pytest.fixture(scope="session")
async def application(pool: asyncpg.Pool) -> AsyncIterator[Application]:
    app = Application(pool)
    yield app
    await app.close()


async def run_import(
    application: Application | None,
    form: str,
    path: Path,
    site: str,
    rule: PostIdFrom = PostIdFrom.URL,
) -> Summary:
    return await core.import_items(
        application, READERS[form](path), form=form, site=site, post_id_from=rule
    )
