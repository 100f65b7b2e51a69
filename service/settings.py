"""Settings, read once from the environment by the CLI and passed down."""

import ipaddress
import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BeforeValidator,
    Field,
    SecretStr,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from service.logs import LogFormat
from service.subscriptions.mail.smtp import Server


def comma_separated(value: object) -> object:
    return [part for part in value.split(",") if part.strip()] if isinstance(value, str) else value


def cidrs(values: tuple[str, ...]) -> tuple[str, ...]:
    for value in values:
        ipaddress.ip_network(value.strip(), strict=False)  # ValueError names the bad one
    return tuple(value.strip() for value in values)


# `10.0.0.0/8,192.168.1.7` in the environment; a JSON list works too.
Cidrs = Annotated[
    tuple[str, ...], NoDecode, BeforeValidator(comma_separated), AfterValidator(cidrs)
]


def worker_count(value: object) -> object:
    """`auto`: one worker per core."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return os.cpu_count() or 1
    return value


# A number of processes, or `auto`.
Workers = Annotated[int, BeforeValidator(worker_count), Field(ge=1, le=128)]

# Where `relay nats` publishes when neither --url nor THREADLOG_NATS_URL says.
DEFAULT_NATS_URL = "nats://127.0.0.1:4222"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="THREADLOG_", frozen=True, extra="ignore")

    # When unset, `serve` runs on an embedded PostgreSQL kept under `data_dir`.
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "THREADLOG_DATABASE_URL")
    )
    # A streaming replica that the public reads and the feed come from; see
    # service/read/replica.py. A read that passes a write's position waits this long for the
    # replica to replay it, then goes to the primary.
    read_database_url: str | None = None
    replica_wait_seconds: float = Field(default=0.2, ge=0, le=10)
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    # Processes `serve` runs on its port (`auto`: one per core); see service/workers.py.
    workers: Workers = 1
    data_dir: Path = Path(".threadlog")
    pool_min_size: int = Field(default=2, ge=1)
    pool_max_size: int = Field(default=16, ge=1)
    # How long a request (or a worker) waits for a free connection, or for a new one to open,
    # before it answers 503 database-unavailable.
    pool_acquire_timeout_seconds: float = Field(default=5.0, gt=0)
    # Derives comment delete tokens; generated and kept in the database when unset.
    token_key: SecretStr | None = None
    # Concurrent write transactions, and commands per transaction (see application.py). One
    # writer commits whatever is queued, for any posts, together: fewer, larger transactions
    # cost far less CPU per comment than several small ones in parallel.
    writers: int = Field(default=1, ge=1, le=64)
    batch_size: int = Field(default=64, ge=1, le=1000)
    max_body_bytes: int = 64 * 1024
    # The live stream's comment line when idle, and how long a write may wait for a client.
    stream_heartbeat_seconds: float = Field(default=15.0, gt=0)
    stream_write_timeout_seconds: float = Field(default=10.0, gt=0)
    log_level: str = "INFO"
    # --- logs ---
    # json: one JSON object a line; text: for people. Unset: text on a terminal, else json.
    log_format: LogFormat | None = None
    # One line per request (method, route template, status, duration, bytes, request id).
    access_log: bool = True
    # The log warns when the feed has waited this long for the oldest transaction on the cluster
    # (/readyz always says how far it is held back, and by what).
    feed_stall_warn_seconds: float = Field(default=30.0, gt=0)
    # On SIGTERM or SIGINT, `serve` ends live streams, finishes what is in progress and exits
    # within this many seconds (at once on a second signal). Docker waits 10 s, Kubernetes 30.
    shutdown_seconds: float = Field(default=10.0, gt=0)
    # `serve` runs on uvloop, a faster event loop, unless this is false.
    uvloop: bool = True
    # Used in printed URLs when the service sits behind a proxy.
    public_url: str | None = None
    # When set, `serve` also relays the log to this NATS server's JetStream (`relay nats` too).
    nats_url: str | None = None
    nats_stream: str = "THREADLOG"
    nats_subject_prefix: str = "threadlog"
    # Webhooks. `serve` delivers them unless dispatch is off (then run `webhooks dispatch`).
    webhooks_dispatch: bool = True
    # Lets webhooks reach loopback and private addresses: for tests and intranets.
    webhooks_allow_private: bool = False
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    # A failed delivery is retried after base * 2^n seconds (jittered, at most max) until
    # it has failed for `webhook_retry_hours`; then the webhook is marked failing.
    webhook_retry_base_seconds: float = Field(default=5.0, gt=0)
    webhook_retry_max_seconds: float = Field(default=3600.0, gt=0)
    webhook_retry_hours: float = Field(default=72.0, gt=0)

    # --- imports and exports (`threadlog import`, `threadlog export`) ---
    # Comments (and posts) an import writes per transaction, and its writers in parallel, each
    # with a connection of its own (a post's comments stay with one writer, parents first).
    import_batch_size: int = Field(default=500, ge=1, le=10_000)
    import_writers: int = Field(default=2, ge=1, le=16)
    # An ndjson export first waits (at most this long) for the transactions already running to
    # end, as the feed would: an event committed behind one of them is not left out.
    export_settle_seconds: float = Field(default=60.0, gt=0, le=3600)

    # --- metrics ---
    # When set, /metrics is served on this port (all addresses of `host`) instead of the main one.
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    # When set, /metrics asks for `Authorization: Bearer <token>`.
    metrics_token: SecretStr | None = None

    def token_key_bytes(self) -> bytes | None:
        return self.token_key.get_secret_value().encode() if self.token_key else None

    # --- moderation ---
    # Comments a minute from one client on a site that has not set its own limit; 0: none.
    default_rate_limit_per_minute: int = Field(default=5, ge=0)
    # Reports a minute from one client on one site; 0: no limit.
    reports_per_minute: int = Field(default=10, ge=0)

    # --- hostile load: idempotency, moderation loopholes, webhook addresses, proxies ---
    # Webhooks one site may register; one more is 409 too-many-webhooks.
    max_webhooks_per_site: int = Field(default=20, ge=1)
    # Proxies (CIDRs) whose forwarding header names the client (see access/clients.py), and
    # which header they write. Empty: the connection's peer is the client.
    trusted_proxies: Cidrs = ()
    forwarded_header: Literal["x-forwarded-for", "forwarded"] = "x-forwarded-for"
    # --- bounded work per request ---
    # Rendered read bodies kept in memory (plain and gzipped bytes counted), per process.
    cache_bytes: int = Field(default=64 * 1024 * 1024, ge=0)
    # A thread's stamp (what says whether a cached body is current) is kept this long while the
    # process hears of no write (see read/stamps.py); 0: looked up for every read.
    stamp_seconds: float = Field(default=1.0, ge=0, le=60)
    # How often a process looks for tables that doubled since their planner statistics, and
    # analyzes them (ops/statistics.py); 0: left to autovacuum.
    analyze_seconds: float = Field(default=10.0, ge=0)
    # A thread page stops after this many bytes of comments, even before its `limit`.
    thread_page_bytes: int = Field(default=1024 * 1024, ge=1024)
    # --- feeds and recent comments ---
    # An Atom feed holds this many entries, the newest.
    feed_entries: int = Field(default=50, ge=1, le=1000)
    # Recent comments (JSON, the gadget): `limit` when none is given, and the most it may ask.
    recent_comments_default: int = Field(default=10, ge=1, le=1000)
    recent_comments_max: int = Field(default=50, ge=1, le=1000)
    # A 422 lists at most this many of the body's problems, and says how many it left out.
    problem_max_errors: int = Field(default=20, ge=1, le=1000)
    # A comment whose Markdown would cost more than this to render (about a microsecond a
    # unit on a 2-core reference machine; see service/write/rendering.py) is shown as text.
    markdown_max_cost: int = Field(default=4_000, ge=0)
    # --- bounded connections and live streams ---
    # A connection whose request headers have not all arrived this long after it opened (or
    # after its previous response) is closed; this is also how long an idle keep-alive lasts.
    # Behind a proxy that reuses connections, set it above the proxy's idle timeout.
    header_timeout_seconds: float = Field(default=30.0, gt=0)
    # A request body must have arrived in full within this many seconds: 408 otherwise.
    body_timeout_seconds: float = Field(default=30.0, gt=0)
    # Open connections, in total and from one client address (IPv6: one /64); past them a new
    # connection is answered 503 (total) or 429 (per client) and closed.
    max_connections: int = Field(default=8000, ge=1)
    max_connections_per_client: int = Field(default=256, ge=1)
    # Live streams (both kinds), in total and from one client address: 503 / 429 past them.
    max_streams: int = Field(default=4000, ge=1)
    max_streams_per_client: int = Field(default=32, ge=1)
    # --- operating: keys, sites, webhook secret rotation ---
    # After a webhook's secret is rotated, deliveries carry a signature made with the old secret
    # too for this long, so receivers can switch without failing; 0: the old one stops at once.
    webhook_secret_overlap_hours: float = Field(default=24.0, ge=0)

    # --- privacy ---
    # The key-encryption key that wraps the data keys sealing personal data (32 bytes, base64;
    # `threadlog kek new` makes one). Unset: read from `kek_file`, made there on first start.
    kek: SecretStr | None = None
    kek_file: Path | None = None
    # KEKs replaced by `kek`, still accepted until `threadlog kek rotate` has rewrapped every
    # data key with `kek` (comma-separated).
    previous_keks: SecretStr | None = None
    # IP digests (for rate limits, reports and bans) can be read this many days, then their day's
    # key is destroyed.
    ip_retention_days: int = Field(default=30, ge=1)
    # Every destroyed key is also written here, outside the database, and destroyed again at
    # startup: a restored backup does not bring erased people back. Unset: `<data_dir>/erasures`.
    erasure_ledger: Path | None = None

    # --- mail (see service/subscriptions/mail/) ---
    # `smtp://user:password@host:587` (STARTTLS when the server offers it) or `smtps://...:465`
    # (TLS from the start). With this or `mail_from` unset, no mail goes out and the widget
    # does not offer it.
    smtp_url: SecretStr | None = None
    mail_from: str | None = None
    # Templates that replace the built-in ones: `<dir>/<site>/<language>/<name>` first, then
    # `<dir>/<language>/<name>` (names as in service/subscriptions/mail/templates/).
    mail_templates: Path | None = None
    # Replies to one reader within this window go out as one mail.
    mail_gather_seconds: float = Field(default=300.0, ge=0)
    # Mails an hour to one address and from one site; past them, mail waits for the next hour.
    mail_per_address_per_hour: int = Field(default=10, ge=1)
    mail_per_site_per_hour: int = Field(default=200, ge=1)
    # Moderators' approve and reject links work this long (and once).
    mail_link_days: int = Field(default=7, ge=1)
    # A mail the server did not take is tried again after base * 2^n seconds (jittered, at
    # most max), until it has failed for `mail_retry_hours`.
    mail_retry_base_seconds: float = Field(default=5.0, gt=0)
    mail_retry_max_seconds: float = Field(default=1800.0, gt=0)
    mail_retry_hours: float = Field(default=48.0, gt=0)

    @field_validator("smtp_url")
    @classmethod
    def smtp_url_parses(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            # The message names the form, never the URL (it holds credentials).
            Server.parse(value.get_secret_value())
        return value

    def mail_enabled(self) -> bool:
        return self.smtp_url is not None and bool(self.mail_from)

    def kek_path(self) -> Path:
        return self.kek_file or self.data_dir / "kek"

    def ledger_path(self) -> Path:
        return self.erasure_ledger or self.data_dir / "erasures"
