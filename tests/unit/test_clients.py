"""The client's address behind proxies: the rightmost hop that is not a trusted proxy, only
when the peer is one; IPv6 clients count by /64. Never an exception, whatever the headers."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multidict import CIMultiDict

from service.access.clients import (
    ForwardedHeader,
    TrustedProxies,
    client_address,
    client_key,
    parse_address,
    parse_networks,
)

PROXIES = TrustedProxies(parse_networks(["10.0.0.0/8", "fd00::/8"]))
FORWARDED = TrustedProxies(PROXIES.networks, ForwardedHeader.FORWARDED)


def headers(*pairs: tuple[str, str]) -> CIMultiDict[str]:
    return CIMultiDict(pairs)


def test_an_untrusted_peer_is_the_client_whatever_it_says() -> None:
    spoofed = headers(("X-Forwarded-For", "1.2.3.4"), ("Forwarded", "for=1.2.3.4"))
    assert client_address("203.0.113.9", spoofed, PROXIES) == "203.0.113.9"
    assert client_address("10.0.0.1", spoofed) == "10.0.0.1"  # nobody trusted


def test_a_trusted_proxy_names_the_rightmost_untrusted_hop() -> None:
    chain = headers(("X-Forwarded-For", "6.6.6.6, 203.0.113.9, 10.0.0.2"))
    assert client_address("10.0.0.1", chain, PROXIES) == "203.0.113.9"
    # Several header lines are one list, in order.
    lines = headers(("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-For", "203.0.113.9"))
    assert client_address("10.0.0.1", lines, PROXIES) == "203.0.113.9"
    # Every hop trusted: the leftmost is the client (an internal caller).
    assert client_address("10.0.0.1", headers(("X-Forwarded-For", "10.1.1.1")), PROXIES) == (
        "10.1.1.1"
    )
    assert client_address("10.0.0.1", headers(), PROXIES) == "10.0.0.1"


def test_only_the_configured_header_is_read() -> None:
    both = headers(("X-Forwarded-For", "6.6.6.6"), ("Forwarded", "for=203.0.113.9"))
    assert client_address("10.0.0.1", both, PROXIES) == "6.6.6.6"
    assert client_address("10.0.0.1", both, FORWARDED) == "203.0.113.9"


@pytest.mark.parametrize(
    ("value", "client"),
    [
        ('for=192.0.2.43, for="[2001:db8:cafe::17]:4711"', "2001:db8:cafe::17"),
        ('for="192.0.2.43:47011";proto=https;by=10.0.0.1', "192.0.2.43"),
        ("For=192.0.2.60;Proto=http", "192.0.2.60"),
        ('for="[2001:db8::1]", for=10.0.0.3', "2001:db8::1"),
        ('for=192.0.2.43;host="a,b", for=203.0.113.1', "203.0.113.1"),
        # Not an address where the proxy wrote: the last trusted address is all we know.
        ("for=unknown", "10.0.0.1"),
        ("for=_hidden", "10.0.0.1"),
        ("proto=https", "10.0.0.1"),
        ('for="[2001:db8::1', "10.0.0.1"),
        (";;==,,", "10.0.0.1"),
        ('for="', "10.0.0.1"),
        ("for=192.0.2.1, for=garbage", "10.0.0.1"),
        ("for=garbage, for=192.0.2.1", "192.0.2.1"),
        ("for=garbage, for=10.0.0.7", "10.0.0.7"),
    ],
)
def test_forwarded_values_as_rfc_7239_writes_them_and_malformed_ones(
    value: str, client: str
) -> None:
    assert client_address("10.0.0.1", headers(("Forwarded", value)), FORWARDED) == client


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("203.0.113.9", "203.0.113.9"),
        (" 203.0.113.9:8080 ", "203.0.113.9"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("2001:db8::1", "2001:db8::1"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
        ("fe80::1%eth0", "fe80::1"),
        ('"[2001:db8::2]"', "2001:db8::2"),
        ("unknown", None),
        ("", None),
        ("999.1.1.1", None),
    ],
)
def test_addresses_as_proxies_write_them(text: str, address: str | None) -> None:
    parsed = parse_address(text)
    assert (str(parsed) if parsed else None) == address


def test_ipv6_clients_count_by_their_64() -> None:
    assert (
        client_key("2001:db8:1:2::1") == client_key("2001:db8:1:2:ffff::9") == ("2001:db8:1:2::/64")
    )
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("203.0.113.9") == "203.0.113.9"
    assert client_key("::ffff:203.0.113.9") == "203.0.113.9"
    assert client_key("") == ""


def test_networks_must_be_networks() -> None:
    with pytest.raises(ValueError, match=r"10\.0\.0\.0/33"):
        parse_networks(["10.0.0.0/33"])


@given(st.text(max_size=200), st.text(max_size=200))
def test_no_header_value_raises(forwarded: str, forwarded_for: str) -> None:
    for trusted in (PROXIES, FORWARDED):
        values = headers(("Forwarded", forwarded), ("X-Forwarded-For", forwarded_for))
        found = client_address("10.0.0.1", values, trusted)
        assert parse_address(found) is not None
        assert not trusted.trust(parse_address(found)) or found.startswith(("10.", "fd"))
