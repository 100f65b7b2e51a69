"""The service's log: one line per record, JSON for machines or text for people, each line with
the request it belongs to.

The request id lives in a context variable: set by the HTTP layer for a request's own work, and
by the workers (write batches, webhook deliveries) for the requests whose work they do, so a
line written anywhere on a request's path names it. Nothing secret or personal is ever passed
to a logger (keys, tokens, secrets, emails, addresses): callers log ids, never values.
"""

import contextlib
import contextvars
import json
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from enum import StrEnum

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "threadlog_request_id", default=None
)
# Attributes every LogRecord has; anything else on a record was passed in `extra`.
STANDARD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


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


def timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


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
        return json.dumps(line, default=str, ensure_ascii=False)


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


def configure(level: str, log_format: LogFormat | None) -> None:
    """Log to stderr: JSON unless asked for text or writing to a terminal."""
    chosen = log_format or (LogFormat.TEXT if sys.stderr.isatty() else LogFormat.JSON)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines() if chosen is LogFormat.JSON else TextLines())
    handler.addFilter(WithRequestId())
    root = logging.getLogger()
    for existing in root.handlers[:]:
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Alembic lists its plugins at INFO when first imported, which commands do when they need it.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
