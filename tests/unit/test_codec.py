"""Every registered event type survives encode -> JSON -> decode unchanged."""

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.domain.events import (
    EVENT_TYPES,
    Author,
    CommentPosted,
    CommentReported,
    Event,
    ReportReason,
)
from service.domain.policy import SiteSettings
from service.eventstore.codec import SealingKeys, decode, encode, key_ids, with_private
from service.eventstore.vault import KEY_BYTES, Vault, WrongKek

text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=30)
st.register_type_strategy(str, text)
st.register_type_strategy(
    SiteSettings,
    st.builds(
        SiteSettings,
        banned_words=st.lists(text, max_size=3).map(tuple),
        suspect_words=st.lists(text, max_size=3).map(tuple),
        report_threshold=st.integers(1, 100),
        rate_limit_per_minute=st.none() | st.integers(0, 100),
        edit_window_minutes=st.integers(0, 100),
        close_after_days=st.none() | st.integers(1, 100),
    ),
)
events = st.one_of([st.builds(cls) for cls in EVENT_TYPES.values()])


AUTHOR_KEY, DAY_KEY = ("k1", b"a" * KEY_BYTES), ("day:2026-11-30", b"d" * KEY_BYTES)
KEYS = SealingKeys(AUTHOR_KEY, DAY_KEY)


def stored(event: Event, keys: SealingKeys | None = KEYS) -> tuple[dict, dict]:
    """(data, metadata) as they come back from the database."""
    encoded = encode(event, keys)
    data = json.loads(json.dumps(encoded.stored_data))
    return data, json.loads(json.dumps(with_private({"request_id": "r"}, encoded)))


@given(events)
def test_round_trip(event: Event) -> None:
    data, metadata = stored(event)
    opened = dict([AUTHOR_KEY, DAY_KEY])
    decoded, public = decode(event.event_type, event.schema_version, data, metadata, opened)
    assert decoded == event
    assert public == encode(event, KEYS).data


@given(events)
def test_private_fields_never_reach_the_public_data(event: Event) -> None:
    encoded = encode(event, KEYS)
    assert not set(encoded.data) & event.private_fields
    assert not set(encoded.stored_data) & (event.personal_fields | event.ip_fields)
    assert set(encoded.private) <= event.private_fields | {"sealed", "ip"}


@given(events)
def test_without_its_keys_an_event_keeps_nothing_personal(event: Event) -> None:
    data, metadata = stored(event)
    assert key_ids(metadata) <= {AUTHOR_KEY[0], DAY_KEY[0]}
    decoded, public = decode(event.event_type, event.schema_version, data, metadata, {})
    sealed = event.personal_fields | event.ip_fields
    forgotten = {name: None for name in sealed} | type(event).erased_values()
    expected = type(event).model_validate(event.model_dump() | forgotten)
    assert decoded.model_dump(include=sealed) == expected.model_dump(include=sealed)
    assert not set(public) & sealed
    assert public.get("erased", False) is bool(event.personal_fields)


@given(events)
def test_an_expired_day_key_forgets_only_the_ip_digests(event: Event) -> None:
    data, metadata = stored(event)
    decoded, _ = decode(event.event_type, event.schema_version, data, metadata, dict([AUTHOR_KEY]))
    kept = {name: getattr(event, name) for name in event.personal_fields}
    assert {name: getattr(decoded, name) for name in event.personal_fields} == kept
    assert all(getattr(decoded, name) is None for name in event.ip_fields)


def test_a_box_moved_to_another_event_does_not_open() -> None:
    first = CommentPosted(
        site="s", post_id="p", comment_id="c1", author=Author(name="Ann"), body="secret",
        body_html="<p>secret</p>", created_at=datetime(2026, 11, 1, tzinfo=UTC),
    )  # fmt: skip
    data, metadata = stored(first)
    moved = data | {"comment_id": "c2"}
    decoded, public = decode("comment.posted", 1, moved, metadata, dict([AUTHOR_KEY, DAY_KEY]))
    assert isinstance(decoded, CommentPosted) and decoded.erased and decoded.body == ""
    assert public["erased"] is True and "body" not in public


def test_a_comment_stored_before_the_private_part_keeps_what_its_metadata_held() -> None:
    event = CommentPosted(
        site="s", post_id="p", comment_id="c", author=Author(name="Ann"), body="b",
        body_html="<p>b</p>", created_at=datetime(2026, 11, 1, tzinfo=UTC),
    )  # fmt: skip
    data = encode(event, KEYS).data
    with_email = {"ip_hash": "ip", "delete_token_sha256": "ab" * 32, "author_email_hash": "em"}
    decoded, _ = decode("comment.posted", 1, data, with_email | {"author_key": "em"})
    assert isinstance(decoded, CommentPosted)
    assert decoded.delete_token_sha256 == bytes.fromhex("ab" * 32)
    assert (decoded.author_email_hash, decoded.author_ip_hash) == ("em", "ip")
    assert decoded.author_name_ip_hash is None  # kept only when no email was given
    without_email, _ = decode("comment.posted", 1, data, {"ip_hash": "ip", "author_key": "ni"})
    assert isinstance(without_email, CommentPosted)
    assert without_email.author_name_ip_hash == "ni" and without_email.author_key == "ni"
    report = CommentReported(site="s", post_id="p", comment_id="c", reason=ReportReason.SPAM)
    reported = encode(report, KEYS).data
    decoded_report, _ = decode("comment.reported", 1, reported, {"ip_hash": "ip"})
    assert isinstance(decoded_report, CommentReported) and decoded_report.reporter_hash == "ip"


def test_every_type_name_is_dotted_lower_case() -> None:
    for name, cls in EVENT_TYPES.items():
        assert name == cls.event_type and name == name.lower() and "." in name


def test_a_data_key_opens_with_the_kek_that_wrapped_it_each_time_and_no_other() -> None:
    old, new, stranger = (bytes([n]) * KEY_BYTES for n in (1, 2, 3))
    data_key, wrapped = Vault(old).new_data_key("k1")
    rotating = Vault(new, previous=(old,))
    for _ in range(2):  # each KEK's cipher is made once, then reused
        assert rotating.unwrap("k1", Vault(old).kek_id, wrapped) == data_key
        assert Vault(old).unwrap("k1", Vault(old).kek_id, wrapped) == data_key
        with pytest.raises(WrongKek, match="does not open"):
            Vault(stranger).unwrap("k1", Vault(stranger).kek_id, wrapped)
        with pytest.raises(WrongKek, match="does not open"):
            rotating.unwrap("k2", Vault(old).kek_id, wrapped)  # another key's place
