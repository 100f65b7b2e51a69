"""Page cursors that clients pass back: opaque to them, and a 400 problem when malformed."""

import re
from datetime import UTC, datetime, timedelta

from service.http.problems import Problem
from service.http.schemas import EARLIEST, LATEST
from service.read.threads import Place

MALFORMED = "cursor is malformed; pass the `next` value of a previous page"


def parse_position(cursor: str) -> int:
    if not cursor.isascii() or not cursor.isdigit() or len(cursor) > 18:
        raise Problem(400, MALFORMED)
    return int(cursor)


def parse_thread_cursor(cursor: str) -> Place:
    """`<root>` (after that root and its replies: the cursors of earlier versions) or
    `<root>.<reply>` (inside that root's replies, after that one)."""
    root, dot, reply = cursor.partition(".")
    return Place(parse_position(root), parse_position(reply) if dot else None)


# `<microseconds since 1970 UTC>.<row id>`: the ids of these rows (post ids, comment ids) are
# made of URL-safe characters only, so the cursor needs no encoding, and openapi.yaml's
# KeysetCursor pattern says exactly which cursors are taken (a moment is any place in the order).
KEYSET = re.compile(r"(-?[0-9]{1,18})\.([A-Za-z0-9._~-]{1,128})", re.ASCII)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def keyset_cursor(moment: datetime, row_id: str) -> str:
    """The place after a row ordered by (a time, its id)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return f"{(aware - EPOCH) // MICROSECOND}.{row_id}"


def parse_keyset_cursor(cursor: str) -> tuple[datetime, str]:
    match = KEYSET.fullmatch(cursor)
    if match is None:
        raise Problem(400, MALFORMED)
    micros, row_id = int(match[1]), match[2]
    try:
        moment = EPOCH + micros * MICROSECOND
    except OverflowError:
        # Before or after every representable time: the place is before or after every row.
        moment = EARLIEST if micros < 0 else LATEST
    return moment, row_id
