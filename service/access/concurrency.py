"""Counting what clients hold open at once (connections, live streams), in total and per
client address, within caps: the one definition both the server's connection gate and the
live streams use."""

from enum import StrEnum


class Refused(StrEnum):
    """Which cap a new connection or stream would pass: the whole service's (answered 503:
    come back later) or its client's (answered 429: it holds too many already)."""

    TOTAL = "total"
    CLIENT = "client"


class Holdings:
    """How many things each client holds, and all clients together, kept within caps."""

    def __init__(self, total: int, per_client: int) -> None:
        self.total = total
        self.per_client = per_client
        self.held: dict[str, int] = {}
        self.count = 0

    def take(self, client: str, capped: bool = True) -> Refused | None:
        """Count one more for `client`, or say which cap it would pass (counting nothing).
        An uncapped client (a trusted proxy, which speaks for many) counts in the total only."""
        if self.count >= self.total:
            return Refused.TOTAL
        held = self.held.get(client, 0)
        if capped and held >= self.per_client:
            return Refused.CLIENT
        self.held[client] = held + 1
        self.count += 1
        return None

    def give_back(self, client: str) -> None:
        held = self.held.get(client, 0) - 1
        if held <= 0:
            self.held.pop(client, None)
        else:
            self.held[client] = held
        self.count -= 1
