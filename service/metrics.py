"""Every Prometheus metric of Partnerlink, in one place (``prometheus-client``, default registry).

The read API serves them at ``GET /metrics`` (``render``). Counters and histograms are
updated where things happen (one line each in ``service/consumer.py``, ``service/relay.py``,
``handlers/subscriber.py``); the outbox gauges are read from the database at scrape time
(``set_outbox_backlog``), so they hold across replicas and restarts. Label values are bounded:
command types of the contract, outcomes, reasons, table names, topics and partitions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, Info, generate_latest

CONTENT_TYPE = CONTENT_TYPE_LATEST
"""The media type of ``render()``'s answer (Prometheus text format)."""

COMMANDS = Counter(
    "partnerlink_commands",
    "Commands by CloudEvent type and outcome: applied, rejected (CommandRejected), duplicate "
    "(inbox), dead_lettered (its use case failed)",
    ["type", "outcome"],
)
BATCH_SIZE = Histogram(
    "partnerlink_batch_size",
    "Records per fetch applied in one database transaction",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)
BATCH_APPLY_SECONDS = Histogram(
    "partnerlink_batch_apply_seconds",
    "Time to apply one fetch's readable commands and commit them (s), retries included",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
DEAD_LETTERS = Counter(
    "partnerlink_dead_letters",
    "Records sent to the dead-letter topic, by x-partnerlink-error-reason",
    ["reason"],
)
EMAILS = Counter(
    "partnerlink_emails",
    "Email delivery attempts by outcome: sent, failed_permanent (5xx), failed_gave_up (retried "
    "past email_give_up_after_seconds), deferred (4xx, unreachable, timeout), deferred_ambiguous "
    "(the connection failed after DATA: it may have been delivered)",
    ["outcome"],
)
OUTBOX_PENDING = Gauge(
    "partnerlink_outbox_pending",
    "Outbox rows waiting: events not yet published, emails not yet sent (read at scrape time)",
    ["kind"],
)
OUTBOX_OLDEST_AGE_SECONDS = Gauge(
    "partnerlink_outbox_oldest_age_seconds",
    "Age of the oldest waiting outbox row (s; 0 when none), by kind (read at scrape time)",
    ["kind"],
)
CONSUMER_LAG = Gauge(
    "partnerlink_consumer_lag",
    "Records behind the partition's high watermark after the last fetch was committed "
    "(from the fetch response; on the embedded Tansu broker the watermark can be stale)",
    ["topic", "partition"],
)
LOADER_MISSES = Counter(
    "partnerlink_loader_misses",
    "Rows a use case read that the batch loader had not loaded beforehand, by table",
    ["table"],
)
BUILD = Info("partnerlink_build", "The running version of Partnerlink")


def package_version() -> str:
    """The installed ``partnerlink`` distribution's version (``0+unknown`` when not installed)."""
    try:
        return version("partnerlink")
    except PackageNotFoundError:
        return "0+unknown"


BUILD.info({"version": package_version()})


def count_commands(types: Iterable[str], outcomes: Iterable[str | None]) -> None:
    """One ``COMMANDS`` increment per command; an outcome of ``None`` is ``dead_lettered``."""
    for command_type, outcome in zip(types, outcomes, strict=True):
        COMMANDS.labels(command_type, outcome or "dead_lettered").inc()


def count_email(reason: str | None, permanent: bool) -> None:
    """An email's final outcome: sent (``reason`` is ``None``), failed_permanent or failed_gave_up."""
    outcome = "sent" if reason is None else "failed_permanent" if permanent else "failed_gave_up"
    EMAILS.labels(outcome).inc()


def email_counts() -> dict[str, float]:
    """outcome → ``partnerlink_emails_total`` counted by this process so far."""
    return {
        sample.labels["outcome"]: sample.value
        for family in EMAILS.collect()
        for sample in family.samples
        if sample.name.endswith("_total")
    }


def add_email_counts(counts: Mapping[str, float]) -> None:
    """Add ``counts`` (outcome → attempts, counted by the relay's child process) to this
    process's ``partnerlink_emails_total``, which the read API's ``/metrics`` serves."""
    for outcome, count in counts.items():
        EMAILS.labels(outcome).inc(count)


def observe_lag(topic: str, partition: int, highwater: int | None, next_offset: int) -> None:
    """``highwater - next_offset`` records still to read on one partition (nothing when unknown)."""
    if highwater is not None:
        CONSUMER_LAG.labels(topic, str(partition)).set(max(highwater - next_offset, 0))


def set_outbox_backlog(backlog: Mapping[str, tuple[int, float]]) -> None:
    """``OUTBOX_PENDING`` and ``OUTBOX_OLDEST_AGE_SECONDS`` from ``{kind: (rows, age in s)}``
    (``service.adapters.queries.outbox_backlog``'s answer; kinds ``events``, ``emails``)."""
    for kind, (rows, age) in backlog.items():
        OUTBOX_PENDING.labels(kind).set(rows)
        OUTBOX_OLDEST_AGE_SECONDS.labels(kind).set(age)


def render() -> bytes:
    """Every metric in Prometheus text format (``CONTENT_TYPE``)."""
    return generate_latest()


__all__: Sequence[str] = [
    "BATCH_APPLY_SECONDS",
    "BATCH_SIZE",
    "COMMANDS",
    "CONSUMER_LAG",
    "CONTENT_TYPE",
    "DEAD_LETTERS",
    "EMAILS",
    "LOADER_MISSES",
    "OUTBOX_OLDEST_AGE_SECONDS",
    "OUTBOX_PENDING",
    "count_commands",
    "count_email",
    "observe_lag",
    "render",
    "set_outbox_backlog",
]


def without_addresses(text: str) -> str:
    """``text`` with every email address replaced by ``<address>`` (an SMTP reply may quote the
    recipient, and logs never hold addresses)."""
    return _ADDRESS.sub("<address>", text)


_ADDRESS = re.compile(r"[^\s<>\"'@,;:]+@[^\s<>\"',;:]+")
