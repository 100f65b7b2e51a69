"""One batch of commands in one transaction: locate each command's post, lock and load the
posts' decision state, decide each command in order against the state its predecessors left,
append what they caused, save the decision state, update the read models and keep the
responses of Idempotency-Keys."""

import asyncio
import dataclasses
from dataclasses import dataclass, field
from typing import Any

from service.db import Connection
from service.domain.commands import Command, CommentCommand, DeleteComment
from service.domain.errors import CommentNotFound, DomainError
from service.domain.events import Event
from service.domain.thread import decide
from service.eventstore import store
from service.eventstore.store import NewEvent, RecordedEvent
from service.eventstore.streams import post_stream_id
from service.projections import apply_all
from service.write import decision_state
from service.write.idempotency import Idempotency, StoredResponse, find_responses, keep_responses


@dataclass(frozen=True, slots=True)
class Outcome:
    events: list[RecordedEvent]
    # Set when an Idempotency-Key was seen before: the first request's response.
    replayed: StoredResponse | None = None


@dataclass(slots=True)
class Pending:
    command: Command
    metadata: dict[str, Any]
    idempotency: Idempotency | None
    future: asyncio.Future[Outcome] = field(repr=False)


Result = Outcome | BaseException


async def write_commands(
    connection: Connection, commands: list[Command], metadata: dict[str, Any]
) -> None:
    """Commands decided and stored in the caller's transaction; each may be refused alone."""
    loop = asyncio.get_running_loop()
    batch = [Pending(command, metadata, None, loop.create_future()) for command in commands]
    await write_batch(connection, batch)


async def write_batch(connection: Connection, batch: list[Pending]) -> list[Result]:
    """Decide every command of `batch` in order and store what they cause; one transaction."""
    plan = Plan(batch)
    await plan.locate(connection)
    requests = plan.requests()
    threads = await decision_state.load_for_update(connection, requests) if requests else {}
    keys = [pending.idempotency.key_sha256 for pending in batch if pending.idempotency]
    plan.decide(threads, await find_responses(connection, keys))
    recorded = await append(connection, threads, plan.versions, plan.new_events)
    await keep_responses(connection, plan.answer(recorded))
    return plan.results()


@dataclass
class Plan:
    """What one batch does: where each command goes, what it decided, how it is answered."""

    batch: list[Pending]
    # (stream id, post id) per command; ("", "") where its comment does not exist.
    streams: list[tuple[str, str]] = field(default_factory=list)
    outcomes: dict[int, Result] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    new_events: list[NewEvent] = field(default_factory=list)
    owners: list[int] = field(default_factory=list)
    # A repeated Idempotency-Key in one batch is answered with its first command's response.
    first_with_key: dict[bytes, int] = field(default_factory=dict)
    repeats: dict[int, int] = field(default_factory=dict)
    responses: dict[bytes, StoredResponse] = field(default_factory=dict)

    async def locate(self, connection: Connection) -> None:
        commands = [pending.command for pending in self.batch]
        named = [
            (c.site, c.comment_id)
            for c in commands
            if isinstance(c, DeleteComment | CommentCommand)
        ]
        posts_of = await decision_state.posts_of_comments(connection, named)
        for index, command in enumerate(commands):
            post_id = decision_state.post_id_of(command, posts_of)
            if post_id is None:
                assert isinstance(command, DeleteComment | CommentCommand)
                self.outcomes[index] = CommentNotFound(
                    f"comment {command.comment_id!r} does not exist"
                )
                self.streams.append(("", ""))
            else:
                self.streams.append((post_stream_id(command.site, post_id), post_id))

    def requests(self) -> list[tuple[str, str, str, Command]]:
        located = zip(self.batch, self.streams, strict=True)
        return [
            (stream, p.command.site, post, p.command) for p, (stream, post) in located if stream
        ]

    def decide(
        self,
        threads: dict[str, decision_state.LoadedThread],
        kept: dict[bytes, tuple[bytes, StoredResponse]],
    ) -> None:
        self.versions = {stream_id: thread.version for stream_id, thread in threads.items()}
        for index, pending in enumerate(self.batch):
            stream_id = self.streams[index][0]
            if not stream_id:
                continue
            try:
                if self.answered_by_key(index, pending, kept):
                    continue
                thread = threads[stream_id]
                events = decide(pending.command, thread.state)
            except DomainError as error:
                self.outcomes[index] = error
                continue
            state = decision_state.evolve_with(thread.state, pending.command, events)
            threads[stream_id] = dataclasses.replace(thread, state=state)
            for event in events:
                self.versions[stream_id] += 1
                site, metadata = pending.command.site, pending.metadata
                self.new_events.append(
                    NewEvent(stream_id, self.versions[stream_id], site, event, metadata)
                )
                self.owners.append(index)

    def answered_by_key(
        self, index: int, pending: Pending, kept: dict[bytes, tuple[bytes, StoredResponse]]
    ) -> bool:
        key = pending.idempotency
        if key is None:
            return False
        if key.key_sha256 in kept:
            request_sha256, response = kept[key.key_sha256]
            key.check(request_sha256)
            self.outcomes[index] = Outcome([], response)
            return True
        if key.key_sha256 in self.first_with_key:
            first = self.first_with_key[key.key_sha256]
            key.check(self.batch[first].idempotency.request_sha256)  # type: ignore[union-attr]
            self.repeats[index] = first
            return True
        self.first_with_key[key.key_sha256] = index
        return False

    def answer(self, recorded: list[RecordedEvent]) -> list[tuple[Idempotency, StoredResponse]]:
        """Give each command its events; return the responses to keep for Idempotency-Keys."""
        mine: dict[int, list[RecordedEvent]] = {}
        for owner, event in zip(self.owners, recorded, strict=True):
            mine.setdefault(owner, []).append(event)
        kept = []
        for index, pending in enumerate(self.batch):
            if index in self.outcomes or index in self.repeats:
                continue
            self.outcomes[index] = Outcome(mine.get(index, []))
            if pending.idempotency is not None and index in mine:
                response = pending.idempotency.respond(mine[index])
                self.responses[pending.idempotency.key_sha256] = response
                kept.append((pending.idempotency, response))
        return kept

    def results(self) -> list[Result]:
        for index, first in self.repeats.items():
            response = self.responses.get(self.batch[first].idempotency.key_sha256)  # type: ignore[union-attr]
            self.outcomes[index] = Outcome([], response) if response else self.outcomes[first]
        return [self.outcomes[index] for index in range(len(self.batch))]


async def append(
    connection: Connection,
    threads: dict[str, decision_state.LoadedThread],
    versions: dict[str, int],
    new_events: list[NewEvent],
) -> list[RecordedEvent]:
    if not new_events:
        return []
    last = {stream_id: thread.last_transaction_id for stream_id, thread in threads.items()}
    recorded = await store.append(connection, new_events, last)
    changed: list[tuple[str, Event]] = [(new.stream_id, new.event) for new in new_events]
    await decision_state.save(connection, threads, versions, changed)
    await apply_all(connection, recorded)
    return recorded
