"""Markdown to safe HTML, once, when a comment is written.

markdown-it-py costs time in proportion to what it parses, but not evenly: plain words are
cheap, while each bracket, emphasis mark or line costs it many times more (ten thousand `[`
took 0.13 s on the reference machine, ten thousand letters 0.3 ms). Before rendering, a linear
count estimates that cost; a body over the budget is shown as the text it is (escaped, in
paragraphs), which bounds every render, deterministically, and leaves normal comments as
they were: 10,000 characters with emphasis, a link and code in every sentence cost about half
the default budget, plain prose a twelfth of it.
"""

from html import escape

import nh3
from markdown_it import MarkdownIt

from service.settings import Settings

# Raw HTML in a comment is shown as text; links and images come only from Markdown syntax.
MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False}).disable("image")

ALLOWED_TAGS = {
    "p",
    "br",
    "em",
    "strong",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "hr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}

MAX_COST: int = Settings.model_fields["markdown_max_cost"].default
# What a character costs markdown-it-py, in units of about a microsecond on the reference
# machine (bench/markdown_fuzz.py measures it). Letters and most punctuation are almost free:
# its text rule skips them in one step; these stop it, and some start costly searches.
COSTS = {
    "[": 13,
    "*": 11,
    "_": 11,
    "\n": 25,
    "`": 12,
    "<": 14,
    "!": 2,
    "#": 2,
    "&": 4,
    ":": 2,
    "\\": 2,
    "]": 2,
    '"': 1,
    "=": 2,
    "-": 2,
    ">": 2,
}


def markdown_cost(source: str) -> int:
    """The estimated cost of rendering `source`, in COSTS' units; linear, and cheap to count."""
    return len(source) // 8 + sum(source.count(mark) * cost for mark, cost in COSTS.items())


def render_markdown(source: str, max_cost: int = MAX_COST) -> str:
    """Render Markdown and sanitise it: no scripts, handlers, iframes or non-http(s) links.
    A body that would cost more than `max_cost` to parse is rendered as plain text."""
    html = MARKDOWN.render(source) if markdown_cost(source) <= max_cost else plain_text(source)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow ugc noopener",
        strip_comments=True,
    ).strip()


def plain_text(source: str) -> str:
    """The text as it was typed: escaped, one paragraph per run of lines."""
    paragraphs = (part.strip("\n") for part in source.replace("\r\n", "\n").split("\n\n"))
    return "".join(f"<p>{escape(part, quote=False)}</p>\n" for part in paragraphs if part.strip())
