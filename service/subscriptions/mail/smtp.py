"""Handing a mail to the SMTP server of THREADLOG_SMTP_URL, with aiosmtplib.

`smtp://[user:password@]host[:port]` speaks plain SMTP and upgrades with STARTTLS when the
server offers it; `smtps://` uses TLS from the start. The URL holds credentials: it is never
logged, and errors are reported by their SMTP code and class only.
"""

from dataclasses import dataclass, field
from email.message import EmailMessage
from enum import StrEnum
from urllib.parse import unquote, urlsplit

import aiosmtplib

TIMEOUT_SECONDS = 30.0


class Outcome(StrEnum):
    SENT = "sent"
    # The server answered 5xx for the address: it is not mailed again until it confirms again.
    REFUSED = "refused"
    # The server failed, or answered 4xx: try again later.
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Server:
    hostname: str
    port: int
    implicit_tls: bool
    username: str | None = field(repr=False)
    password: str | None = field(repr=False)

    @classmethod
    def parse(cls, url: str) -> "Server":
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("must be smtp://[user:password@]host[:port] or smtps://...")
        implicit_tls = parts.scheme == "smtps"
        return cls(
            hostname=parts.hostname,
            port=parts.port or (465 if implicit_tls else 587),
            implicit_tls=implicit_tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


@dataclass(frozen=True, slots=True)
class Delivery:
    outcome: Outcome
    # Safe to log and store: an SMTP code and the error's class, never the URL.
    error: str | None = None


async def deliver(server: Server, message: EmailMessage) -> Delivery:
    try:
        await aiosmtplib.send(
            message,
            hostname=server.hostname,
            port=server.port,
            username=server.username,
            password=server.password,
            use_tls=server.implicit_tls,
            # None: STARTTLS when the server offers it (never on an implicit TLS connection).
            start_tls=False if server.implicit_tls else None,
            timeout=TIMEOUT_SECONDS,
        )
    except aiosmtplib.SMTPRecipientsRefused as refused:
        codes = [error.code for error in refused.recipients]
        permanent = bool(codes) and all(500 <= code < 600 for code in codes)
        outcome = Outcome.REFUSED if permanent else Outcome.FAILED
        return Delivery(outcome, f"recipient refused ({', '.join(map(str, codes))})")
    except aiosmtplib.SMTPResponseException as answered:
        # A 5xx to the data or the sender is about this mail, not the address: retried, and
        # given up on after THREADLOG_MAIL_RETRY_HOURS.
        return Delivery(Outcome.FAILED, f"server answered {answered.code}")
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
        return Delivery(Outcome.FAILED, type(error).__name__)
    return Delivery(Outcome.SENT)
