"""A change to a site's moderation settings, as a moderator (HTTP) or an operator (CLI) may
make it: only the fields given change, each within bounds."""

from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
)

from service.access.text import email, line
from service.domain.policy import MailLanguage, NotifyOn, Premoderation, SiteSettings

Word = Annotated[str, *line(100)]

# As an author's email is read (http/schemas.py's Email).
Address = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=254), AfterValidator(email)
]


def whole(value: object) -> object:
    """`426.0` as 426: JSON Schema (so the contract) counts a number with a zero fraction as
    an integer. Anything else stays as sent for the strict check (no strings, no booleans)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Count = Annotated[int, BeforeValidator(whole), Strict()]


class SettingsChange(BaseModel):
    """Every field is optional: only those given change."""

    # The CLI prints validation errors under this title; it is the name the HTTP body had.
    model_config = ConfigDict(extra="forbid", frozen=True, title="SettingsBody")

    premoderation: Premoderation | None = None
    banned_words: list[Word] | None = Field(default=None, max_length=500)
    suspect_words: list[Word] | None = Field(default=None, max_length=500)
    report_threshold: Annotated[Count, Field(ge=1, le=1000)] | None = None
    rate_limit_per_minute: Annotated[Count, Field(ge=0, le=10_000)] | None = None
    edit_window_minutes: Annotated[Count, Field(ge=0, le=10_080)] | None = None
    close_after_days: Annotated[Count, Field(ge=1, le=36_500)] | None = None
    notify_emails: list[Address] | None = Field(default=None, max_length=20)
    notify_on: NotifyOn | None = None
    notify_digest: Annotated[bool, Strict()] | None = None
    mail_language: MailLanguage | None = None

    def changes(self) -> dict[str, object]:
        """The fields the change named; an explicit null puts a field back to its default."""
        given = self.model_dump(exclude_unset=True)
        for name, value in given.items():
            if value is None:
                given[name] = SiteSettings.model_fields[name].get_default()
            elif name in ("banned_words", "suspect_words", "notify_emails"):
                given[name] = tuple(value)
        return given
