"""Turning request bytes, query strings and headers into validated values, or a 4xx problem."""

import re
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from service.http.problems import Problem

Model = TypeVar("Model", bound=BaseModel)
JSON_TYPES = ("application/json",)
# `\u0000` after an odd number of backslashes (an even number escapes the backslashes instead).
ESCAPED_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
# A 422's detail names this many problems; its `errors` list is capped by a setting.
DETAIL_ERRORS = 3
LOC_PART_CHARS = 100


async def read_body(request: web.Request, *, required: bool = True) -> bytes:
    """The raw body (aiohttp answers 413 past client_max_size), with its media type checked."""
    try:
        body = await request.read()
    except web.RequestPayloadError as error:
        # E.g. a body that does not decode as its Content-Encoding says. The rest of it cannot
        # be read either, so the connection cannot serve another request.
        reason = getattr(error.__cause__, "message", "it is truncated or malformed")
        detail = f"the body could not be read: {reason}"
        raise Problem(400, detail, headers={"Connection": "close"}) from None
    if not body:
        if required:
            raise Problem(400, "a JSON request body is required")
        return body
    media_type = request.content_type
    if media_type not in JSON_TYPES:
        raise Problem(415, f"send the body as application/json, not {media_type!r}")
    return body


def parse_json(model: type[Model], body: bytes) -> Model:
    # A NUL is refused as malformed input wherever it is, even in a field that would be rejected.
    if b"\x00" in body or ESCAPED_NUL.search(body):
        raise Problem(400, "the body must not contain NUL characters, raw or as \\u0000")
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        problems = error.errors(include_url=False, include_context=False, include_input=False)
        malformed = [e for e in problems if e["type"] in ("json_invalid", "json_type")]
        if malformed:
            raise Problem(400, f"the body is not valid JSON: {malformed[0]['msg']}") from None
        errors = [{"loc": location(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in problems]
        raise Problem(422, summary(errors), errors=errors) from None


def location(loc: tuple[int | str, ...]) -> list[int | str]:
    """A field's path, each name cut short: an unknown field's name is the sender's text."""
    return [
        part
        if isinstance(part, int) or len(part) <= LOC_PART_CHARS
        else part[:LOC_PART_CHARS] + "…"
        for part in loc
    ]


def summary(errors: list[dict[str, Any]]) -> str:
    """The first few problems in words; `errors` has the list (capped when rendered)."""
    shown = "; ".join(
        f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in errors[:DETAIL_ERRORS]
    )
    left = len(errors) - DETAIL_ERRORS
    return shown + (f"; and {left} more" if left > 0 else "")


async def parse_body(request: web.Request, model: type[Model]) -> Model:
    return parse_json(model, await read_body(request))


def query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    values = request.query.getall(name, [])
    if not values:
        return default
    text = values[-1]
    if len(values) > 1 or not text.isascii() or not text.isdigit() or len(text) > 9:
        raise Problem(400, f"{name} must be one integer from {low} to {high}")
    value = int(text)
    if not low <= value <= high:
        raise Problem(400, f"{name} must be from {low} to {high}, not {value}")
    return value


def query_choice(request: web.Request, name: str, choices: tuple[str, ...]) -> str:
    values = request.query.getall(name, [])
    if not values:
        return choices[0]
    if len(values) > 1 or values[0] not in choices:
        raise Problem(400, f"{name} must be one of {', '.join(choices)}")
    return values[0]


def query_text(request: web.Request, name: str, max_length: int = 200) -> str | None:
    values = request.query.getall(name, [])
    if not values:
        return None
    if len(values) > 1 or not values[0] or len(values[0]) > max_length:
        raise Problem(400, f"{name} must be given once, 1 to {max_length} characters")
    return values[0]


def path_label(request: web.Request) -> str:
    """The `{label}` of a path: a 404 when no label can be spelled so, a 400 with a NUL."""
    label = request.match_info["label"]
    if not 1 <= len(label.strip()) <= 50:
        raise Problem(404, "labels are 1 to 50 characters")
    if "\x00" in label:
        raise Problem(400, "the label must not contain NUL bytes")
    return label
