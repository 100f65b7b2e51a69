"""Where webhooks may send: no request reaches this network's insides (SSRF).

A URL is checked when registered and again at every delivery, against the addresses the
connection will actually use: the resolver below refuses a forbidden answer, so a name that
later resolves elsewhere (DNS rebinding) is refused then too.
"""

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata services answer on these; link-local covers 169.254.169.254.
METADATA = {ipaddress.ip_address("fd00:ec2::254"), ipaddress.ip_address("100.100.100.200")}


class ForbiddenTarget(Exception):
    """The URL is not http(s), or resolves to an address webhooks may not reach."""


# IPv6 forms that carry an IPv4 address a packet ends up at, once a translator or a relay
# unwraps it: NAT64's well-known prefix (RFC 6052, the IPv4 address in the last 32 bits),
# 6to4 and Teredo. NAT64's local-use prefix (RFC 8215) puts the IPv4 address where the
# operator's prefix length says, which cannot be known from here: it is never a target.
NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
NAT64_LOCAL_USE = ipaddress.ip_network("64:ff9b:1::/48")


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses that `address` reaches through: IPv4-mapped (::ffff:a.b.c.d),
    IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d), 6to4 (2002:aabb:ccdd::) and Teredo
    (its server and its client). Empty for an ordinary IPv6 address."""
    value = int(address)
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    if value >> 32 == 0 and value > 1:  # not :: nor ::1, which are judged as they are
        return [ipaddress.IPv4Address(value)]
    if address in NAT64_WELL_KNOWN:
        return [ipaddress.IPv4Address(value & 0xFFFFFFFF)]
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address.teredo is not None:
        return list(address.teredo)
    return []


def refusal(address: Address, allow_private: bool) -> str | None:
    """Why `address` may not be a webhook target, or None when it may. An IPv6 address that
    carries an IPv4 address is refused when that address would be."""
    if isinstance(address, ipaddress.IPv6Address) and address not in METADATA:
        if address in NAT64_LOCAL_USE:
            return f"{address} is in NAT64's local-use prefix, which may lead anywhere inside"
        for inner in embedded_ipv4(address):
            reason = refusal(inner, allow_private)
            if reason is not None:
                return f"{address} reaches {inner}: {reason}"
        if address.ipv4_mapped is not None:  # the IPv4 address is the whole story
            return None
    if address in METADATA or address.is_link_local:
        return f"{address} is a link-local or metadata address"
    if address.is_multicast or address.is_unspecified:
        return f"{address} is not a unicast address"
    if not address.is_global:  # loopback, private, shared, reserved
        if allow_private:
            return None
        return (
            f"{address} is a loopback or private address"
            " (THREADLOG_WEBHOOKS_ALLOW_PRIVATE=true allows it)"
        )
    return None


def check_address(address: str, allow_private: bool) -> None:
    reason = refusal(ipaddress.ip_address(address.split("%", 1)[0]), allow_private)
    if reason is not None:
        raise ForbiddenTarget(reason)


def literal_address(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def check_url_form(url: str) -> str:
    """The URL's host, when it is an absolute http(s) URL without credentials in it."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ForbiddenTarget("the URL must be an absolute http or https URL")
    if parts.username is not None or parts.password is not None:
        raise ForbiddenTarget("the URL must not carry a user name or password")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not 0-65535
    except ValueError:
        raise ForbiddenTarget("the URL's port is not a number from 0 to 65535") from None
    return parts.hostname


async def check_target(url: str, allow_private: bool) -> None:
    """Refuse `url` unless every address its host resolves to may be reached."""
    host = check_url_form(url)
    if literal_address(host) is not None:
        check_address(host, allow_private)
        return
    try:
        answers = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise ForbiddenTarget(f"{host} does not resolve: {error}") from None
    for *_, address in answers:
        check_address(str(address[0]), allow_private)


class GuardedResolver(AbstractResolver):
    """Resolves like aiohttp's default resolver, and refuses forbidden answers."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private
        self.resolver = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self.resolver.resolve(host, port, family)
        for answer in answers:
            check_address(answer["host"], self.allow_private)
        return answers

    async def close(self) -> None:
        await self.resolver.close()


def check_literal(url: str, allow_private: bool) -> None:
    """aiohttp connects to an IP literal without asking the resolver: check it here."""
    host = check_url_form(url)
    if literal_address(host) is not None:
        check_address(host, allow_private)
