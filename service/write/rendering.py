"""Markdown to safe HTML, once, when a comment is written.

The parser is pulldown-cmark (compiled, through pyromark; `commonmark.py` writes the HTML from
its events): linear in the body, about a microsecond for each element it finds. Plain words
cost almost nothing; an emphasis mark, a link, a line or a list marker is an element or a few.
Before rendering, a linear count of the characters that can start one estimates the cost from
above; a body over the budget is shown as the text it is (escaped, in paragraphs), which bounds
every render, deterministically. Normal comments are below it: 10,000 characters with
emphasis, a link and code in every sentence cost about 2,300 of the default 4,000 units (and
take about a millisecond), 10,000 characters of prose about 1,250.
"""

from html import escape

import nh3

from service.settings import Settings
from service.write.commonmark import CommonMark

# Raw HTML in a comment is shown as text; links come only from Markdown syntax, images are
# shown as links to them.
MARKDOWN = CommonMark()

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
# What a character can cost the render (parse, HTML writer and nh3), in units of about a
# microsecond on the reference machine: about the most each has been measured to cost, per
# character, in runs of it (bench/markdown_fuzz.py prints the measured time per unit). Letters,
# digits and spaces cost nothing worth counting; these start a link, an emphasis, a code span,
# an entity, a line or a quote.
COSTS = {
    "[": 9,
    "<": 10,
    "*": 3,
    "_": 3,
    "\n": 3,
    "`": 3,
    ">": 3,
    "&": 2,
    "#": 3,
    "-": 1,
    "+": 1,
    ".": 1,
    ")": 1,
}
# A list marker opens a list and an item, four elements, and markers nest on one line
# (`- - - a`, `1. 1. a`): each mark followed by a space or tab counts 4 more (`str.count` of
# them is ten times faster than a regular expression that would look for digits first).
LIST_MARKERS = tuple(mark + space for mark in "-+*.)" for space in " \t")
LIST_MARKER_COST = 4


def markdown_cost(source: str) -> int:
    """The estimated cost of rendering `source`, in COSTS' units; linear, and cheap to count."""
    marks = sum(source.count(mark) * cost for mark, cost in COSTS.items())
    return marks + sum(source.count(marker) for marker in LIST_MARKERS) * LIST_MARKER_COST


def render_markdown(source: str, max_cost: int = MAX_COST, cost: int | None = None) -> str:
    """Render Markdown and sanitise it: no scripts, handlers, iframes or non-http(s) links.
    A body that would cost more than `max_cost` to parse is rendered as plain text. `cost` is
    markdown_cost(source), when the caller counted it already."""
    if (markdown_cost(source) if cost is None else cost) > max_cost:
        return as_sanitised(plain_text(source))
    return sanitise(MARKDOWN.render(source))


# Made once: `nh3.clean` builds its rules from these sets on every call, which took three
# quarters of a short comment's sanitising.
CLEANER = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    url_schemes={"http", "https", "mailto"},
    link_rel="nofollow ugc noopener",
    strip_comments=True,
)


def sanitise(html: str) -> str:
    return CLEANER.clean(html).strip()


def plain_text(source: str) -> str:
    """The text as it was typed: escaped, one paragraph per run of lines."""
    paragraphs = (part.strip("\n") for part in source.replace("\r\n", "\n").split("\n\n"))
    return "".join(f"<p>{escape(part, quote=False)}</p>\n" for part in paragraphs if part.strip())


def as_sanitised(paragraphs: str) -> str:
    """`plain_text`'s HTML as `sanitise` would give it back, without parsing it: nh3 takes about
    a microsecond for each `&` or `<` in a text, ten milliseconds for a body of them, which an
    over-budget body must not cost. Escaped text in paragraphs is safe already; what remains is
    how html5ever writes it (NUL dropped, CR read as LF, no-break space as `&nbsp;`), which
    tests/unit/test_rendering.py checks against nh3 for any text."""
    return (
        paragraphs.replace("\x00", "")
        .replace("\r\n", "\n")
        .replace("\r", "\n")
        .replace("\xa0", "&nbsp;")
        .strip()
    )
