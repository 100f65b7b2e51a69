"""Rendering, as a property: for any body, Markdown or not, over the budget or not, rendering
never raises and its HTML is sanitised (no script, no handler, no URL but http(s) and mailto,
every link `rel="nofollow ugc noopener"`), and an over-budget body's HTML is exactly what nh3
would make of its text."""

import re

from hypothesis import given
from hypothesis import strategies as st

from service.write.rendering import as_sanitised, plain_text, render_markdown, sanitise
from tests.http.test_bad_input import Markup

MARKDOWN = st.sampled_from(
    [
        "[", "]", "(", ")", "![", "](", "*", "**", "_", "`", "```\n", "<", ">", "&", "&amp;",
        "&#0;", "&#x41;", "\\", "\n", "\n\n", "  \n", "- ", "+ ", "1. ", "2) ", "> ", "# ",
        "---\n", "    ", "\t", "\x00", "\r", "\xa0", "<a href=javascript:x>", "<script>",
        "</div>", "<div>\n", "<!--", "-->", "<pre>", "onerror=alert(1)", "javascript:",
        "JaVaScRiPt:", "data:text/html,", "http://a.example/", "<http://a.b>", "<a@b.c>",
        "mailto:a@b.c", "[a]: ", '"t"', "word ", "a", "\u202e", "😀",
    ]
)  # fmt: skip
BODIES = st.lists(MARKDOWN | st.text(max_size=5), max_size=60).map("".join) | st.text()


def assert_sanitised(html: str) -> None:
    assert "<script" not in html.lower()
    markup = Markup()
    markup.feed(html)
    for tag, attributes in markup.tags:
        assert tag not in {"script", "iframe", "img", "object", "embed", "svg", "style"}
        for name, value in attributes:
            assert not name.startswith("on")
            if name == "href":
                url = re.sub(r"[\s\x00-\x1f]", "", value or "").lower()
                scheme = re.match(r"([a-z][a-z0-9+.-]*):", url)
                assert scheme is None or scheme[1] in {"http", "https", "mailto"}
        if tag == "a":
            assert ("rel", "nofollow ugc noopener") in attributes


@given(BODIES, st.sampled_from([0, 100, 4_000, 10**9]))
def test_any_body_renders_sanitised(body: str, max_cost: int) -> None:
    assert_sanitised(render_markdown(body, max_cost))


@given(BODIES)
def test_over_the_budget_the_text_is_what_nh3_would_give(body: str) -> None:
    assert as_sanitised(plain_text(body)) == sanitise(plain_text(body))
    assert render_markdown(body, max_cost=-1) == sanitise(plain_text(body))
