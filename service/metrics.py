"""What the service counts for Prometheus, with prometheus-client.

Each app has a registry of its own (several apps share a process in tests, and one registry
per app keeps their numbers apart). Labels come from closed sets only: route templates, methods,
status classes, event types, outcomes, stream kinds and webhook ids (a site has at most a few);
never post ids, addresses or free text, so no series grows with the data.
"""

import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client import metrics as prometheus_metrics
from prometheus_client.metrics_core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

# Seconds: from a cached read (sub-millisecond) to a slow write under load.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
BATCH_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000)


class Metrics:
    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        self.request_seconds = RequestDurations(registry)
        self.events_appended = Counter(
            "threadlog_events_appended",
            "Events appended to the log by this process, by type.",
            ["type"],
            registry=registry,
        )
        self.batch_size = Histogram(
            "threadlog_write_batch_size",
            "Commands committed together in one write transaction.",
            buckets=BATCH_SIZE_BUCKETS,
            registry=registry,
        )
        self.commit_seconds = Histogram(
            "threadlog_write_commit_duration_seconds",
            "Time from the start of a write batch's transaction to its commit.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.queue_depth = Gauge(
            "threadlog_write_queue_depth",
            "Commands waiting for a write transaction in this process.",
            registry=registry,
        )
        self.feed_held_back = Gauge(
            "threadlog_feed_held_back_seconds",
            "How long the oldest committed event the feed cannot show yet has waited "
            "(0: none waits); see /readyz for the transaction it waits for.",
            registry=registry,
        )
        self.live_streams = Gauge(
            "threadlog_live_streams",
            "Open live streams (Server-Sent Events), by kind.",
            ["kind"],
            registry=registry,
        )
        self.webhook_deliveries = Counter(
            "threadlog_webhook_deliveries",
            "Webhook delivery attempts by this process, by outcome.",
            ["outcome"],
            registry=registry,
        )
        # Mail by kind (confirm, replies, moderation): taken by the SMTP server, or not (each
        # failed attempt; a refused address counts once).
        self.mail_sent = Counter(
            "threadlog_mail_sent",
            "Mails the SMTP server took from this process, by kind.",
            ["kind"],
            registry=registry,
        )
        self.mail_failed = Counter(
            "threadlog_mail_failed",
            "Mail attempts the SMTP server failed or refused, by kind.",
            ["kind"],
            registry=registry,
        )
        self.webhook_backlog = Gauge(
            "threadlog_webhook_backlog_events",
            "Events of a webhook's site after its checkpoint (counted up to a cap).",
            ["webhook"],
            registry=registry,
        )
        self.relay_lag = Gauge(
            "threadlog_nats_relay_lag_events",
            "Events after the NATS relay's checkpoint (counted up to a cap), by JetStream stream.",
            ["stream"],
            registry=registry,
        )
        self.pool_size = Gauge(
            "threadlog_db_pool_connections",
            "Connections open in this process's database pool.",
            registry=registry,
        )
        self.pool_in_use = Gauge(
            "threadlog_db_pool_connections_in_use",
            "Connections of the pool lent out to a request or worker.",
            registry=registry,
        )
        self.database_up = Gauge(
            "threadlog_database_up",
            "1 when the last scrape reached the database, else 0.",
            registry=registry,
        )
        for kind in ("public", "events"):
            self.live_streams.labels(kind)
        for outcome in ("delivered", "failed", "gone"):
            self.webhook_deliveries.labels(outcome)
        for kind in ("confirm", "replies", "moderation"):
            self.mail_sent.labels(kind)
            self.mail_failed.labels(kind)

    def request_answered(self, route: str, method: str, status: str, seconds: float) -> None:
        self.request_seconds.observe((route, method, status), seconds)

    def batch_committed(self, commands: int, seconds: float, event_types: Iterable[str]) -> None:
        self.batch_size.observe(commands)
        self.commit_seconds.observe(seconds)
        self.appended(event_types)

    def appended(self, event_types: Iterable[str]) -> None:
        for event_type in event_types:
            self.events_appended.labels(event_type).inc()

    def set_webhook_backlogs(self, backlogs: dict[str, int]) -> None:
        """Replaces every webhook's series: a deleted webhook's series goes with it."""
        self.webhook_backlog.clear()
        for webhook_id, events in backlogs.items():
            self.webhook_backlog.labels(webhook_id).set(events)

    def watch_queue(self, depth: Callable[[], int]) -> None:
        self.queue_depth.set_function(depth)


class Durations:
    """One series of `RequestDurations`: its count per bucket (not cumulative), and its sum."""

    __slots__ = ("counts", "created", "sum")

    def __init__(self) -> None:
        self.counts = [0] * (len(LATENCY_BUCKETS) + 1)  # the last: above every bound
        self.sum = 0.0
        self.created = time.time()


class RequestDurations(Collector):
    """threadlog_http_request_duration_seconds, by route template, method and status class:
    what a prometheus-client Histogram with these labels and LATENCY_BUCKETS exposes, sample for
    sample (a test compares them), for less per request. A Histogram's observe takes two locks
    and walks the bounds in Python, which cost as much as the rest of measuring a request; here
    a request adds to two numbers. Requests are measured, and the registry collected, on the
    event loop's thread only, so no lock is needed."""

    NAME = "threadlog_http_request_duration_seconds"
    HELP = "Time to answer a request, by route template, method and status class."
    LABELS = ("route", "method", "status")

    def __init__(self, registry: CollectorRegistry) -> None:
        self.series: dict[tuple[str, str, str], Durations] = {}
        bounds = (*LATENCY_BUCKETS, float("inf"))
        self.bounds: list[str] = [floatToGoString(b) for b in bounds]  # type: ignore[no-untyped-call]
        registry.register(self)

    def observe(self, labels: tuple[str, str, str], seconds: float) -> None:
        series = self.series.get(labels)
        if series is None:
            series = self.series[labels] = Durations()
        # As Histogram: counted in the first bucket whose bound is at least `seconds`.
        series.counts[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        series.sum += seconds

    def describe(self) -> Iterator[Metric]:
        yield HistogramMetricFamily(self.NAME, self.HELP, labels=self.LABELS)

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(self.NAME, self.HELP, labels=self.LABELS)
        # PROMETHEUS_DISABLE_CREATED_SERIES leaves the _created series out, as for a Histogram.
        with_created = getattr(prometheus_metrics, "_use_created", True)
        for labels, series in list(self.series.items()):
            cumulative, buckets = 0.0, []
            for bound, count in zip(self.bounds, series.counts, strict=True):
                cumulative += count
                buckets.append((bound, cumulative))
            family.add_metric(labels, buckets, series.sum)
            if with_created:
                created = dict(zip(self.LABELS, labels, strict=True))
                family.samples.append(Sample(f"{self.NAME}_created", created, series.created))
        yield family
