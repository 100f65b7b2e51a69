"""Every registered event type survives encode -> JSON -> decode unchanged."""

import json

from hypothesis import given
from hypothesis import strategies as st

from service.domain.events import EVENT_TYPES, Event
from service.domain.policy import SiteSettings
from service.eventstore.codec import decode, encode

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
    event_type, schema_version, data = encode(event)
    stored = json.loads(json.dumps(data))
    assert decode(event_type, schema_version, stored) == event


def test_every_type_name_is_dotted_lower_case() -> None:
    for name, cls in EVENT_TYPES.items():
        assert name == cls.event_type and name == name.lower() and "." in name
