from html.parser import HTMLParser

import pytest

from service.write.rendering import render_markdown


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
