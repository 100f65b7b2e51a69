"""What text any input may hold, whether it comes in an HTTP body or a CLI flag: bounded, free
of NUL and control characters, and (for names, reasons, words) one line."""

import re

from pydantic import AfterValidator, StringConstraints

from service.domain.text import display_name, mixes_directions

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def no_controls(value: str) -> str:
    if CONTROL.search(value):
        raise ValueError("must not contain NUL or other control characters")
    return value


def single_line(value: str) -> str:
    if "\n" in value or "\r" in value or "\t" in value:
        raise ValueError("must be a single line")
    return value


def line(max_length: int) -> tuple[object, ...]:
    return (
        StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length),
        AfterValidator(no_controls),
        AfterValidator(single_line),
    )


EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def email(value: str) -> str:
    if not EMAIL.fullmatch(value):
        raise ValueError("must be an email address")
    return value


NAME_MAX_LENGTH = 100


def author_name(value: str) -> str:
    """A name as it is kept and shown (see domain/text.py): it must still say something, and
    must not mix left-to-right and right-to-left letters, which can show in another order
    than written (a name that reads as someone else's)."""
    name = display_name(value)
    if not name:
        raise ValueError("must not be blank once invisible characters are removed")
    if len(name) > NAME_MAX_LENGTH:  # NFKC may lengthen it: one ligature can become 18
        raise ValueError(f"must be at most {NAME_MAX_LENGTH} characters once normalised")
    if mixes_directions(name):
        raise ValueError("must not mix left-to-right and right-to-left letters")
    return name
