"""The log's lines as written: the same bytes as the plain standard-library way of making
them, and the lines of one turn of the event loop written together."""

import asyncio
import io
import json
import logging
import random
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from service import logs as logs_module
from service.http import access_log
from service.http.access_log import MESSAGE, AccessLines
from service.http.keys import REQUEST_ID, ROUTE, STARTED
from service.http.problems import new_id
from service.logs import (
    JsonLines,
    LinesPerTurn,
    RequestContext,
    TextLines,
    WithRequestId,
    direct_handler,
    timestamp,
)


def record(created: float, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord(
        "threadlog.access", logging.INFO, __file__, 1, "%s %d", ("GET", 200), None
    )
    made.created = created
    made.__dict__.update(extra)
    return made


def test_timestamps_are_what_isoformat_gives() -> None:
    chooser = random.Random(7)
    edges = [0.0, 0.0004999, 0.0005, 0.9994999, 0.9995, 0.9999994999, 0.9999995, 0.1234565]
    for n in range(20_000):
        second = chooser.randrange(1_700_000_000, 1_800_000_000)
        created = second + (edges[n % len(edges)] if n % 2 else chooser.random())
        expected = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
        assert timestamp(record(created)) == expected.replace("+00:00", "Z")


def test_json_lines_are_json_dumps_of_the_fields() -> None:
    extra = {"route": "/v1/x", "status": 200, "duration_ms": 1.5, "thing": object(), "é": '\n"'}
    line = JsonLines().format(record(1_790_000_000.25, request_id="r1", **extra))
    expected = {
        "timestamp": "2026-09-21T14:13:20.250Z",
        "level": "INFO",
        "logger": "threadlog.access",
        "message": "GET 200",
        "request_id": "r1",
    } | extra
    assert line == json.dumps(expected, default=str, ensure_ascii=False)


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"method": "GET", "route": "/v1/x", "status": 200, "duration_ms": 0.125, "bytes": 77},
        {"thing": object(), "é": '\n"', "none": None, "list": [1, "a"], "big": 1e300},
        {"yes": True, "huge": 10**30, "nan": float("nan"), "inf": -float("inf")},
        {"small": 1e-7, "negative": -3, "zero": 0.0, "text": "\u2028\x00\t"},
        {"status": 404, "message": "replaced where it stands", "level": "x"},
    ],
)
@pytest.mark.parametrize("request_id", [None, "r-1", 'odd "id" é'])
def test_an_info_line_written_directly_is_what_format_writes(
    extra: dict[str, object], request_id: str | None
) -> None:
    made = record(1_790_000_000.2505, request_id=request_id, **extra)
    direct = JsonLines().info_line(made.created, made.name, made.getMessage(), request_id, extra)
    own = {
        "timestamp": timestamp(made),
        "level": "INFO",
        "logger": made.name,
        "message": made.getMessage(),
        "request_id": request_id,
    }
    # An extra field named as one of the line's own replaces it where it stands (format()
    # would keep the record's own: no caller passes such a field).
    assert direct == json.dumps(own | extra, default=str, ensure_ascii=False)
    if extra.keys().isdisjoint(own):
        assert direct == JsonLines().format(made)


