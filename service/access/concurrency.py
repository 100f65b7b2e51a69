"""Counting what clients hold open at once (connections, live streams), in total and per
client address, within caps: the one definition both the server's connection gate and the
live streams use."""

import ipaddress
from enum import StrEnum


class Refused(StrEnum):
    """Which cap a new connection or stream would pass: the whole service's (answered 503:
    come back later) or its client's (answered 429: it holds too many already)."""

    TOTAL = "total"
    CLIENT = "client"


def client_key(address: str | None) -> str:
    """What per-client caps count by: an IPv4 address, or an IPv6 address's /64 (a host or a
    household usually has a whole /64 to pick addresses from)."""
    if not address:
        return "unknown"
    try:
        parsed = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address  # a Unix socket's path, say: one client
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


class Holdings:
    """How many things each client holds, and all clients together, kept within caps."""

    def __init__(self, total: int, per_client: int) -> None:
        self.total = total
        self.per_client = per_client
        self.held: dict[str, int] = {}
        self.count = 0

    def take(self, client: str) -> Refused | None:
        """Count one more for `client`, or say which cap it would pass (counting nothing)."""
        if self.count >= self.total:
            return Refused.TOTAL
        held = self.held.get(client, 0)
        if held >= self.per_client:
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
