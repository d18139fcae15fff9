"""Prometheus metrics: counts and timings only, never content or user ids.

Labels are closed sets (platform names, refusal reasons, outcome kinds, event kinds), so
nothing a person wrote or who they are can reach a scrape. Each Application has its own
registry (no process-wide mutable state: tests run many apps in one process).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from bot.consent.gate import Refusal
from bot.events import Event

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
BATCH_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000)
REFUSALS = frozenset(r.value for r in Refusal)


def result_of(outcome: str) -> str:
    """The outcome kind for the events_out counter (a refusal reason counts as dropped)."""
    return "dropped" if outcome in REFUSALS else outcome


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.events_in = Counter(
            "apprentice_events_in", "Events published to the bus.", ["platform"], registry=r
        )
        self.events_out = Counter(
            "apprentice_events_out",
            "Events the bus finished with, by result (stored, handled, dropped, failed…).",
            ["platform", "result"],
            registry=r,
        )
        self.duplicates = Counter(
            "apprentice_events_duplicate",
            "Events dropped because their id was seen already (platform retries).",
            ["platform"],
            registry=r,
        )
        self.dropped_by_consent = Counter(
            "apprentice_dropped_by_consent",
            "Messages the consent gate did not admit, by reason.",
            ["reason"],
            registry=r,
        )
        self.handler_seconds = Histogram(
            "apprentice_handler_seconds",
            "Time to handle a command or a button click.",
            ["kind"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.ingest_batch_seconds = Histogram(
            "apprentice_ingest_batch_seconds",
            "Time to gate, redact, encrypt and store one batch of messages.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.ingest_batch_messages = Histogram(
            "apprentice_ingest_batch_messages",
            "Messages per ingest batch.",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.queue_depth = Gauge(
            "apprentice_bus_queue_depth", "Events waiting in the bus.", registry=r
        )
        self.redeliveries = Counter(
            "apprentice_bus_redeliveries",
            "Events delivered again after a failed or abandoned attempt.",
            registry=r,
        )
        self.dead_letters = Counter(
            "apprentice_bus_dead_letters",
            "Events given up on after too many deliveries.",
            registry=r,
        )
        for reason in REFUSALS:  # every reason shows, at 0, before the first drop
            self.dropped_by_consent.labels(reason=reason)
        self._children: dict[tuple[str, ...], Any] = {}  # labels() is slow on the hot path

    def _child(self, metric: Counter, *labels: str) -> Any:
        key = (str(id(metric)), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def received(self, platform: str) -> None:
        self._child(self.events_in, platform).inc()

    def duplicate(self, platform: str) -> None:
        self._child(self.duplicates, platform).inc()

    def dropped(self, reason: str) -> None:
        self._child(self.dropped_by_consent, reason).inc()

    def watch_queue(self, depth: Callable[[], int]) -> None:
        """Read the queue depth from the bus at each scrape."""
        self.queue_depth.set_function(lambda: float(depth()))

    def finished(self, events: Sequence[Event], outcomes: Sequence[str]) -> None:
        for event, outcome in zip(events, outcomes, strict=True):
            self._child(self.events_out, event.platform, result_of(outcome)).inc()

    def render(self) -> bytes:
        """The text exposition format, for GET /metrics."""
        return generate_latest(self.registry)
