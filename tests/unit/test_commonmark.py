# ruff: noqa: E501  (the expected HTML, as the previous renderer wrote it, one string per case)
"""The CommonMark renderer (service/write/commonmark.py): the same HTML as the renderer before
it for what people write, raw HTML shown as text, and hostile bodies parsed without error.

The expected HTML below was produced by the previous renderer (markdown-it-py's commonmark
preset, raw HTML and images off, then nh3): comments written before and after read alike.
"""

from html.parser import HTMLParser

import pytest

from service.write.commonmark import MAX_CONTAINERS, MAX_FORMATS
from service.write.rendering import render_markdown

UNBOUNDED = 10**9  # a budget no body reaches: the parser itself is under test

AS_BEFORE = [
    (
        "Hello *world*, **strong** and _em_ and __strong__.",
        "<p>Hello <em>world</em>, <strong>strong</strong> and <em>em</em> and <strong>strong</strong>.</p>",
    ),
    (
        'A [link](https://example.com/a "Title") and <https://example.com/b> and <ann@example.com>.',
        '<p>A <a href="https://example.com/a" title="Title" rel="nofollow ugc noopener">link</a> and <a href="https://example.com/b" rel="nofollow ugc noopener">https://example.com/b</a> and <a href="mailto:ann@example.com" rel="nofollow ugc noopener">ann@example.com</a>.</p>',
    ),
    (
        "Code `x < y && z` inline.\n\n```python\nif a < b:\n    print('&')\n```\n\n    indented code\n",
        "<p>Code <code>x &lt; y &amp;&amp; z</code> inline.</p>\n<pre><code>if a &lt; b:\n    print('&amp;')\n</code></pre>\n<pre><code>indented code\n</code></pre>",
    ),
    (
        "- one\n- two\n  - nested\n- three\n\n1. first\n2. second\n\n3) third\n4) fourth",
        '<ul>\n<li>one</li>\n<li>two\n<ul>\n<li>nested</li>\n</ul>\n</li>\n<li>three</li>\n</ul>\n<ol>\n<li>first</li>\n<li>second</li>\n</ol>\n<ol start="3">\n<li>third</li>\n<li>fourth</li>\n</ol>',
    ),
    (
        "- loose\n\n- items\n\n  with paragraphs",
        "<ul>\n<li>\n<p>loose</p>\n</li>\n<li>\n<p>items</p>\n<p>with paragraphs</p>\n</li>\n</ul>",
    ),
    (
        "> quoted *text*\n> more\n>\n> > nested quote\n\nafter",
        "<blockquote>\n<p>quoted <em>text</em>\nmore</p>\n<blockquote>\n<p>nested quote</p>\n</blockquote>\n</blockquote>\n<p>after</p>",
    ),
    (
        "# Title\n\n## Sub\n\nSetext\n======\n\n---\n\ntext  \nhard break\\\nagain",
        "<h1>Title</h1>\n<h2>Sub</h2>\n<h1>Setext</h1>\n<hr>\n<p>text<br>\nhard break<br>\nagain</p>",
    ),
    (
        "Entities: &copy; &amp; &#42; &#x41; &nbsp; &bogus; 5 < 6 > 4 \"quoted\" 'single'",
        "<p>Entities: © &amp; * A &nbsp; &amp;bogus; 5 &lt; 6 &gt; 4 \"quoted\" 'single'</p>",
    ),
    (
        'An image ![alt *text*](https://example.com/i.png "t") here.',
        '<p>An image !<a href="https://example.com/i.png" title="t" rel="nofollow ugc noopener">alt <em>text</em></a> here.</p>',
    ),
    (
        "Escapes: \\*not em\\* \\[not link\\] \\<b\\> \\\\",
        "<p>Escapes: *not em* [not link] &lt;b&gt; \\</p>",
    ),
    (
        "URL [ü](https://example.com/ä?q=a b) [sp](<https://example.com/a b>) [pct](https://x.example/%41%zz)",
        '<p>URL [ü](https://example.com/ä?q=a b) <a href="https://example.com/a%20b" rel="nofollow ugc noopener">sp</a> <a href="https://x.example/%41%25zz" rel="nofollow ugc noopener">pct</a></p>',
    ),
    (
        'Ref [link][r] and [r] and [R][].\n\n[r]: https://example.com/r "Ref title"',
        '<p>Ref <a href="https://example.com/r" title="Ref title" rel="nofollow ugc noopener">link</a> and <a href="https://example.com/r" title="Ref title" rel="nofollow ugc noopener">r</a> and <a href="https://example.com/r" title="Ref title" rel="nofollow ugc noopener">R</a>.</p>',
    ),
    (
        'Raw <b>bold</b> and <span onclick="x">span</span> and <!-- comment --> end.',
        '<p>Raw &lt;b&gt;bold&lt;/b&gt; and &lt;span onclick="x"&gt;span&lt;/span&gt; and &lt;!-- comment --&gt; end.</p>',
    ),
    (
        "<div>\nblock *html*\n</div>\n\nafter",
        "<p>&lt;div&gt;\nblock <em>html</em>\n&lt;/div&gt;</p>\n<p>after</p>",
    ),
    ("<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"),
    (
        "1. a\n\n   b\n2. c\n\n- [ ] not a task\n* star\n+ plus",
        "<ol>\n<li>\n<p>a</p>\n<p>b</p>\n</li>\n<li>\n<p>c</p>\n</li>\n</ol>\n<ul>\n<li>[ ] not a task</li>\n</ul>\n<ul>\n<li>star</li>\n</ul>\n<ul>\n<li>plus</li>\n</ul>",
    ),
    (
        "Line one\nline two\n\n\n\nparagraph three",
        "<p>Line one\nline two</p>\n<p>paragraph three</p>",
    ),
    (
        "~~not strike~~ | not | table |\n|---|---|",
        "<p>~~not strike~~ | not | table |\n|---|---|</p>",
    ),
    ("Emoji 😀 and CJK 漢字 and RTL שלום", "<p>Emoji 😀 and CJK 漢字 and RTL שלום</p>"),
    (
        "A very **nested *emphasis with `code` inside* here**.",
        "<p>A very <strong>nested <em>emphasis with <code>code</code> inside</em> here</strong>.</p>",
    ),
    ("Trailing spaces   \n", "<p>Trailing spaces</p>"),
    ("    code at the end", "<pre><code>code at the end\n</code></pre>"),
    (
        "- ```\n  fenced in an item",
        "<ul>\n<li>\n<pre><code>fenced in an item</code></pre>\n</li>\n</ul>",
    ),
    ("```\n```", "<pre><code></code></pre>"),
    ("    \n\n  \n", ""),
    ("", ""),
]


