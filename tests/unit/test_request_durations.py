"""The request durations' collector exposes what a prometheus-client Histogram would."""

import random
import re

from prometheus_client import CollectorRegistry, Histogram, generate_latest

from service.metrics import LATENCY_BUCKETS, Metrics, RequestDurations

NAME = "threadlog_http_request_duration_seconds"
# The moment each series was first observed differs between the two.
CREATED = re.compile(rf"^({NAME}_created\{{.*\}}) \S+$", re.MULTILINE)


def test_exposed_as_a_histogram_with_the_same_labels_and_buckets_would_be() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    durations = RequestDurations(ours)
    histogram = Histogram(
        NAME,
        RequestDurations.HELP,
        list(RequestDurations.LABELS),
        buckets=LATENCY_BUCKETS,
        registry=theirs,
    )
    chosen = random.Random(15)
    routes = ["/v1/sites/{site}/posts/{post}/comments", "/healthz", "unmatched"]
    # Every bound exactly, either side of it, and far beyond the last.
    seconds = [*LATENCY_BUCKETS, *(b * 0.999 for b in LATENCY_BUCKETS), 0.0, 42.0]
    seconds += [chosen.expovariate(1 / 0.01) for _ in range(500)]
    for each in seconds:
        labels = (
            chosen.choice(routes),
            chosen.choice(["GET", "POST"]),
            chosen.choice(["2xx", "4xx"]),
        )
        durations.observe(labels, each)
        histogram.labels(*labels).observe(each)
    expected = CREATED.sub(r"\1 0", generate_latest(theirs).decode())
    assert CREATED.sub(r"\1 0", generate_latest(ours).decode()) == expected
    assert f'{NAME}_bucket{{le="+Inf",method="GET",route="/healthz",status="2xx"}}' in expected
    assert f"{NAME}_created{{" in expected


def test_a_request_answered_is_counted_under_its_labels() -> None:
    metrics = Metrics()
    metrics.request_answered("/healthz", "GET", "2xx", 0.0007)
    metrics.request_answered("/healthz", "GET", "2xx", 0.0004)
    labels = {"route": "/healthz", "method": "GET", "status": "2xx"}
    count = metrics.registry.get_sample_value(f"{NAME}_count", labels)
    first = metrics.registry.get_sample_value(f"{NAME}_bucket", {**labels, "le": "0.0005"})
    total = metrics.registry.get_sample_value(f"{NAME}_sum", labels)
    assert (count, first) == (2.0, 1.0)
    assert total is not None and abs(total - 0.0011) < 1e-12