async def test_lines_from_another_thread_go_out_at_once_while_a_turn_waits() -> None:
    stream = io.StringIO()
    handler = LinesPerTurn(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.emit(record(0.0))
    handler.emit(record(0.0))
    assert stream.getvalue() == ""
    await asyncio.to_thread(handler.emit, record(0.0))
    assert stream.getvalue() == "GET 200\n" * 3
    handler.emit(record(0.0))
    assert stream.getvalue().count("\n") == 3
    await asyncio.sleep(0)
    assert stream.getvalue().count("\n") == 4


async def test_the_lines_of_one_turn_are_written_together() -> None:
    stream = io.StringIO()
    writes: list[str] = []
    real_write = stream.write

    def write(text: str) -> int:
        writes.append(text)
        return real_write(text)

    stream.write = write  # type: ignore[method-assign]
    handler = LinesPerTurn(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    for n in range(3):
        handler.emit(record(0.0, n=n))
    assert writes == []
    await asyncio.sleep(0)
    assert writes == ["GET 200\nGET 200\nGET 200\n"]
    # Outside the loop (another thread, the CLI) a line goes out at once.
    await asyncio.to_thread(handler.emit, record(0.0))
    assert writes[-1] == "GET 200\n"
    handler.emit(record(0.0))
    handler.flush()  # as logging.shutdown does
    assert stream.getvalue().count("\n") == 5


def test_new_request_ids_are_version_4_uuids() -> None:
    ids = {new_id() for _ in range(1000)}
    assert len(ids) == 1000
    for each in ids:
        parsed = uuid.UUID(each)
        assert str(parsed) == each and parsed.version == 4 and parsed.variant == uuid.RFC_4122


class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def kept_lines() -> Iterator[tuple[logging.Logger, Kept]]:
    """A logger of its own, at INFO, whose records are kept rather than written."""
    logger = logging.getLogger(f"threadlog.access.kept-{uuid.uuid4()}")
    logger.propagate = False
    kept = Kept()
    logger.addHandler(kept)
    logger.setLevel(logging.INFO)
    yield logger, kept
    logger.removeHandler(kept)


def test_access_records_are_what_logger_info_makes(
    kept_lines: tuple[logging.Logger, Kept],
) -> None:
    logger, kept = kept_lines
    request = {ROUTE: "/v1/sites/{site}/posts/{post}/comments", REQUEST_ID: "r-1"}
    asked: Any = Asked(request)
    answered: Any = SimpleNamespace(status=200, body_length=1234)
    log = AccessLines(logger, "").log
    log(asked, answered, 0.0125)
    fields = ("GET", request[ROUTE], 200, 12.5)
    extra = {"method": "GET", "route": request[ROUTE], "status": 200, "duration_ms": 12.5}
    extra |= {"bytes": 1234, "request_id": "r-1"}
    logger.info(MESSAGE, *fields, extra=extra)
    made, expected = kept.records
    assert (
        made.getMessage()
        == expected.getMessage()
        == "GET /v1/sites/{site}/posts/{post}/comments 200 12.5 ms"
    )
    unlike = {"created", "msecs", "relativeCreated", "pathname", "filename", "module"}
    unlike |= {"lineno", "funcName"}  # where logger.info was called: no line shows them
    assert list(made.__dict__) == list(expected.__dict__)
    for name, value in expected.__dict__.items():
        if name not in unlike:
            assert made.__dict__[name] == value, name
    assert abs(made.created - expected.created) < 1
    line = JsonLines().format(made)
    assert list(json.loads(line))[4:] == [
        "request_id",
        "method",
        "route",
        "status",
        "duration_ms",
        "bytes",
    ]
    logger.setLevel(logging.WARNING)
    log(asked, answered, 0.0125)
    assert len(kept.records) == 2


class Asked(dict[str, object]):
    """Only what an access line reads of a request."""

    method = "GET"


@pytest.fixture
def only_root_handler() -> Any:
    """Puts a handler alone on the root logger (pytest keeps one of its own there), at INFO."""
    saved, level = logging.root.handlers[:], logging.root.level

    def install(handler: logging.Handler) -> None:
        logging.root.handlers[:] = [handler]
        logging.root.setLevel(logging.INFO)

    yield install
    logging.root.handlers[:] = saved
    logging.root.setLevel(level)


@pytest.mark.parametrize("formatter", [JsonLines, TextLines])
def test_access_lines_written_directly_are_what_logging_writes(
    formatter: type[logging.Formatter], only_root_handler: Any
) -> None:
    stream = io.StringIO()
    handler = LinesPerTurn(stream)
    handler.setFormatter(formatter())
    handler.addFilter(WithRequestId())
    only_root_handler(handler)
    logger = logging.getLogger("threadlog.access")
    log = AccessLines(logger, "").log
    answered: Any = SimpleNamespace(status=201, body_length=77)
    requests: list[Any] = [
        Asked({ROUTE: "/v1/sites/{site}/counts", REQUEST_ID: "r-2"}),
        Asked({}),  # refused before routing, outside any request's context
        Asked({ROUTE: "/healthz"}),  # a worker's line, in the context of its request
    ]

    def write_all() -> None:
        log(requests[0], answered, 0.002)
        log(requests[1], answered, 0.5)
        with RequestContext("from-context"):
            log(requests[2], answered, 0.0001)

    assert direct_handler(logger) is handler
    write_all()
    # Any filter on the logger sends its lines through logging's own path.
    logger.addFilter(lambda record: True)
    try:
        assert direct_handler(logger) is None
        write_all()
    finally:
        logger.filters.clear()
    handler.flush()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 6

    def without_time(line: str) -> object:
        if formatter is TextLines:
            return line.split(" ", 1)[1]
        fields = json.loads(line)
        del fields["timestamp"]
        return list(fields.items())

    direct, logged = lines[:3], lines[3:]
    assert [without_time(line) for line in direct] == [without_time(line) for line in logged]
    assert "r-2" in direct[0] and "from-context" in direct[2]


def test_lines_go_through_logging_when_another_handler_would_see_them(
    only_root_handler: Any,
) -> None:
    handler = LinesPerTurn(io.StringIO())
    handler.setFormatter(JsonLines())
    handler.addFilter(WithRequestId())
    only_root_handler(handler)
    logger = logging.getLogger("threadlog.access")
    assert direct_handler(logger) is handler
    kept = Kept()
    for holder in (logger, logging.getLogger("threadlog"), logging.root):
        holder.addHandler(kept)
        try:
            assert direct_handler(logger) is None
        finally:
            holder.removeHandler(kept)
    handler.setFormatter(logging.Formatter("%(message)s"))
    assert direct_handler(logger) is None
    handler.setFormatter(JsonLines())
    handler.setLevel(logging.WARNING)
    assert direct_handler(logger) is None


def test_an_access_lines_duration_is_timed_from_the_middlewares_finely(
    kept_lines: tuple[logging.Logger, Kept],
) -> None:
    logger, kept = kept_lines
    log = AccessLines(logger, "").log
    answered: Any = SimpleNamespace(status=200, body_length=1)
    # aiohttp's own figure (on uvloop, in whole milliseconds) is used only for a request the
    # middlewares never saw.
    log(Asked({STARTED: time.perf_counter() - 0.0123}), answered, 0.5)
    log(Asked({}), answered, 0.5)
    timed, refused = (record.__dict__["duration_ms"] for record in kept.records)
    assert 12.3 <= timed < 500 and refused == 500.0


def test_json_access_lines_from_their_kept_heads_are_what_info_line_writes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(access_log.clock, "time", lambda: 1_790_000_000.2505)
    monkeypatch.setattr(access_log, "HEADS", {})
    monkeypatch.setattr(access_log, "MAX_HEADS", 20)
    chooser = random.Random(3)
    methods = ["GET", "POST", "PATCH", "M-SEARCH", 'O"DD', "é\n"]
    routes = ["/v1/sites/{site}/posts/{post}/comments", "unmatched", "/x/\\/\u2028"]
    ids = [None, "r-1", 'odd "id" é', "\x00"]
    for _ in range(2000):
        method, route = chooser.choice(methods), chooser.choice(routes)
        status, request_id = chooser.choice([200, 201, 404, 500]), chooser.choice(ids)
        milliseconds = chooser.choice([0.0, 0.04999, 12.3456789, 1e-9, 98765.4321])
        milliseconds *= chooser.random()
        size = chooser.choice([0, 1, 7300, 10**12])
        duration = round(milliseconds, 3)
        extra = {"method": method, "route": route, "status": status}
        extra |= {"duration_ms": duration, "bytes": size}
        name = chooser.choice(["aiohttp.access", "threadlog.access"])
        line = access_log.json_line(
            name, method, route, status, milliseconds, duration, size, request_id
        )
        message = MESSAGE % (method, route, status, milliseconds)
        expected = JsonLines().info_line(1_790_000_000.2505, name, message, request_id, extra)
        assert line == expected
    assert len(access_log.HEADS) == 20  # past the bound, heads are made for each line


async def test_the_running_loop_is_asked_for_once_not_every_turn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream = io.StringIO()
    handler = LinesPerTurn(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    asked = 0
    real = asyncio.get_running_loop

    def counting() -> asyncio.AbstractEventLoop:
        nonlocal asked
        asked += 1
        return real()

    monkeypatch.setattr(logs_module.asyncio, "get_running_loop", counting)
    for _ in range(5):
        handler.emit(record(0.0))
        handler.emit(record(0.0))
        await asyncio.sleep(0)
    monkeypatch.undo()
    assert stream.getvalue() == "GET 200\n" * 10
    assert asked == 1
    # Another thread still writes at once, and this loop's lines still wait for its turn's end.
    await asyncio.to_thread(handler.emit, record(0.0))
    assert stream.getvalue().count("\n") == 11
    handler.emit(record(0.0))
    assert stream.getvalue().count("\n") == 11
    await asyncio.sleep(0)
    assert stream.getvalue().count("\n") == 12
