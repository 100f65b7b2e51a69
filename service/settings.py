"""Settings, read once from the environment by the CLI and passed down."""

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# Where `relay nats` publishes when neither --url nor THREADLOG_NATS_URL says.
DEFAULT_NATS_URL = "nats://127.0.0.1:4222"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="THREADLOG_", frozen=True, extra="ignore")

    # When unset, `serve` runs on an embedded PostgreSQL kept under `data_dir`.
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "THREADLOG_DATABASE_URL")
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    data_dir: Path = Path(".threadlog")
    pool_min_size: int = Field(default=2, ge=1)
    pool_max_size: int = Field(default=16, ge=1)
    # How long a request (or a worker) waits for a free connection, or for a new one to open,
    # before it answers 503 database-unavailable.
    pool_acquire_timeout_seconds: float = Field(default=5.0, gt=0)
    # Derives comment delete tokens; generated and kept in the database when unset.
    token_key: SecretStr | None = None
    # Concurrent write transactions, and commands per transaction (see application.py).
    writers: int = Field(default=4, ge=1, le=64)
    batch_size: int = Field(default=64, ge=1, le=1000)
    max_body_bytes: int = 64 * 1024
    # The live stream's comment line when idle, and how long a write may wait for a client.
    stream_heartbeat_seconds: float = Field(default=15.0, gt=0)
    stream_write_timeout_seconds: float = Field(default=10.0, gt=0)
    log_level: str = "INFO"
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

    def token_key_bytes(self) -> bytes | None:
        return self.token_key.get_secret_value().encode() if self.token_key else None

    # --- moderation ---
    # Comments a minute from one client on a site that has not set its own limit; 0: none.
    default_rate_limit_per_minute: int = Field(default=5, ge=0)
    # Reports a minute from one client on one site; 0: no limit.
    reports_per_minute: int = Field(default=10, ge=0)

    # --- operating: keys, sites, webhook secret rotation ---
    # After a webhook's secret is rotated, deliveries carry a signature made with the old secret
    # too for this long, so receivers can switch without failing; 0: the old one stops at once.
    webhook_secret_overlap_hours: float = Field(default=24.0, ge=0)
