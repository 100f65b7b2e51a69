"""What text any input may hold, whether it comes in an HTTP body or a CLI flag: bounded, free
of NUL and control characters, and (for names, reasons, words) one line."""

import re

from pydantic import AfterValidator, StringConstraints

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
