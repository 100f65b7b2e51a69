"""A site's moderation policy and the ordered checks every new comment goes through.

The checks are pure: what needs the database or the clock (the rate-limit counter, the time,
the author's hashes, the bans that match them) is looked up before and handed in.
"""

import re
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field

from service.domain.text import folded, visible_text


class Premoderation(StrEnum):
    OFF = "off"
    ALL = "all"
    FIRST_TIME = "first-time"
    LINKS = "links"


class HoldReason(StrEnum):
    PREMODERATION = "premoderation"
    FIRST_TIME = "first-time"
    LINKS = "links"
    SUSPECT_WORD = "suspect-word"
    SPAM = "spam"
    REPORTS = "reports"
    BANNED = "banned"


class NotifyOn(StrEnum):
    """What mails the site's moderators (`notify_emails`): held comments, held and reported
    ones, or every new comment besides."""

    HELD = "held"
    REPORTED = "reported"
    ALL = "all"


class MailLanguage(StrEnum):
    EN = "en"
    NL = "nl"


class SiteSettings(BaseModel):
    """What a moderator sets for a site; the defaults hold until the first change."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    premoderation: Premoderation = Premoderation.OFF
    banned_words: tuple[str, ...] = ()
    suspect_words: tuple[str, ...] = ()
    report_threshold: int = Field(default=3, ge=1)
    # Comments a minute from one client; 0 turns the limit off (benchmarks, trusted importers),
    # None takes the server's default (THREADLOG_DEFAULT_RATE_LIMIT_PER_MINUTE).
    rate_limit_per_minute: int | None = Field(default=None, ge=0)
    # 0 turns author edits off.
    edit_window_minutes: int = Field(default=15, ge=0)
    # None: threads stay open until a moderator closes them.
    close_after_days: int | None = Field(default=None, ge=1)
    # Moderation mail (when the server has mail on): who gets it, for what, and whether as
    # one digest a day; the language of the site's mail.
    notify_emails: tuple[str, ...] = ()
    notify_on: NotifyOn = NotifyOn.HELD
    notify_digest: bool = False
    mail_language: MailLanguage = MailLanguage.EN


LINK = re.compile(r"https?://|www\.|<a\s", re.IGNORECASE)


def word_core(word: str) -> str:
    return r"\w*".join(re.escape(folded(part)) for part in word.strip().split("*"))


@lru_cache(maxsize=4096)
def word_pattern(word: str) -> re.Pattern[str]:
    """`spam*` matches spam, spammer; `*bad*` any word holding "bad"; whole words otherwise,
    in the folded form (see domain/text.py). Only `*` is special."""
    return re.compile(r"(?<!\w)" + word_core(word) + r"(?!\w)")


@lru_cache(maxsize=256)
def any_word_pattern(words: tuple[str, ...]) -> re.Pattern[str] | None:
    """One pattern for a whole list, tried only where a word starts: a text that holds none
    of the words (nearly every comment) costs one pass."""
    cores = [word_core(word) for word in words if word.strip("* \t")]
    return re.compile(r"(?<!\w)(?:" + "|".join(cores) + r")(?!\w)") if cores else None


def readable(body: str, body_html: str, *more: str) -> tuple[str, ...]:
    """What word rules read of a comment: the text it shows (Markdown and entities undone),
    its Markdown source (link targets are in it) and `more` (the author's name)."""
    return (visible_text(body_html), body, *more)


def first_match(words: tuple[str, ...], *texts: str) -> str | None:
    """The first of `words` that one of `texts` holds, both compared folded."""
    combined = any_word_pattern(words)
    forms = [folded(text) for text in texts]
    if combined is None or not any(combined.search(form) for form in forms):
        return None
    for word in words:
        if not word.strip("* \t"):
            continue
        pattern = word_pattern(word)
        if any(pattern.search(form) for form in forms):
            return word
    return None


def has_link(body: str, body_html: str, website: str | None = None) -> bool:
    """A link in the comment, or the author's website (shown as a link with their name)."""
    return bool(website or LINK.search(folded(body)) or "<a " in body_html)


def thread_closed(
    closed: bool, published_at: datetime, settings: SiteSettings, at: datetime
) -> bool:
    if closed:
        return True
    days = settings.close_after_days
    return days is not None and at >= published_at + timedelta(days=days)


def content_hold(
    settings: SiteSettings,
    body: str,
    body_html: str,
    name: str,
    website: str | None,
    known_author: bool,
) -> HoldReason | None:
    """The last check: the pre-moderation policy, then the suspect words."""
    match settings.premoderation:
        case Premoderation.ALL:
            return HoldReason.PREMODERATION
        case Premoderation.FIRST_TIME if not known_author:
            return HoldReason.FIRST_TIME
        case Premoderation.LINKS if has_link(body, body_html, website):
            return HoldReason.LINKS
    if not settings.suspect_words:
        return None
    if first_match(settings.suspect_words, *readable(body, body_html, name)) is not None:
        return HoldReason.SUSPECT_WORD
    return None