@pytest.mark.parametrize(("source", "html"), AS_BEFORE)
def test_normal_markdown_renders_as_before(source: str, html: str) -> None:
    assert render_markdown(source) == html


@pytest.mark.parametrize(
    ("source", "html"),
    [
        ("<b>bold</b>", "<p>&lt;b&gt;bold&lt;/b&gt;</p>"),
        ("a <img src=x onerror=alert(1)> b", "<p>a &lt;img src=x onerror=alert(1)&gt; b</p>"),
        ("<!-- hidden -->", "<p>&lt;!-- hidden --&gt;</p>"),
        (
            "<div>\n*still Markdown*\n</div>",
            ("<p>&lt;div&gt;\n<em>still Markdown</em>\n&lt;/div&gt;</p>"),
        ),
        # The one difference from before: a line opening with a block tag ends the paragraph
        # above it, as in CommonMark (markdown-it went on with the paragraph).
        ("a\n<div>\nb", "<p>a</p>\n<p>&lt;div&gt;\nb</p>"),
        # An unclosed <pre> or <!-- would make the rest of the body an HTML block in
        # CommonMark; here the rest is still Markdown.
        ("<pre>\n\n*x*", "<p>&lt;pre&gt;</p>\n<p><em>x</em></p>"),
        (
            "- <span>item</span>\n- <div>\n  *y*",
            (
                "<ul>\n<li>&lt;span&gt;item&lt;/span&gt;</li>\n"
                "<li>\n<p>&lt;div&gt;\n<em>y</em></p>\n</li>\n</ul>"
            ),
        ),
    ],
)
def test_raw_html_is_shown_as_text(source: str, html: str) -> None:
    assert render_markdown(source) == html


