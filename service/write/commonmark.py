"""CommonMark to HTML, with the HTML a comment holds shown as its text.

pulldown-cmark (through pyromark, compiled) parses in time linear in the body, brackets and
emphasis included; its own HTML writer passes raw HTML through, as CommonMark requires, so
this module writes the HTML from its events instead. The output is what markdown-it-py's
"commonmark" preset gave with raw HTML off and images off (the service's renderer before),
so comments written before and after read the same:

- raw HTML, inline or a block, is shown as the text it is: a block's lines are parsed again
  as Markdown with their leading `<` escaped, as if HTML blocks did not exist (once: inside
  that, a block is shown as plain text, which bounds the work at two parses);
- an image is shown as `!` followed by a link to it;
- a link whose URL starts with `javascript:`, `vbscript:`, `file:` or `data:` (other than
  `data:image/...`) is shown as it was typed, without a link;
- URLs are percent-encoded as markdown-it does (what is already encoded stays so).

Sanitising is not done here: `rendering.py` passes the result through nh3, always.
"""

import re
from collections.abc import Iterator
from html import escape
from typing import Any
from urllib.parse import quote

import pyromark

# The characters markdown-it (mdurl) leaves as they are in a URL; `%` followed by two hex
# digits is kept too, a lone `%` is encoded.
URL_SAFE = ";/?:@&=+$,-_.!~*'()#"
ENCODED = re.compile(r"%[0-9A-Fa-f]{2}")
BAD_SCHEME = re.compile(r"^(vbscript|javascript|file|data):")
GOOD_DATA = re.compile(r"^data:image/(gif|png|jpeg|webp);")
PLAIN_URL = re.compile(r"[A-Za-z0-9;/?:@&=+$,\-_.!~*'()#]*")
HTML_LINE_START = re.compile(r"^( {0,3})<", re.MULTILINE)

# Past these depths an element's content is still shown but the element is not: html5ever (in
# nh3) takes time quadratic in the nesting, and nobody quotes a quote twenty levels deep.
MAX_CONTAINERS = 20
MAX_FORMATS = 20
CONTAINER_CLOSERS = {"</blockquote>\n", "</ul>\n", "</ol>\n", "</li>\n"}
FORMAT_CLOSERS = {"</em>", "</strong>"}
HTML_BLOCK = "html block"  # the closer of an HTML block, compared by identity

HEADINGS = {f"H{level}": f"h{level}" for level in range(1, 7)}


def normalize_url(url: str) -> str:
    """Percent-encode `url` the way markdown-it does, keeping valid escapes."""
    if PLAIN_URL.fullmatch(url):
        return url
    pieces: list[str] = []
    last = 0
    for match in ENCODED.finditer(url):
        pieces.append(quote(url[last : match.start()], safe=URL_SAFE))
        pieces.append(match.group())
        last = match.end()
    pieces.append(quote(url[last:], safe=URL_SAFE))
    return "".join(pieces)


def link_url(link: dict[str, Any]) -> str:
    """The URL a link or image of pulldown-cmark's points to, as it will be written."""
    url: str = link["dest_url"]
    return normalize_url("mailto:" + url if link["link_type"] == "Email" else url)


def allowed_url(url: str) -> bool:
    lowered = url.strip().lower()
    return not BAD_SCHEME.match(lowered) or bool(GOOD_DATA.match(lowered))


class CommonMark:
    """The renderer, as an object: tests and the benchmark count or time its calls."""

    def render(self, source: str) -> str:
        return to_html(source)


def to_html(source: str) -> str:
    """The HTML of the CommonMark `source`, raw HTML shown as text (not yet sanitised)."""
    source = source.replace("\x00", "\ufffd")
    parts: list[str] = []
    if write(pyromark.events(source), parts, nested=False, stop_at_refusal=True):
        # A link was refused. Rarely so: only then parse again, with each event's place in
        # the source, to show such links as they were typed.
        parts.clear()
        write(refused_links_as_typed(source), parts, nested=False)
    return "".join(parts)


def refused_links_as_typed(source: str) -> Iterator[Any]:
    """The events of `source`, each refused link or image (and all inside it) replaced by
    the text it was typed as."""
    encoded = source.encode()
    events = pyromark.events_with_range(source, merge_text=True)
    for event, span in events:
        start = event.get("Start") if isinstance(event, dict) else None
        target = start.get("Link") or start.get("Image") if isinstance(start, dict) else None
        if target is None or allowed_url(link_url(target)):
            yield event
            continue
        yield {"Text": encoded[span["start"] : span["end"]].decode()}
        depth = 1
        for inner, _ in events:
            if isinstance(inner, dict) and ("Start" in inner or "End" in inner):
                depth += 1 if "Start" in inner else -1
            if depth == 0:
                break


