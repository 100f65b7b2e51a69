"""Every registered event type survives encode -> JSON -> decode unchanged."""

import json
from datetime import UTC, datetime

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
from service.eventstore.codec import decode, encode, with_private

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


@given(events)
def test_round_trip(event: Event) -> None:
    encoded = encode(event)
    data = json.loads(json.dumps(encoded.data))
    metadata = json.loads(json.dumps(with_private({"request_id": "r"}, encoded)))
    assert decode(encoded.type, encoded.schema_version, data, metadata) == event


@given(events)
def test_private_fields_never_reach_the_public_data(event: Event) -> None:
    encoded = encode(event)
    assert not set(encoded.data) & event.private_fields
    assert set(encoded.private) <= event.private_fields


def test_a_comment_stored_before_the_private_part_keeps_what_its_metadata_held() -> None:
    event = CommentPosted(
        site="s", post_id="p", comment_id="c", author=Author(name="Ann"), body="b",
        body_html="<p>b</p>", created_at=datetime(2026, 11, 1, tzinfo=UTC),
    )  # fmt: skip
    data = encode(event).data
    with_email = {"ip_hash": "ip", "delete_token_sha256": "ab" * 32, "author_email_hash": "em"}
    decoded = decode("comment.posted", 1, data, with_email | {"author_key": "em"})
    assert isinstance(decoded, CommentPosted)
    assert decoded.delete_token_sha256 == bytes.fromhex("ab" * 32)
    assert (decoded.author_email_hash, decoded.author_ip_hash) == ("em", "ip")
    assert decoded.author_name_ip_hash is None  # kept only when no email was given
    without_email = decode("comment.posted", 1, data, {"ip_hash": "ip", "author_key": "ni"})
    assert isinstance(without_email, CommentPosted)
    assert without_email.author_name_ip_hash == "ni" and without_email.author_key == "ni"
    report = CommentReported(site="s", post_id="p", comment_id="c", reason=ReportReason.SPAM)
    decoded_report = decode("comment.reported", 1, encode(report).data, {"ip_hash": "ip"})
    assert isinstance(decoded_report, CommentReported) and decoded_report.reporter_hash == "ip"


def test_every_type_name_is_dotted_lower_case() -> None:
    for name, cls in EVENT_TYPES.items():
        assert name == cls.event_type and name == name.lower() and "." in name
