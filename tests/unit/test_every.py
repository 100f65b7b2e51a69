"""A periodic background worker: a lost database said once and retried soon, any other
failure logged and tried again at the next turn, never the end of the loop."""

import asyncio
import logging

import pytest

from service import db
from service.db import DatabaseUnavailable, Outage, every


async def test_work_goes_on_through_a_lost_database_and_a_failure(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(db, "RETRY_SECONDS", 0.001)
    outcomes: list[BaseException | None] = [
        DatabaseUnavailable("gone"),
        DatabaseUnavailable("still gone"),
        ValueError("a bug"),
        None,
    ]
    turns: list[float] = []
    done = asyncio.Event()

    async def work() -> None:
        turns.append(asyncio.get_running_loop().time())
        outcome = outcomes.pop(0) if outcomes else None
        if not outcomes and outcome is None:
            done.set()
        if outcome is not None:
            raise outcome

    log = logging.getLogger("threadlog.test-every")
    with caplog.at_level(logging.INFO, logger=log.name):
        task = asyncio.create_task(every(0.01, work, Outage(log, "the test's work")))
        await asyncio.wait_for(done.wait(), 5)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    # (Other tests' services log meanwhile: only this worker's lines.)
    records = [record for record in caplog.records if record.name == log.name]
    messages = [record.getMessage() for record in records]
    assert messages[0] == (
        "the test's work lost the database (DatabaseUnavailable: gone); retrying"
    )
    # A failure of another kind: the database answered.
    assert messages[1] == "the test's work failed; trying again later"
    assert records[1].exc_info is not None
    assert messages[2].startswith("the test's work has the database again")
    assert len(messages) == 3 and len(turns) == 4
    # Retried at once after the database was lost; a turn's wait after the failure.
    assert turns[3] - turns[2] >= 0.009
