"""Text as readers see it, for the word rules and for names: what a comment's HTML shows, and
one folded form in which look-alike spellings of a word are the same string.

Word rules must not be dodged by spelling a word so that it renders the same but reads
differently to a regular expression: an entity (`v&#105;agra`), emphasis inside a word
(`via**gra**`), a zero-width or bidi control inside it, a compatibility form (fullwidth
letters, the ligature `\ufb01`), or another case (`VIAGRA`, `ß`).
"""

import unicodedata
from html.parser import HTMLParser

# Elements that start a new line when shown: their text is not glued to the text around them.
BLOCKS = frozenset(
    {"p", "br", "pre", "blockquote", "ul", "ol", "li", "hr", "h1", "h2", "h3", "h4", "h5", "h6"}
)


class VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def visible_text(html: str) -> str:
    """The text that `html` (a rendered comment) shows, entities decoded."""
    parser = VisibleText()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)


def without_format_characters(text: str) -> str:
    """`text` without Unicode format characters (category Cf): zero-width spaces and joiners,
    the soft hyphen, the byte-order mark, bidi controls. None of them shows as a letter."""
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


def folded(text: str) -> str:
    """The form word rules compare: NFKC, without format characters, case-folded (and NFKC
    again, as case folding may leave a sequence that composes)."""
    normal = unicodedata.normalize("NFKC", without_format_characters(text))
    return unicodedata.normalize("NFKC", normal.casefold())


def display_name(name: str) -> str:
    """An author's name as it is kept and shown: NFKC, without format characters, with
    whitespace runs made one space and trimmed."""
    normal = unicodedata.normalize("NFKC", without_format_characters(name))
    return " ".join(normal.split())


def mixes_directions(text: str) -> bool:
    """True when `text` holds both left-to-right and right-to-left letters, which the bidi
    algorithm may show in another order than they are stored."""
    classes = {unicodedata.bidirectional(c) for c in text}
    return "L" in classes and bool(classes & {"R", "AL"})
