"""The cursor patterns of openapi.yaml say exactly which cursors the server takes: a cursor
the pattern allows must not be refused (schemathesis' positive_data_acceptance) and one it
forbids must be (negative_data_rejection). The contract test finds a mismatch only by chance;
these compare pattern and parser on the boundaries and on many random strings."""

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from service.eventstore.cursors import Cursor
from service.http.cursors import parse_keyset_cursor, parse_position, parse_thread_cursor
from service.http.problems import Problem

ROOT = Path(__file__).resolve().parents[2]
SPEC = yaml.safe_load((ROOT / "openapi.yaml").read_text())
COMPONENTS = SPEC["components"]


def parameter(name: str) -> str:
    pattern: str = COMPONENTS["parameters"][name]["schema"]["pattern"]
    return pattern


def thread_cursor_pattern() -> str:
    for item in SPEC["paths"]["/v1/sites/{site}/posts/{post}/comments"]["get"]["parameters"]:
        if item.get("name") == "cursor":
            pattern: str = item["schema"]["pattern"]
            return pattern
    raise AssertionError("get_thread has no cursor parameter")


def python(pattern: str) -> str:
    """The ECMA 262 pattern for Python's `re`: there `$` also matches before a final newline."""
    assert pattern.startswith("^") and pattern.endswith("$"), pattern
    return pattern[:-1] + r"\Z"


def takes(parse: Callable[[str], Any], text: str) -> bool:
    try:
        parse(text)
    except (ValueError, Problem):
        return False
    return True


PATTERNS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "event": (python(COMPONENTS["schemas"]["EventCursor"]["pattern"]), Cursor.parse),
    "thread": (python(thread_cursor_pattern()), parse_thread_cursor),
    "keyset": (python(parameter("KeysetCursor")), parse_keyset_cursor),
    "position": (python(parameter("PositionCursor")), parse_position),
}
BIG, EPOCHS = 2**63 - 1, 2**31 - 1
SAMPLES = [
    "0-0\n",
    "1\n",
    "0-0",
    "1-2",
    f"{BIG}-{BIG}",
    f"{BIG + 1}-0",
    f"0-{BIG + 1}",
    f"{10**19}-0",
    "00-0",
    "01-2",
    "1:0-0",
    "0:0-0",
    f"{EPOCHS}:5-6",
    f"{EPOCHS + 1}:5-6",
    "01:5-6",
    "1:2:3-4",
    "",
    "0",
    "9" * 18,
    "9" * 19,
    "1.2",
    "1.",
    ".2",
    "007.008",
    "1714564800123456.post-1",
    "-62135596800000000.a",
    "-0.x",
    "999999999999999999.a.b~c_d",
    "1234567890123456789.a",
    "1.a/b",
    "1." + "a" * 128,
    "1." + "a" * 129,
    "1.é",
    "\u0661-1",
    "1-\u0661",
]


@pytest.mark.parametrize("kind", sorted(PATTERNS))
@pytest.mark.parametrize("text", SAMPLES)
def test_pattern_and_parser_agree_on_boundaries(kind: str, text: str) -> None:
    pattern, parse = PATTERNS[kind]
    assert bool(re.search(pattern, text)) == takes(parse, text)


CURSOR_CHARACTERS = st.sampled_from("0123456789:-.~_aZ9é")


@pytest.mark.parametrize("kind", sorted(PATTERNS))
@given(
    text=st.text(CURSOR_CHARACTERS, max_size=45) | st.from_regex(r"\A-?[0-9]{1,20}\.[a-z.-]{1,5}\Z")
)
def test_pattern_and_parser_agree_on_random_strings(kind: str, text: str) -> None:
    pattern, parse = PATTERNS[kind]
    assert bool(re.search(pattern, text)) == takes(parse, text)


@pytest.mark.parametrize("kind", sorted(PATTERNS))
@given(data=st.data())
def test_every_cursor_the_pattern_allows_is_taken(kind: str, data: st.DataObject) -> None:
    pattern, parse = PATTERNS[kind]
    text = data.draw(st.from_regex(pattern))
    assert takes(parse, text), text
