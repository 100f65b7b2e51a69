"""What per-client caps count by: an IPv4 address, an IPv6 address's /64."""

import pytest

from service.access.clients import client_key
from service.access.concurrency import Holdings, Refused


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("fe80::1%eth0", "fe80::/64"),
        (None, "unknown"),
        ("/run/threadlog.sock", "/run/threadlog.sock"),
    ],
)
def test_addresses_group_by_host_or_slash_64(address: str | None, key: str) -> None:
    assert client_key(address) == key


def test_holdings_refuse_past_either_cap_and_count_nothing_for_a_refusal() -> None:
    holdings = Holdings(total=3, per_client=2)
    assert [holdings.take("a"), holdings.take("a"), holdings.take("a")] == [
        None,
        None,
        Refused.CLIENT,
    ]
    assert holdings.take("b") is None
    assert holdings.take("c") is Refused.TOTAL
    holdings.give_back("a")
    assert holdings.take("c") is None
    assert holdings.count == 3 and holdings.held == {"a": 1, "b": 1, "c": 1}
