"""The service's log: one line per record, JSON for machines or text for people, each line with
the request it belongs to.

The request id lives in a context variable: set by the HTTP layer for a request's own work, and
by the workers (write batches, webhook deliveries) for the requests whose work they do, so a
line written anywhere on a request's path names it. Nothing secret or personal is ever passed
to a logger (keys, tokens, secrets, emails, addresses): callers log ids, never values.
"""

import asyncio
import contextvars
import json
import json.encoder as json_encoder
import logging
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from threading import get_ident
from typing import TextIO

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "threadlog_request_id", default=None
)
# Attributes every LogRecord has; anything else on a record was passed in `extra`.
# A line's own fields beyond the standard ones (an access line's method, route, status...).
Fields = Mapping[str, object]
STANDARD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


# json.dumps(..., default=str, ensure_ascii=False), made once rather than for every line. The
# C encoder's own, called directly: JSONEncoder.encode makes a new one per call.
JSON = json.JSONEncoder(default=str, ensure_ascii=False)
MAKE_C_ENCODER: Callable[..., Callable[[object, int], Iterable[str]]] | None = getattr(
    json_encoder, "c_make_encoder", None
)
C_ENCODER = (
    None
    if MAKE_C_ENCODER is None
    else MAKE_C_ENCODER(
        None, str, json_encoder.encode_basestring, None, ": ", ", ", False, False, True
    )
)


# A string as json_line writes it (ensure_ascii=False).
STRING: Callable[[str], str] = json_encoder.encode_basestring
# The fields every line starts with.
OWN_FIELDS = frozenset(("timestamp", "level", "logger", "message", "request_id"))


def json_line(line: dict[str, object]) -> str:
    if C_ENCODER is None:
        return JSON.encode(line)
    return "".join(C_ENCODER(line, 0))


class LogFormat(StrEnum):
    JSON = "json"
    TEXT = "text"


class RequestContext:
    """Lines logged inside name `request_id` (workers doing a request's work use this). A
    class, not a generator: every request enters one, and this costs a third as much."""

    __slots__ = ("request_id", "token")

    def __init__(self, request_id: str | None) -> None:
        self.request_id = request_id

    def __enter__(self) -> None:
        self.token = REQUEST_ID.set(self.request_id)

    def __exit__(self, *exception: object) -> None:
        REQUEST_ID.reset(self.token)


