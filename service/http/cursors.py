"""Page cursors that clients pass back: opaque to them, and a 400 problem when malformed."""

import base64
import json
from datetime import datetime

from service.http.problems import Problem
from service.http.schemas import utc

MALFORMED = "cursor is malformed; pass the `next` value of a previous page"


def parse_position(cursor: str) -> int:
    if not cursor.isascii() or not cursor.isdigit() or len(cursor) > 18:
        raise Problem(400, MALFORMED)
    return int(cursor)


def keyset_cursor(moment: datetime, key: str) -> str:
    """The place after a row ordered by (a time, a text key)."""
    text = json.dumps([moment.isoformat(), key])
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def parse_keyset_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        moment, key = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        at = datetime.fromisoformat(moment)
        if not isinstance(key, str) or "\x00" in key or at.tzinfo is None:
            raise ValueError(key)
        return utc(at), key
    except (ValueError, TypeError, UnicodeError):
        raise Problem(400, MALFORMED) from None
