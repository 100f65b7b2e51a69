from html import unescape
from html.parser import HTMLParser

import pytest

from service.write.rendering import MAX_COST, markdown_cost, render_markdown


class Elements(HTMLParser):
    """Collects the elements and attributes a browser would build from the HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Elements()
    parser.feed(html)
    return parser.found


def test_markdown_is_rendered() -> None:
    assert render_markdown("a *b* **c**") == "<p>a <em>b</em> <strong>c</strong></p>"


def test_links_get_rel_nofollow_ugc_noopener() -> None:
    html = render_markdown("[site](https://example.com)")
    assert 'href="https://example.com"' in html and 'rel="nofollow ugc noopener"' in html


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[x](javascript:alert(1))",
        "<iframe src=https://evil.example></iframe>",
        "<a href=javascript:alert(1)>x</a>",
        '<div onclick="alert(1)">x</div>',
        "[x](JaVaScRiPt:alert(1))",
        "<svg onload=alert(1)>",
    ],
)
def test_nothing_executable_survives(hostile: str) -> None:
    for tag, attributes in elements(render_markdown(hostile)):
        assert tag in {"p", "a"}
        assert not any(name.startswith("on") for name in attributes)
        assert not (attributes.get("href") or "").lower().startswith("javascript:")


# --- the render budget (issue 11) -------------------------------------------------------------

LONG_COMMENT = "\n\n".join(
    f"Paragraph {n}: I *really* think [this post](https://example.com/{n}) makes a `good` point, "
    "but the second half could say more about why the numbers look the way they do."
    for n in range(60)
)[:10_000]


@pytest.mark.parametrize(
    "hostile",
    [
        "[" * 10_000,
        "![" * 5_000,
        "*a" * 5_000,
        "1. a\n" * 2_000,
        "<http://a.b> " * 769,
        "a\n" * 5_000,
    ],
)
def test_a_body_over_the_budget_is_shown_as_its_text(hostile: str) -> None:
    assert markdown_cost(hostile) > MAX_COST
    html = render_markdown(hostile)
    assert html.startswith("<p>") and "<a" not in html and "<em>" not in html and "<li>" not in html
    assert unescape(html.replace("<p>", "").replace("</p>", "\n\n")).strip() == hostile.strip()


def test_a_long_normal_comment_keeps_its_markdown() -> None:
    assert len(LONG_COMMENT) == 10_000
    # A formatted phrase in every sentence, for 10,000 characters: well within the budget.
    assert markdown_cost(LONG_COMMENT) < MAX_COST * 0.6
    html = render_markdown(LONG_COMMENT)
    assert html.count("<em>") == 60 and html.count('rel="nofollow ugc noopener"') >= 59


def test_the_cost_is_linear_in_the_body() -> None:
    for unit in ("[", "a\n", "*_", "word "):
        assert markdown_cost(unit * 2000) == 2 * markdown_cost(unit * 1000)


def test_the_budget_is_a_parameter() -> None:
    assert render_markdown("*a*", max_cost=0) == "<p>*a*</p>"
    assert render_markdown("*a*", max_cost=100) == "<p><em>a</em></p>"


def test_plain_text_is_escaped_and_split_into_paragraphs() -> None:
    assert render_markdown("<b>x</b> & y\n\n\n\nz", max_cost=0) == (
        "<p>&lt;b&gt;x&lt;/b&gt; &amp; y</p>\n<p>z</p>"
    )
