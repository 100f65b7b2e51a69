"""Who the client is when the service sits behind proxies: the one place that decides it.

Behind nginx, Caddy or a load balancer every connection comes from the proxy. A trusted
proxy (its address is in `THREADLOG_TRUSTED_PROXIES`) says whom it forwarded for in
`X-Forwarded-For` or `Forwarded` (RFC 7239), appending the address it saw to what the
client sent. So the list is read from the right: each hop a trusted proxy added is skipped,
and the first address that is not a trusted proxy is the client. Whatever lies further left
came from the client itself and is never believed. A peer that is not trusted is the client,
whatever its headers say.

Limits and bans count a client by `client_key`: its IPv4 address, or its IPv6 /64 (one
household or one server gets a /64, and walking its 2^64 addresses must not buy new buckets).
"""

import functools
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from multidict import MultiMapping

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Hops read from the right at most; a longer chain ends at the last trusted one read.
MAX_HOPS = 32


class ForwardedHeader(StrEnum):
    X_FORWARDED_FOR = "x-forwarded-for"
    FORWARDED = "forwarded"


@dataclass(frozen=True, slots=True)
class TrustedProxies:
    """The proxies whose forwarding headers are believed, and which header they write."""

    networks: tuple[Network, ...] = ()
    header: ForwardedHeader = ForwardedHeader.X_FORWARDED_FOR

    def trust(self, address: Address) -> bool:
        return any(address in network for network in self.networks)


NOBODY = TrustedProxies()


def parse_networks(values: Sequence[str]) -> tuple[Network, ...]:
    """CIDRs (or single addresses); ValueError names the one that is not."""
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values)


# Every request parses its peer's address; a few hundred clients at a time send most of them.
@functools.lru_cache(maxsize=512)
def parse_address(text: str) -> Address | None:
    """An address as proxies write it: bare, `[v6]`, with a port (`1.2.3.4:80`,
    `[v6]:80`), quoted; an IPv4-mapped IPv6 address is its IPv4 address. None for anything
    else (`unknown`, an obfuscated `_node`, garbage)."""
    text = text.strip().strip('"').strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text.partition("%")[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def split_list(value: str) -> list[str]:
    """A header's comma-separated elements, keeping commas inside quoted strings."""
    elements: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for character in value:
        if escaped:
            escaped = False
        elif character == "\\" and quoted:
            escaped = True
        elif character == '"':
            quoted = not quoted
        elif character == "," and not quoted:
            elements.append("".join(current))
            current = []
            continue
        current.append(character)
    elements.append("".join(current))
    return elements


def forwarded_for(element: str) -> str:
    """The `for=` parameter of one `Forwarded` element (RFC 7239), or "" without one."""
    for pair in element.split(";"):
        name, _, value = pair.partition("=")
        if name.strip().lower() == "for":
            return value
    return ""


def hops(headers: MultiMapping[str], header: ForwardedHeader) -> list[str]:
    """The forwarded-for entries, left to right, of every line of `header`."""
    lines = headers.getall(header.value, [])
    elements = [element for line in lines for element in split_list(line)]
    if header is ForwardedHeader.FORWARDED:
        return [forwarded_for(element) for element in elements]
    return elements


def client_address(
    peer: str | None, headers: MultiMapping[str], trusted: TrustedProxies = NOBODY
) -> str:
    """The client's address: `peer` (aiohttp's `request.remote`) unless it is a trusted proxy;
    then the rightmost hop of the forwarding header that is not a trusted proxy. A hop that
    is not an address (`unknown`, garbage) ends the walk at the last trusted address before
    it. Never raises; "" when there is no peer address at all (a Unix socket)."""
    address = parse_address(peer or "")
    if address is None:
        return peer or ""
    if not trusted.networks:
        return str(address)
    for hop in reversed(hops(headers, trusted.header)[-MAX_HOPS:]):
        if not trusted.trust(address):
            break
        found = parse_address(hop)
        if found is None:
            break
        address = found
    return str(address)


def client_key(address: str | None) -> str:
    """What limits, bans and caps count a client by: its IPv4 address, its IPv6 /64 (a host or
    a household usually has a whole /64 to pick from), or the text itself when it is not an
    address (a Unix socket's path); `unknown` when there is none."""
    if address is None:
        return "unknown"
    parsed = parse_address(address)
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed) if parsed is not None else address