def test_a_link_to_a_script_is_shown_as_typed() -> None:
    assert render_markdown("[x](javascript:alert(1)) [y](data:text/html,hi) [z](mailto:a@b.c)") == (
        "<p>[x](javascript:alert(1)) [y](data:text/html,hi) "
        '<a href="mailto:a@b.c" rel="nofollow ugc noopener">z</a></p>'
    )
    assert render_markdown("[x](JaVaScRiPt:alert(1)) ![i](vbscript:x) \u00e4") == (
        "<p>[x](JaVaScRiPt:alert(1)) ![i](vbscript:x) \u00e4</p>"
    )
    # markdown-it parsed the text inside; shown as typed, all of it, is as harmless.
    assert render_markdown("[*x*](javascript:a)") == "<p>[*x*](javascript:a)</p>"
    # As before: a link to an image's data is a link, whose URL nh3 then drops.
    assert render_markdown("[i](data:image/png;base64,AA)") == (
        '<p><a rel="nofollow ugc noopener">i</a></p>'
    )


class Depth(HTMLParser):
    """The deepest nesting of elements in the HTML, and every attribute seen."""

    VOID = frozenset({"br", "hr"})

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.deepest = 0
        self.attributes: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.attributes += attrs
        if tag not in self.VOID:
            self.open.append(tag)
            self.deepest = max(self.deepest, len(self.open))

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()


def depth(html: str) -> int:
    parser = Depth()
    parser.feed(html)
    parser.close()
    assert parser.open == []
    return parser.deepest


HOSTILE = {
    "brackets": "[" * 10_000,
    "nested links": "[" * 5_000 + "a" + "](b)" * 1_250,
    "images": "![" * 5_000,
    "emphasis": "*" * 5_000 + "x" + "*" * 5_000,
    "emphasis pairs": "**a" * 3_333,
    "quotes": "> " * 5_000,
    "quoted lists": "> - " * 2_500,
    "lists": "+ " * 5_000,
    "ordered lists": "1. " * 3_333,
    "list lines": "".join(" " * (2 * n) + "- a\n" for n in range(300)),
    "references": "".join(f"[r{n}]: /u{n}\n" for n in range(700)) + "[r1] " * 200,
    "reference uses": "[r]: /u\n\n" + "[r]" * 3_000,
    "autolinks": "<http://a.b> " * 769,
    "entities": "&#x41;&amp;&#0;&#99999999;" * 400,
    "nul bytes": "a\x00*b\x00*\x00[c](\x00)" * 600,
    "code": "`a``" * 2_500,
    "html blocks": "<div>\n\n" * 1_428,
    "html inside html": "<div>\n" + "<pre>\n> <div>\n" * 1_000,
    "setext": "a\n=\n" * 2_500,
    "headings": "#\n" * 5_000,
}


@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_bodies_render_bounded_and_safe(body: str) -> None:
    body = body[:10_000]  # the body limit
    for html in (render_markdown(body), render_markdown(body, max_cost=UNBOUNDED)):
        assert "\x00" not in html and "<script" not in html
        # Block containers (quotes, lists, items) and emphasis past the limits are not
        # written: html5ever's time grows with the square of the depth.
        assert depth(html) <= MAX_CONTAINERS + MAX_FORMATS + 3


def test_deep_quotes_keep_their_text() -> None:
    html = render_markdown("> " * 100 + "deep", max_cost=UNBOUNDED)
    assert html.count("<blockquote>") == MAX_CONTAINERS and "deep" in html
