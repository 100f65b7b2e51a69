"""A place in the log. Global order is (epoch, transaction id, position): see store.py."""

from dataclasses import dataclass

# The epoch of every event written before there were epochs. Its cursors keep their old text.
FIRST_EPOCH = 1
BIGGEST = 2**63


@dataclass(frozen=True, slots=True)
class Cursor:
    """A place in the log: after the event at (epoch, transaction id, position).

    Written `<transaction id>-<position>` in the first epoch (every cursor handed out before
    epochs existed is one) and `<epoch>:<transaction id>-<position>` in later ones.
    """

    epoch: int
    transaction_id: int
    position: int

    def __str__(self) -> str:
        place = f"{self.transaction_id}-{self.position}"
        return place if self.epoch == FIRST_EPOCH else f"{self.epoch}:{place}"

    @classmethod
    def parse(cls, text: str) -> "Cursor":
        """Raise ValueError unless `text` is a cursor this log produced."""
        epoch, colon, place = text.rpartition(":")
        transaction_id, dash, position = place.partition("-")
        numbers = (epoch, transaction_id, position) if colon else (transaction_id, position)
        # No leading zeros: the log never writes them, and openapi.yaml's EventCursor pattern
        # (which must describe exactly this) stays a plain list of ranges.
        if not dash or not all(
            n.isascii() and n.isdigit() and len(n) <= 19 and (n == "0" or n[0] != "0")
            for n in numbers
        ):
            raise ValueError(f"malformed cursor {text!r}")
        cursor = cls(int(epoch) if colon else FIRST_EPOCH, int(transaction_id), int(position))
        if not FIRST_EPOCH <= cursor.epoch < 2**31:
            raise ValueError(f"malformed cursor {text!r}")
        if cursor.transaction_id >= BIGGEST or cursor.position >= BIGGEST:
            raise ValueError(f"malformed cursor {text!r}")
        return cursor


START = Cursor(FIRST_EPOCH, 0, 0)
LAST_POSITION = BIGGEST - 1
