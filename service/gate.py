"""The connection gate: open connections are capped per client address and in total, at the
moment they are accepted.

aiohttp has no cap of its own, and an app's middleware sees a connection only once its request
headers have all arrived, which a slow client may never send; so the gate sits between the
listening socket and aiohttp's protocol. A connection within the caps is handed to aiohttp
untouched. One past them is answered at once (429 when its client holds too many, 503 when the
service does) and closed, so it holds a file descriptor for a moment, not for as long as its
sender likes; and when too many refusals are still being said, a new one is cut without a word.
"""

import asyncio
import json
from collections.abc import Callable
from typing import cast

from service.access.clients import NOBODY, TrustedProxies, client_key, parse_address
from service.access.concurrency import Holdings, Refused

# How long a refused connection may stay to read its answer, and how many may do so at once.
REFUSAL_SECONDS = 1.0
REFUSING_AT_MOST = 64
RETRY_SECONDS = {Refused.CLIENT: 10, Refused.TOTAL: 5}


def refusal(refused: Refused) -> bytes:
    status, reason, detail = (
        (429, "Too Many Requests", "this address holds as many connections as it may")
        if refused is Refused.CLIENT
        else (503, "Service Unavailable", "the service holds as many connections as it may")
    )
    body = json.dumps(
        {
            "type": "/problems/too-many-connections",
            "title": "Too many connections",
            "status": status,
            "detail": f"{detail}; try again later",
        }
    ).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/problem+json\r\n"
        f"Retry-After: {RETRY_SECONDS[refused]}\r\nConnection: close\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


REFUSALS = {refused: refusal(refused) for refused in Refused}


class ConnectionGate:
    """A protocol factory for `loop.create_server` around `serve_connection` (aiohttp's)."""

    def __init__(
        self,
        serve_connection: Callable[[], asyncio.Protocol],
        total: int,
        per_client: int,
        trusted: TrustedProxies = NOBODY,
    ) -> None:
        self.serve_connection = serve_connection
        self.trusted = trusted
        self.open = Holdings(total, per_client)
        self.refusing = 0

    def __call__(self) -> asyncio.Protocol:
        return Gated(self)


class Gated(asyncio.Protocol):
    """One accepted connection: served by aiohttp's protocol, or refused."""

    def __init__(self, gate: ConnectionGate) -> None:
        self.gate = gate
        self.served: asyncio.Protocol | None = None
        self.client = ""
        self.transport: asyncio.Transport | None = None
        self.closing: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only alike.
        transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.client = client_key(peer[0] if isinstance(peer, tuple) else None)
        # A trusted proxy's connections carry many clients: only the total caps them.
        address = parse_address(self.client)
        proxy = address is not None and self.gate.trusted.trust(address)
        refused = self.gate.open.take(self.client, capped=not proxy)
        if refused is None:
            self.served = self.gate.serve_connection()
            self.served.connection_made(transport)
            return
        if self.gate.refusing >= REFUSING_AT_MOST:
            transport.abort()
            return
        # Answered before its request is read; it goes once the client has read the answer
        # and closed, or after REFUSAL_SECONDS, whichever comes first. Closing while its
        # request is unread could reset the connection before the client reads the answer.
        self.gate.refusing += 1
        self.transport = transport
        transport.write(REFUSALS[refused])
        if transport.can_write_eof():
            transport.write_eof()
        self.closing = asyncio.get_running_loop().call_later(REFUSAL_SECONDS, transport.close)

    def data_received(self, data: bytes) -> None:
        if self.served is not None:
            self.served.data_received(data)

    def eof_received(self) -> bool | None:
        if self.served is not None:
            return self.served.eof_received()
        return None  # a refused connection: close it now

    def connection_lost(self, exc: Exception | None) -> None:
        if self.served is not None:
            self.gate.open.give_back(self.client)
            self.served.connection_lost(exc)
        elif self.closing is not None:
            self.closing.cancel()
            self.gate.refusing -= 1

    def pause_writing(self) -> None:
        if self.served is not None:
            self.served.pause_writing()

    def resume_writing(self) -> None:
        if self.served is not None:
            self.served.resume_writing()