class WithRequestId(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = REQUEST_ID.get()
        return True


class Seconds:
    """The last whole second a line was written in, as ISO 8601: every line (an access line
    per request) formats the date and time of day again only when the second changes."""

    second = -1
    text = ""


# A timestamp's last characters, by millisecond (an index costs less than formatting).
MILLISECONDS = tuple(f".{n:03d}Z" for n in range(1000))


def timestamp(record: logging.LogRecord) -> str:
    return moment(record.created)


def moment(created: float) -> str:
    """`created` in UTC to the millisecond, as `datetime.isoformat` gives it (microseconds
    rounded half to even, then cut to milliseconds)."""
    fraction, whole = math.modf(created)
    second, microseconds = int(whole), round(fraction * 1e6)
    if microseconds >= 1_000_000:
        second, microseconds = second + 1, microseconds - 1_000_000
    if second != Seconds.second:
        moment = datetime.fromtimestamp(second, UTC)
        Seconds.text, Seconds.second = moment.strftime("%Y-%m-%dT%H:%M:%S"), second
    return Seconds.text + MILLISECONDS[microseconds // 1000]


class JsonLines(logging.Formatter):
    """One JSON object a line: timestamp, level, logger, message, request_id, then the extras
    (an access line's method, route, status...), and the traceback as one string."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "timestamp": timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for name, value in record.__dict__.items():
            if name not in STANDARD_ATTRIBUTES and name not in line:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json_line(line)

    def info_line(
        self, created: float, name: str, message: str, request_id: str | None, extra: Fields
    ) -> str:
        """What format() makes of an INFO record with these `extra` fields."""
        if extra and not extra.keys().isdisjoint(OWN_FIELDS):
            # An extra field replaces one of the line's own where it stands.
            line: dict[str, object] = {
                "timestamp": moment(created),
                "level": "INFO",
                "logger": name,
                "message": message,
                "request_id": request_id,
            }
            line.update(extra)
            return json_line(line)
        # The line's own fields written out: the encoder's per-field work (a key and a value
        # to look at and to escape each) was half of what an access line cost.
        quoted_id = "null" if request_id is None else STRING(request_id)
        head = (
            f'{{"timestamp": "{moment(created)}", "level": "INFO", "logger": {STRING(name)}, '
            f'"message": {STRING(message)}, "request_id": {quoted_id}'
        )
        return f"{head}, {json_line(dict(extra))[1:]}" if extra else head + "}"


class TextLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None)
        context = f" [{request_id}]" if request_id else ""
        text = (
            f"{timestamp(record)} {record.levelname} {record.name}{context} {record.getMessage()}"
        )
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text

    def info_line(
        self, created: float, name: str, message: str, request_id: str | None, extra: Fields
    ) -> str:
        """What format() makes of an INFO record (its `extra` fields are not shown)."""
        context = f" [{request_id}]" if request_id else ""
        return f"{moment(created)} INFO {name}{context} {message}"


class LinesPerTurn(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes the lines of one turn of the event loop together, at its end: one system call
    for the access lines of every request answered in that turn, instead of one a line.
    Outside a running loop (another thread, the CLI, shutting down) a line goes out at once,
    after those still waiting."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self.waiting: list[str] = []
        # The loop a flush is due in (a loop that stopped before it may never run it).
        self.flushing: asyncio.AbstractEventLoop | None = None
        # The loop a line was last written in, and its thread: while it runs, a line written
        # in that thread is written in it (a thread runs one loop at a time), which spares
        # asking asyncio (a system call in Python 3.11: getpid, once per turn).
        self.home: asyncio.AbstractEventLoop | None = None
        self.home_thread = 0
        # A forked worker must not write its parent's waiting lines again.
        os.register_at_fork(before=self.flush)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.write_line(self.format(record))
        except Exception:
            self.handleError(record)

    def write_info(self, name: str, message: str, request_id: str | None, extra: Fields) -> None:
        """Write what logging would of an INFO record of logger `name` with these `extra`
        fields, without making the record (see `direct_handler`)."""
        formatter = self.formatter
        assert isinstance(formatter, (JsonLines, TextLines))
        if request_id is None:
            request_id = REQUEST_ID.get()  # as WithRequestId does
        with self.lock:  # type: ignore[union-attr]
            self.write_line(formatter.info_line(time.time(), name, message, request_id, extra))

    def write_made(self, line: str) -> None:
        """Write a line made as this handler's formatter would make it."""
        with self.lock:  # type: ignore[union-attr]
            self.write_line(line)

    def write_line(self, line: str) -> None:
        self.waiting.append(line + self.terminator)
        loop = self.home
        if loop is None or self.home_thread != get_ident() or not loop.is_running():
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.flush()
                return
            self.home, self.home_thread = loop, get_ident()
        if self.flushing is not loop:
            loop.call_soon(self.flush)
            self.flushing = loop

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self.flushing = None
            if self.waiting:
                text = "".join(self.waiting)
                self.waiting.clear()
                self.stream.write(text)
            self.stream.flush()


def direct_handler(logger: logging.Logger) -> LinesPerTurn | None:
    """`configure`'s handler when it alone would write `logger`'s INFO records, as they are
    (no other handler, no filter but WithRequestId, a formatter of ours): an access line per
    request can then skip the record, the filters and the formatter's generic path, which cost
    more than the rest of serving a cached read."""
    current: logging.Logger | None = logger
    if logger.filters:
        return None
    while current is not None and current.parent is not None:
        if current.handlers or not current.propagate:
            return None
        current = current.parent
    handlers = logging.root.handlers
    if len(handlers) != 1 or type(handlers[0]) is not LinesPerTurn:
        return None
    handler = handlers[0]
    filters = handler.filters
    if handler.level > logging.INFO or len(filters) != 1 or type(filters[0]) is not WithRequestId:
        return None
    if type(handler.formatter) not in (JsonLines, TextLines):
        return None
    return handler


def configure(level: str, log_format: LogFormat | None) -> None:
    """Log to stderr: JSON unless asked for text or writing to a terminal."""
    chosen = log_format or (LogFormat.TEXT if sys.stderr.isatty() else LogFormat.JSON)
    handler = LinesPerTurn(sys.stderr)
    handler.setFormatter(JsonLines() if chosen is LogFormat.JSON else TextLines())
    handler.addFilter(WithRequestId())
    root = logging.getLogger()
    for existing in root.handlers[:]:
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Alembic lists its plugins at INFO when first imported, which commands do when they need it.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
