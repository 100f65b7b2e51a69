"""The service's log: one line per record, JSON for machines or text for people, each line with
the request it belongs to.

The request id lives in a context variable: set by the HTTP layer for a request's own work, and
by the workers (write batches, webhook deliveries) for the requests whose work they do, so a
line written anywhere on a request's path names it. Nothing secret or personal is ever passed
to a logger (keys, tokens, secrets, emails, addresses): callers log ids, never values.
"""

import asyncio
import contextlib
import contextvars
import json
import json.encoder as json_encoder
import logging
import math
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from enum import StrEnum
from typing import TextIO

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "threadlog_request_id", default=None
)
# Attributes every LogRecord has; anything else on a record was passed in `extra`.
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


def json_line(line: dict[str, object]) -> str:
    if C_ENCODER is None:
        return JSON.encode(line)
    return "".join(C_ENCODER(line, 0))


class LogFormat(StrEnum):
    JSON = "json"
    TEXT = "text"


@contextlib.contextmanager
def request_context(request_id: str | None) -> Iterator[None]:
    """Lines logged inside name `request_id` (workers doing a request's work use this)."""
    token = REQUEST_ID.set(request_id)
    try:
        yield
    finally:
        REQUEST_ID.reset(token)


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


def timestamp(record: logging.LogRecord) -> str:
    """`created` in UTC to the millisecond, as `datetime.isoformat` gives it (microseconds
    rounded half to even, then cut to milliseconds)."""
    fraction, whole = math.modf(record.created)
    second, microseconds = int(whole), round(fraction * 1e6)
    if microseconds >= 1_000_000:
        second, microseconds = second + 1, microseconds - 1_000_000
    if second != Seconds.second:
        moment = datetime.fromtimestamp(second, UTC)
        Seconds.text, Seconds.second = moment.strftime("%Y-%m-%dT%H:%M:%S"), second
    return f"{Seconds.text}.{microseconds // 1000:03d}Z"


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
        # A forked worker must not write its parent's waiting lines again.
        os.register_at_fork(before=self.flush)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.waiting.append(self.format(record) + self.terminator)
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.flush()
                return
            if self.flushing is not loop:
                loop.call_soon(self.flush)
                self.flushing = loop
        except Exception:
            self.handleError(record)

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self.flushing = None
            if self.waiting:
                text = "".join(self.waiting)
                self.waiting.clear()
                self.stream.write(text)
            self.stream.flush()


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
