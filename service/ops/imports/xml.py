"""Reading an XML export as a stream, safely.

`defusedxml` refuses a document type declaration outright (and with it every entity
expansion and external entity: the billion laughs, `file:///etc/passwd`), and elements are
dropped from the tree as soon as they are read, so a file of any size is read in the memory
of one of its entries.
"""

from collections.abc import Iterator
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from service.ops.imports.records import BadSource


def local(tag: str) -> str:
    """An element's name without its namespace."""
    return tag.rpartition("}")[2]


def entries(path: Path, depth: int, names: set[str]) -> Iterator[Element]:
    """The complete elements named `names` (namespaced, `{uri}name`) found `depth` levels
    below the root, each forgotten once the caller has it."""
    stack: list[Element] = []
    try:
        for event, element in iterparse(str(path), events=("start", "end"), forbid_dtd=True):
            if event == "start":
                stack.append(element)
                continue
            stack.pop()
            level = len(stack)
            if 1 <= level <= depth:
                if level == depth and element.tag in names:
                    yield element
                # Whatever the caller wanted of it, it has: the tree keeps nothing of it.
                element.clear()
                stack[-1].remove(element)
    except DefusedXmlException as error:
        raise BadSource(f"refused: {type(error).__name__} ({error})") from None
    except ParseError as error:
        raise BadSource(f"not well-formed XML: {error}") from None


def text(element: Element | None, default: str = "") -> str:
    if element is None or element.text is None:
        return default
    return element.text.strip()
