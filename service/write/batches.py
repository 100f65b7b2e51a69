"""One batch of commands in one transaction: locate each command's post, lock and load the
posts' decision state, decide each command in order against the state its predecessors left,
append what they caused, update every inline model (the decision state among them) and keep
the events of Idempotency-Keys."""

import asyncio
import dataclasses
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from service.db import Connection
from service.domain.commands import Command, NamesComment
from service.domain.errors import CommentNotFound, DomainError
from service.domain.thread import decide, evolve
from service.eventstore import appends, data_keys, store
from service.eventstore.appends import NewEvent
from service.eventstore.store import RecordedEvent
from service.eventstore.streams import post_stream_id
from service.projections import apply_all
from service.write import decision_state
from service.write.decision_state import LoadedThread
from service.write.idempotency import Idempotency, Kept, keep


@dataclass(frozen=True, slots=True)
class Outcome:
    events: list[RecordedEvent]
    # True when an Idempotency-Key was seen before: `events` are the first request's.
    replayed: bool = False


@dataclass(slots=True)
class Pending:
    command: Command
    metadata: dict[str, Any]
    idempotency: Idempotency | None
    future: asyncio.Future[Outcome] = field(repr=False)
    # An import's: its events' ids derive from it and their place, so a rerun finds them.
    event_id_seed: uuid.UUID | None = None


Result = Outcome | BaseException


@dataclass(eq=False, slots=True)
class Step:
    """One command on its way through a batch."""

    pending: Pending
    # None when the comment it names does not exist (then `result` says so).
    stream_id: str | None = None
    # Set once the command is answered without appending (refused, or replayed).
    result: Result | None = None
    # An earlier command of this batch with the same Idempotency-Key: this one shares its answer.
    same_as: "Step | None" = None
    new_events: list[NewEvent] = field(default_factory=list)
    recorded: list[RecordedEvent] = field(default_factory=list)

    @property
    def command(self) -> Command:
        return self.pending.command

    def outcome(self) -> Result:
        if self.same_as is not None:
            first = self.same_as.outcome()
            return first if isinstance(first, BaseException) else Outcome(first.events, True)
        return self.result if self.result is not None else Outcome(self.recorded)


async def write_commands(
    connection: Connection, commands: list[Command], metadata: dict[str, Any]
) -> None:
    """Commands decided and stored in the caller's transaction; each may be refused alone."""
    loop = asyncio.get_running_loop()
    batch = [Pending(command, metadata, None, loop.create_future()) for command in commands]
    await write_batch(connection, batch)


async def write_batch(
    connection: Connection, batch: list[Pending], begin: bool = False
) -> list[Result]:
    """Decide every command of `batch` in order and store what they cause; one transaction,
    begun here when `begin` (else the caller's)."""
    steps = [Step(pending) for pending in batch]
    # Before the transaction: a comment never moves, so where it is needs no lock.
    await locate(connection, steps)
    located = [(step, step.stream_id) for step in steps if step.stream_id is not None]
    requests = [(stream_id, step.command) for step, stream_id in located]
    keyed = [step.pending.idempotency.key_sha256 for step, _ in located if step.pending.idempotency]
    day = data_keys.day_key_id(datetime.now(UTC).date())
    loaded = decision_state.Loaded({})
    if requests or begin:
        loaded = await decision_state.load_for_update(connection, requests, begin, keyed, day)
    threads = loaded.threads
    await answer_repeated_keys(connection, [step for step, _ in located], loaded.kept)
    for step, stream_id in located:
        if step.result is None and step.same_as is None:
            decide_step(step, stream_id, threads)
    new_events = [event for step in steps for event in step.new_events]
    if new_events:
        last = {stream_id: thread.last_writer for stream_id, thread in threads.items()}
        appended = await appends.append(connection, new_events, last, loaded.day_key)
        recorded = iter(appended)
        for step in steps:
            step.recorded = [next(recorded) for _ in step.new_events]
        await apply_all(connection, [event for step in steps for event in step.recorded])
    await keep(
        connection,
        [
            (step.pending.idempotency, [event.event_id for event in step.recorded])
            for step in steps
            if step.pending.idempotency is not None and step.recorded
        ],
    )
    return [step.outcome() for step in steps]


async def locate(connection: Connection, steps: list[Step]) -> None:
    """Each command's stream; a command about a comment that does not exist is answered."""
    named = [
        (c.site, c.comment_id) for c in (s.command for s in steps) if isinstance(c, NamesComment)
    ]
    posts_of = await decision_state.posts_of_comments(connection, named)
    for step in steps:
        post_id = decision_state.post_id_of(step.command, posts_of)
        if post_id is not None:
            step.stream_id = post_stream_id(step.command.site, post_id)
        elif isinstance(step.command, NamesComment):
            step.result = CommentNotFound(f"comment {step.command.comment_id!r} does not exist")


async def answer_repeated_keys(
    connection: Connection, steps: list[Step], kept: dict[bytes, Kept]
) -> None:
    """A key seen in an earlier request (`kept`) is answered with that request's events; a key
    seen earlier in this batch shares that command's answer. Either way, only for the same
    request."""
    keyed = [(step, step.pending.idempotency) for step in steps if step.pending.idempotency]
    seen = [event_id for found in kept.values() for event_id in found.event_ids]
    replayed = await store.read_events(connection, seen) if seen else []
    by_id = {event.event_id: event for event in replayed}
    first_with_key: dict[bytes, tuple[Step, Idempotency]] = {}
    for step, key in keyed:
        try:
            if key.key_sha256 in kept:
                found: Kept = kept[key.key_sha256]
                key.check(found.request_sha256)
                step.result = Outcome([by_id[i] for i in found.event_ids if i in by_id], True)
            elif key.key_sha256 in first_with_key:
                first, first_key = first_with_key[key.key_sha256]
                key.check(first_key.request_sha256)
                step.same_as = first
            else:
                first_with_key[key.key_sha256] = (step, key)
        except DomainError as error:
            step.result = error


def decide_step(step: Step, stream_id: str, threads: dict[str, LoadedThread]) -> None:
    """Decide against the state the batch's earlier commands left, and leave the new state."""
    thread = threads[stream_id]
    try:
        events = decide(step.command, thread.state)
    except DomainError as error:
        step.result = error
        return
    state = thread.state
    for number, event in enumerate(events, start=thread.version + 1):
        state = evolve(state, event)
        seed = step.pending.event_id_seed
        event_id = None if seed is None else uuid.uuid5(seed, f"{stream_id}\x00{number}")
        new = NewEvent(stream_id, number, step.command.site, event, step.pending.metadata, event_id)
        step.new_events.append(new)
    threads[stream_id] = dataclasses.replace(
        thread, version=thread.version + len(events), state=state
    )
