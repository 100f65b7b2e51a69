"""Saying what is wrong with a value an operator gave (a THREADLOG_* variable, an option) in
one line of their own words: never pydantic's messages, which name its types and link to its
documentation."""

from collections.abc import Callable

from pydantic import ValidationError

READABLE = {
    "int_parsing": "is not a whole number",
    "int_from_float": "is not a whole number",
    "int_type": "is not a whole number",
    "float_parsing": "is not a number",
    "bool_parsing": "is not true or false",
    "finite_number": "is not a finite number",
    "string_too_long": "is too long",
    "string_too_short": "is too short",
    "too_long": "has too many items",
}
BOUNDS = {
    "greater_than_equal": ("ge", "must be at least"),
    "greater_than": ("gt", "must be more than"),
    "less_than_equal": ("le", "must be at most"),
    "less_than": ("lt", "must be less than"),
}


SECRETS = frozenset({"smtp_url", "token_key", "kek", "previous_keks", "metrics_token"})


def problems(error: ValidationError, name: Callable[[str], str]) -> str:
    """Each invalid value as `NAME=value what-it-should-be`, joined by "; "; `name` turns a
    field into what the operator typed (an environment variable, an option)."""
    lines = []
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else ""
        limits = problem.get("ctx") or {}
        kind = problem["type"]
        if kind in READABLE:
            what = READABLE[kind]
        elif kind in BOUNDS:
            limit, words = BOUNDS[kind]
            what = f"{words} {limits[limit]}"
        elif kind == "enum":
            what = f"must be one of {limits.get('expected', 'the choices in --help')}"
        else:
            what = "is not valid here"
        # A secret's value (a URL with a password, a key) is never printed.
        shown = "(hidden)" if field in SECRETS else problem.get("input")
        lines.append(f"{name(field)}={shown!s} {what}")
    return "; ".join(lines)


def environment_variable(field: str) -> str:
    return "DATABASE_URL" if field == "database_url" else f"THREADLOG_{field.upper()}"


def setting_problem(error: ValidationError) -> str:
    """A bad THREADLOG_* value (or several), in one line."""
    return problems(error, environment_variable) + " (see the settings table in README, Operating)"


# The options of `sites set` whose names differ from the settings' fields.
OPTIONS = {"rate_limit_per_minute": "--rate-limit", "edit_window_minutes": "--edit-window"}


def option_problem(error: ValidationError) -> str:
    """A bad option value of `sites set`, in one line."""
    return problems(error, lambda field: OPTIONS.get(field, "--" + field.replace("_", "-")))
