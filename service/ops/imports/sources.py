"""What the formats share once read: times, author websites and the two kinds of bodies."""

import html
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import nh3

from service.ops.imports.records import BadSource
from service.write.rendering import render_markdown, sanitise

BLOCK = re.compile(r"<(p|div|ul|ol|blockquote|pre|h[1-6])[\s>]", re.IGNORECASE)
BREAK = re.compile(r"<br\s*/?>|</p>|</div>|</li>|</h[1-6]>|</blockquote>", re.IGNORECASE)


def parse_time(value: str, source_id: str = "") -> datetime:
    """ISO 8601 (Atom, Disqus, WXR's `2024-05-01 08:00:00`) or RFC 2822 (RSS); a time
    without an offset is UTC."""
    value = value.strip()
    try:
        found = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            found = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            raise BadSource(f"{source_id or 'an entry'} has no readable time: {value!r}") from None
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)


def from_timestamp(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def website(value: str | None) -> str | None:
    """An author's link, kept only when it is an http(s) URL."""
    value = (value or "").strip()
    return value if re.match(r"https?://[^\s]+$", value) else None


def html_body(source: str, paragraphs: bool = False) -> tuple[str, str]:
    """(text, HTML) of a body kept as HTML: sanitised as a comment's rendered Markdown is, and
    put in a paragraph when it has no block of its own. `paragraphs` turns blank lines into
    paragraphs and line breaks into `<br>` first, as WordPress shows its comments."""
    if paragraphs and not BLOCK.search(source):
        parts = (part.strip() for part in re.split(r"\n\s*\n", source.replace("\r\n", "\n")))
        source = "".join(f"<p>{part.replace(chr(10), '<br>')}</p>" for part in parts if part)
    cleaned = sanitise(source)
    if cleaned and not BLOCK.search(cleaned):
        cleaned = f"<p>{cleaned}</p>"  # inline content only: still what the sanitiser gave
    return text_of(cleaned), cleaned


def text_of(body_html: str) -> str:
    """The words of sanitised HTML, a line per block or break."""
    lines = BREAK.sub("\n", body_html)
    return html.unescape(nh3.clean(lines, tags=set())).strip()


def markdown_body(source: str) -> tuple[str, str]:
    """(text, HTML) of a body written in Markdown (Isso's), rendered as a new comment's is."""
    return source, render_markdown(source)