def write(
    events: Iterator[Any], parts: list[str], nested: bool, stop_at_refusal: bool = False
) -> bool:
    """Append the HTML of `events` to `parts`; tell whether a link was refused for its URL
    (and stop there, with `stop_at_refusal`).
    Every element opened is closed by popping its closer, so an element left unwritten (past
    a depth limit, or a link inside a link) closes as nothing and the tags always balance."""
    refused = False
    out = parts.append
    closers: list[str] = []
    containers = 0  # block quotes, lists and items written, open
    formats = 0  # emphasis and strong written, open
    links = 0  # links and images open
    html_block: list[str] = []
    indented_code = False
    for event in events:
        if event.__class__ is str:
            if event == "SoftBreak":
                out("\n")
            elif event == "HardBreak":
                out("<br />\n")
            elif event == "Rule":
                block_start(parts)
                out("<hr />\n")
            continue
        ((kind, value),) = event.items()
        if kind == "Text":
            if closers and closers[-1] is HTML_BLOCK:
                html_block.append(value)
            else:
                out(escape(value, quote=False))
        elif kind == "End":
            closer = closers.pop()
            if closer in CONTAINER_CLOSERS:
                containers -= 1
                if closer == "</blockquote>\n" and parts[-1] == "<blockquote>\n":
                    parts[-1] = "<blockquote>"
            elif closer in FORMAT_CLOSERS:
                formats -= 1
            elif value == "Link" or value == "Image":
                links -= 1
            elif closer == "</code></pre>\n":
                # markdown-it ends an indented code block with a line break, even at the end
                # of the body (a fenced one it leaves as it is).
                if indented_code and not parts[-1].endswith("\n"):
                    out("\n")
            elif closer is HTML_BLOCK:
                block_start(parts)
                html_as_markdown("".join(html_block), parts, nested)
                html_block.clear()
                continue
            out(closer)
        elif kind == "Start":
            if value.__class__ is str:
                if value == "Paragraph":
                    block_start(parts)
                    out("<p>")
                    closers.append("</p>\n")
                elif value == "Item":
                    if containers < MAX_CONTAINERS:
                        containers += 1
                        block_start(parts)
                        out("<li>")
                        closers.append("</li>\n")
                    else:
                        closers.append("\n")
                elif value == "Emphasis" or value == "Strong":
                    if formats < MAX_FORMATS:
                        formats += 1
                        tag = "em" if value == "Emphasis" else "strong"
                        out(f"<{tag}>")
                        closers.append(f"</{tag}>")
                    else:
                        closers.append("")
                elif value == "HtmlBlock":
                    closers.append(HTML_BLOCK)
                else:
                    closers.append("")
                continue
            ((name, detail),) = value.items()
            if name == "Link" or name == "Image":
                url = link_url(detail)
                if name == "Image":
                    out("!")
                if links:
                    closers.append("")
                elif allowed_url(url):
                    title = detail["title"]
                    titled = f' title="{escape(title)}"' if title else ""
                    out(f'<a href="{escape(url)}"{titled}>')
                    closers.append("</a>")
                else:
                    refused = True
                    if stop_at_refusal:
                        return True
                    closers.append("")
                links += 1
            elif name == "Heading":
                block_start(parts)
                tag = HEADINGS[detail["level"]]
                out(f"<{tag}>")
                closers.append(f"</{tag}>\n")
            elif name == "CodeBlock":
                indented_code = detail == "Indented"
                block_start(parts)
                out("<pre><code>")
                closers.append("</code></pre>\n")
            elif containers >= MAX_CONTAINERS:
                closers.append("")
            elif name == "List":
                containers += 1
                block_start(parts)
                if detail is None:
                    out("<ul>\n")
                    closers.append("</ul>\n")
                else:
                    out("<ol>\n" if detail == 1 else f'<ol start="{detail}">\n')
                    closers.append("</ol>\n")
            elif name == "BlockQuote":
                containers += 1
                block_start(parts)
                out("<blockquote>\n")
                closers.append("</blockquote>\n")
            else:
                closers.append("")
        elif kind == "Code":
            out(f"<code>{escape(value, quote=False)}</code>")
        elif kind == "InlineHtml":
            out(escape(value, quote=False))
        elif kind == "Html":
            html_block.append(value)
    return refused


def block_start(parts: list[str]) -> None:
    """A block opened right after inline content (a tight list item's text) starts a line."""
    if parts and not parts[-1].endswith("\n"):
        parts.append("\n")


def html_as_markdown(text: str, parts: list[str], nested: bool) -> None:
    if nested:
        paragraph = escape(text.strip("\n"), quote=False)
        parts.append(f"<p>{paragraph}</p>\n")
        return
    write(pyromark.events(HTML_LINE_START.sub(r"\1\\<", text)), parts, nested=True)
