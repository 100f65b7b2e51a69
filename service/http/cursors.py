"""Page cursors that clients pass back: opaque to them, and a 400 problem when malformed."""

import base64
import json
from datetime import datetime

from service.http.problems import Problem
from service.http.schemas import utc
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


def keyset_cursor(moment: datetime, row_id: str) -> str:
    """The place after a row ordered by (a time, its id)."""
    text = json.dumps([moment.isoformat(), row_id])
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def parse_keyset_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        moment, row_id = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        at = datetime.fromisoformat(moment)
        if not isinstance(row_id, str) or "\x00" in row_id or at.tzinfo is None:
            raise ValueError(row_id)
        return utc(at), row_id
    except (ValueError, TypeError, UnicodeError):
        raise Problem(400, MALFORMED) from None
