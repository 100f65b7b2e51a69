"""Label normalisation, shared by the write side, the read model and the queries."""

import unicodedata


def display_label(label: str) -> str:
    return unicodedata.normalize("NFC", label.strip())


def label_key(label: str) -> str:
    """Labels that differ only in case, surrounding space or Unicode form are one label.

    Unicode's canonical caseless match: casefold the decomposed form (a composed character
    may have no composed capital), then compose again.
    """
    decomposed = unicodedata.normalize("NFD", label.strip())
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", decomposed.casefold()))


def unique_labels(labels: list[str]) -> tuple[str, ...]:
    """Trimmed labels, first spelling of each key kept, order kept."""
    seen: dict[str, str] = {}
    for label in labels:
        seen.setdefault(label_key(label), display_label(label))
    return tuple(seen.values())
